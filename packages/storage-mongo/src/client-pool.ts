/**
 * One MongoClient per distinct URI per process, shared by every store (and
 * the router) that asks for it, closed when the last user releases it.
 * Also: per-client command counting (round trips per operation).
 *
 * Reopening: when a client's first connection fails, the driver closes its
 * topology for good and every later operation fails as topology-closed
 * (retriable), even once the server is back. A shared client taken with
 * `acquireClient` is then replaced by a new MongoClient on the next use, at
 * most once per backoff delay (250 ms doubling to 5 s, reset once a server
 * answers), so that a process whose MongoDB was down at start (a fallback
 * worker waiting to drain) recovers without a restart. The per-client state
 * (client-state.ts) and the command count move to the new client.
 */
import { MongoClient, type MongoClientOptions } from 'mongodb';
import { StorageError } from '@chronos-db/core';
import { moveClientState } from './client-state.js';
import { makeRedactor } from './errors.js';

export interface SharedClientOptions {
  /** How long an operation waits for a usable server. Default 5000 ms. */
  serverSelectionTimeoutMS?: number;
  /** Connect timeout. Default 5000 ms. */
  connectTimeoutMS?: number;
  maxPoolSize?: number;
  /**
   * How long one read on a socket may wait for the server (a server that stops answering, say
   * SIGSTOPped, fails the operation as a network timeout: retriable). Default: no limit.
   */
  socketTimeoutMS?: number;
}

/** A shared client that is replaced when the driver gave up on it (see the module comment). */
export interface SharedClient {
  /** The current client: read it at each use, never keep it. */
  readonly client: MongoClient;
  /** Times this URI's client was replaced in this process. */
  readonly reopened: number;
}

interface Entry {
  uri: string;
  opts: SharedClientOptions;
  client: MongoClient;
  refs: number;
  /** The driver closed the client's topology (a failed first connection), not us. */
  dead: boolean;
  /** Released by its last user: never reopened. */
  closing: boolean;
  /** Reopens since a server last answered. */
  failures: number;
  /** No reopen before this time (epoch ms). */
  nextAt: number;
  reopened: number;
  handle: SharedClient;
}

/** Backoff between two reopens of one URI's client, ms. */
export const REOPEN_BASE_MS = 250;
export const REOPEN_MAX_MS = 5000;

const shared = new Map<string, Entry>();
const counters = new WeakMap<MongoClient, { n: number }>();

/** Starts counting `commandStarted` events of a client (idempotent; `into`: continue a replaced client's count). The client should be created with `monitorCommands: true`. */
function attachCounter(client: MongoClient, into?: { n: number }): { n: number } {
  let c = counters.get(client);
  if (!c) {
    const cc = into ?? { n: 0 };
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
    ...(opts.socketTimeoutMS !== undefined ? { socketTimeoutMS: opts.socketTimeoutMS } : {}),
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

/** Watches a shared client: the driver closing it (not us) marks the entry dead; a server answering resets the backoff. */
function watch(e: Entry, client: MongoClient): void {
  client.on('topologyClosed', () => {
    if (e.client === client && !e.closing) e.dead = true;
  });
  client.once('serverHeartbeatSucceeded', () => {
    if (e.client === client) e.failures = 0;
  });
}

/** Replaces a dead entry's client when its backoff allows (the old one is already closed by the driver). */
function current(e: Entry): MongoClient {
  if (e.dead && !e.closing && Date.now() >= e.nextAt) {
    const old = e.client;
    const fresh = createClient(e.uri, e.opts);
    attachCounter(fresh, counters.get(old));
    moveClientState(old, fresh);
    e.client = fresh;
    e.dead = false;
    e.failures++;
    e.reopened++;
    e.nextAt = Date.now() + Math.min(REOPEN_MAX_MS, REOPEN_BASE_MS * 2 ** Math.min(10, e.failures - 1));
    watch(e, fresh);
    void old.close().catch(() => {});
  }
  return e.client;
}

/**
 * The process-wide client for this URI, created (lazily connecting) on first use, reopened
 * after the driver closed it on a failed first connection. Pair every call with `releaseClient(uri)`.
 */
export function acquireClient(uri: string, opts: SharedClientOptions = {}): SharedClient {
  const found = shared.get(uri);
  if (found) {
    found.refs++;
    return found.handle;
  }
  const client = createClient(uri, opts);
  const e: Entry = {
    uri,
    opts,
    client,
    refs: 1,
    dead: false,
    closing: false,
    failures: 0,
    nextAt: 0,
    reopened: 0,
    handle: {
      get client() {
        return current(e);
      },
      get reopened() {
        return e.reopened;
      },
    },
  };
  watch(e, client);
  shared.set(uri, e);
  return e.handle;
}

/**
 * The process-wide client for this URI as it is now (see acquireClient, which follows a
 * reopened client). Pair every call with `releaseClient(uri)`.
 */
export function getSharedClient(uri: string, opts: SharedClientOptions = {}): MongoClient {
  return acquireClient(uri, opts).client;
}

/** Drops one reference; the client is closed when nobody uses it any more. */
export async function releaseClient(uri: string): Promise<void> {
  const e = shared.get(uri);
  if (!e) return;
  e.refs--;
  if (e.refs > 0) return;
  shared.delete(uri);
  e.closing = true;
  await e.client.close();
}

/** Number of shared clients open (for tests and health). */
export function sharedClientCount(): number {
  return shared.size;
}
