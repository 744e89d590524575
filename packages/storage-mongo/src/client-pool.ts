/**
 * One MongoClient per distinct URI per process, shared by every store (and
 * the router) that asks for it, closed when the last user releases it.
 * Also: per-client command counting (round trips per operation).
 */
import { MongoClient, type MongoClientOptions } from 'mongodb';
import { StorageError } from '@chronos-db/core';
import { makeRedactor } from './errors.js';

export interface SharedClientOptions {
  /** How long an operation waits for a usable server. Default 5000 ms. */
  serverSelectionTimeoutMS?: number;
  /** Connect timeout. Default 5000 ms. */
  connectTimeoutMS?: number;
  maxPoolSize?: number;
}

interface Entry {
  client: MongoClient;
  refs: number;
}

const shared = new Map<string, Entry>();
const counters = new WeakMap<MongoClient, { n: number }>();

/** Starts counting `commandStarted` events of a client (idempotent). The client should be created with `monitorCommands: true`. */
function attachCounter(client: MongoClient): { n: number } {
  let c = counters.get(client);
  if (!c) {
    const cc = { n: 0 };
    c = cc;
    counters.set(client, cc);
    if (!client.options.monitorCommands) (client as unknown as { monitorCommands: boolean }).monitorCommands = true;
    client.on('commandStarted', () => {
      cc.n++;
    });
  }
  return c;
}

/** Number of commands this client has sent since counting started (round trips; heartbeats excluded). */
export function commandCount(client: MongoClient): number {
  return attachCounter(client).n;
}

/** Counts the commands of a client from now on: `const c = countCommands(client); ...; c.commands`. */
export function countCommands(client: MongoClient): { readonly commands: number; reset(): void } {
  const c = attachCounter(client);
  let base = c.n;
  return {
    get commands() {
      return c.n - base;
    },
    reset() {
      base = c.n;
    },
  };
}

export function createClient(uri: string, opts: SharedClientOptions = {}): MongoClient {
  const redact = makeRedactor(uri);
  const options: MongoClientOptions = {
    monitorCommands: true,
    ignoreUndefined: true,
    serverSelectionTimeoutMS: opts.serverSelectionTimeoutMS ?? 5000,
    connectTimeoutMS: opts.connectTimeoutMS ?? 5000,
    appName: 'chronos-db',
    ...(opts.maxPoolSize !== undefined ? { maxPoolSize: opts.maxPoolSize } : {}),
  };
  let client: MongoClient;
  try {
    client = new MongoClient(uri, options);
  } catch (e) {
    throw new StorageError(`Invalid MongoDB URI ${redact(uri)}: ${redact(String((e as Error)?.message ?? e))}`);
  }
  attachCounter(client);
  return client;
}

/** The process-wide client for this URI, created (lazily connecting) on first use. Pair every call with `releaseClient(uri)`. */
export function getSharedClient(uri: string, opts: SharedClientOptions = {}): MongoClient {
  const e = shared.get(uri);
  if (e) {
    e.refs++;
    return e.client;
  }
  const client = createClient(uri, opts);
  shared.set(uri, { client, refs: 1 });
  return client;
}

/** Drops one reference; the client is closed when nobody uses it any more. */
export async function releaseClient(uri: string): Promise<void> {
  const e = shared.get(uri);
  if (!e) return;
  e.refs--;
  if (e.refs > 0) return;
  shared.delete(uri);
  await e.client.close();
}

/** Number of shared clients open (for tests and health). */
export function sharedClientCount(): number {
  return shared.size;
}
