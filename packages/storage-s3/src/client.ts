/** One configured S3Client per connection: checksums, retries, bounded agent, deadlines, request metering. */
import type { Agent as HttpAgent } from 'node:http';
import type { Agent as HttpsAgent } from 'node:https';
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { ValidationError } from '@chronos-db/core';
import { createHttpHandler, localhostAwareLookup, type DnsLookup } from './http.js';
import { spaceMeter } from './request-meter.js';

/** An S3-compatible connection: the seed's `spacesConns` entry plus tuning knobs. */
export interface S3ConnectionOptions {
  /** e.g. https://fra1.digitaloceanspaces.com, https://s3.eu-west-1.amazonaws.com, http://127.0.0.1:9000 */
  endpoint: string;
  region: string;
  accessKey: string;
  secretKey: string;
  jsonBucket: string;
  contentBucket: string;
  backupsBucket: string;
  /** Path style (`endpoint/bucket/key`) instead of virtual-hosted style (`bucket.endpoint/key`). Default false. */
  forcePathStyle?: boolean;
  /** Concurrent HTTP connections per connection (DigitalOcean allows 100 per space). Default 32. */
  maxConnections?: number;
  /** Deadline of one HTTP attempt in ms (connect, send, answer, idle socket). Default 30000. */
  requestTimeoutMs?: number;
  /** HTTP attempts per call, with the SDK's standard backoff (503 SlowDown, 500, resets, timeouts). Default 3. */
  maxAttempts?: number;
  /** Host name resolution for the HTTP agent. Default: `*.localhost` -> 127.0.0.1, others through the system resolver. */
  dnsLookup?: DnsLookup;
}

export const DEFAULT_MAX_CONNECTIONS = 32;
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
export const DEFAULT_MAX_ATTEMPTS = 3;

/** True for AWS S3 endpoints (which accept the SDK's default CRC32 checksums). */
export function isAwsEndpoint(endpoint: string): boolean {
  try {
    const h = new URL(endpoint).hostname.toLowerCase();
    return h === 'amazonaws.com' || h.endsWith('.amazonaws.com') || h.endsWith('.amazonaws.com.cn');
  } catch {
    return false;
  }
}

function intIn(name: string, v: number | undefined, def: number, min: number, max: number): number {
  if (v === undefined) return def;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new ValidationError(`${name} must be an integer in ${min}..${max}`);
  }
  return v;
}

export interface ResolvedTuning {
  maxConnections: number;
  requestTimeoutMs: number;
  maxAttempts: number;
}

export function resolveTuning(o: Pick<S3ConnectionOptions, 'maxConnections' | 'requestTimeoutMs' | 'maxAttempts'>): ResolvedTuning {
  return {
    maxConnections: intIn('maxConnections', o.maxConnections, DEFAULT_MAX_CONNECTIONS, 1, 100),
    requestTimeoutMs: intIn('requestTimeoutMs', o.requestTimeoutMs, DEFAULT_REQUEST_TIMEOUT_MS, 100, 600_000),
    maxAttempts: intIn('maxAttempts', o.maxAttempts, DEFAULT_MAX_ATTEMPTS, 1, 10),
  };
}

export function assertConnection(o: S3ConnectionOptions): void {
  let u: URL;
  try {
    u = new URL(o.endpoint);
  } catch {
    throw new ValidationError('endpoint must be an http(s) URL, e.g. https://fra1.digitaloceanspaces.com');
  }
  if ((u.protocol !== 'http:' && u.protocol !== 'https:') || u.username || u.password) {
    throw new ValidationError('endpoint must be an http(s) URL without credentials');
  }
  if (typeof o.region !== 'string' || !o.region) throw new ValidationError('region is required');
  if (typeof o.accessKey !== 'string' || !o.accessKey) throw new ValidationError('accessKey is required (e.g. from DO_SPACES_ACCESS_KEY)');
  if (typeof o.secretKey !== 'string' || !o.secretKey) throw new ValidationError('secretKey is required (e.g. from DO_SPACES_SECRET_KEY)');
  for (const b of ['jsonBucket', 'contentBucket', 'backupsBucket'] as const) {
    if (typeof o[b] !== 'string' || !o[b]) throw new ValidationError(`${b} is required`);
  }
}

const METER = 'chronosRequestMeter';
const metered = new WeakSet<S3Client>();

/**
 * Counts every HTTP attempt (retries included, presigning excluded) against
 * the space it targets, and into `onRequest`. Installed once per client.
 */
export function installRequestMeter(client: S3Client, endpoint: string, onRequest?: (bucket: string | undefined) => void): void {
  const listeners = meterListeners.get(client) ?? [];
  if (onRequest) listeners.push(onRequest);
  meterListeners.set(client, listeners);
  if (metered.has(client)) return;
  metered.add(client);
  client.middlewareStack.add(
    (next) => async (args) => {
      const bucket = (args.input as { Bucket?: unknown } | undefined)?.Bucket;
      meterRequest(client, endpoint, typeof bucket === 'string' ? bucket : undefined);
      return next(args);
    },
    { step: 'deserialize', name: METER, priority: 'low' },
  );
}
const meterListeners = new WeakMap<S3Client, Array<(bucket: string | undefined) => void>>();

/** Counts one HTTP attempt of this client (the meter's middleware, and requests sent beside the SDK: lean-put.ts). */
export function meterRequest(client: S3Client, endpoint: string, bucket: string | undefined): void {
  if (bucket) spaceMeter(endpoint, bucket).add();
  for (const l of meterListeners.get(client) ?? []) l(bucket);
}

/** Removes a listener added by installRequestMeter (when a store that did not own the client closes). */
export function removeRequestListener(client: S3Client, onRequest: (bucket: string | undefined) => void): void {
  const l = meterListeners.get(client);
  if (!l) return;
  const i = l.indexOf(onRequest);
  if (i >= 0) l.splice(i, 1);
}

export interface OwnedClient {
  client: S3Client;
  tuning: ResolvedTuning;
  /** The keep-alive agents behind the client (requests sent beside the SDK share its sockets and bound). */
  agents: { http: HttpAgent; https: HttpsAgent };
  /** Closes the client and its sockets. */
  destroy: () => void;
}

/**
 * An S3Client for an S3-compatible connection: virtual-hosted style unless
 * `forcePathStyle`; checksums only when required unless the endpoint is AWS;
 * standard retry mode with bounded attempts; a keep-alive agent limited to
 * `maxConnections` sockets with per-attempt deadlines.
 */
export function createS3Client(conn: S3ConnectionOptions, extra?: Partial<S3ClientConfig>): OwnedClient {
  assertConnection(conn);
  const tuning = resolveTuning(conn);
  const http = createHttpHandler({
    maxConnections: tuning.maxConnections,
    requestTimeoutMs: tuning.requestTimeoutMs,
    lookup: conn.dnsLookup ?? localhostAwareLookup,
  });
  const aws = isAwsEndpoint(conn.endpoint);
  const client = new S3Client({
    endpoint: conn.endpoint,
    region: conn.region,
    credentials: { accessKeyId: conn.accessKey, secretAccessKey: conn.secretKey },
    forcePathStyle: conn.forcePathStyle === true,
    maxAttempts: tuning.maxAttempts,
    retryMode: 'standard',
    requestHandler: http.handler,
    ...(aws ? {} : { requestChecksumCalculation: 'WHEN_REQUIRED' as const, responseChecksumValidation: 'WHEN_REQUIRED' as const }),
    ...extra,
  });
  installRequestMeter(client, conn.endpoint);
  return {
    client,
    tuning,
    agents: http.agents,
    destroy: () => {
      client.destroy();
      http.destroy();
    },
  };
}
