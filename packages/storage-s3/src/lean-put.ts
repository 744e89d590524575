/**
 * A single-part PUT without the SDK's middleware stack: one SigV4-signed HTTP request (signed
 * SHA-256 payload and Content-MD5: the server checks the bytes) on the store's own keep-alive
 * agent, with the SDK's standard retry rules (bounded attempts, exponential backoff with
 * jitter, transient statuses and network errors only). The SDK costs about 1.5 ms of client
 * CPU per PUT (endpoint rules, schema serde, middleware, XML), this about 0.25 ms; a bulk
 * write of small records spends most of its client CPU on PUTs, and on a small machine that
 * CPU is taken from the servers. Used only by a store that owns its client (it has the
 * credentials and the agent); failures look like the SDK's to `mapS3Error`.
 */
import { createHash, createHmac } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';

export interface LeanPutConfig {
  endpoint: string;
  region: string;
  accessKey: string;
  secretKey: string;
  forcePathStyle: boolean;
  agents: { http: http.Agent; https: https.Agent };
  requestTimeoutMs: number;
  maxAttempts: number;
  /** Called once per HTTP attempt (request metering). */
  onAttempt: (bucket: string) => void;
}

export interface LeanPutRequest {
  bucket: string;
  key: string;
  body: Uint8Array;
  contentType?: string | undefined;
  ifNoneMatch?: boolean;
  /** The whole call's deadline (the store's): aborts the attempt in flight and any backoff. */
  signal: AbortSignal;
}

/** An S3 failure shaped like the SDK's (what mapS3Error reads). */
interface LeanError extends Error {
  Code?: string;
  code?: string;
  $metadata: { httpStatusCode?: number; requestId?: string; attempts?: number };
}

const THROTTLING = new Set(['SlowDown', 'Throttling', 'ThrottlingException', 'RequestLimitExceeded', 'TooManyRequestsException', 'RequestThrottled']);
const TRANSIENT_STATUS = new Set([500, 502, 503, 504, 429]);
const TRANSIENT_NET = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'ECONNABORTED', 'EAI_AGAIN']);
const MAX_BACKOFF_MS = 20_000;

/** RFC 3986 encoding of one path segment, as SigV4 canonicalizes it. */
const encodeSegment = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** Bucket names the SDK addresses virtual-hosted (DNS-compatible, no dots). */
const VIRTUAL_BUCKET = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;

/**
 * Where a PUT of `key` into `bucket` goes, addressed as the SDK addresses it (the tests compare the two):
 * virtual-hosted (`bucket.host`) unless path style is forced, the bucket is not DNS-compatible, or the
 * endpoint's host is an IP address (`http://10.0.0.5:9000` has no `bucket.10.0.0.5`). `hostname` is what
 * to connect to (no IPv6 brackets), `host` the Host header (with the port), `path` the signed path.
 */
export function addressOf(endpoint: URL, forcePathStyle: boolean, bucket: string, key: string): { hostname: string; host: string; path: string } {
  const bare = endpoint.hostname.replace(/^\[(.*)\]$/, '$1');
  const virtual = !forcePathStyle && isIP(bare) === 0 && VIRTUAL_BUCKET.test(bucket);
  const basePath = endpoint.pathname.replace(/\/+$/, '');
  const keyPath = key.split('/').map(encodeSegment).join('/');
  return virtual
    ? { hostname: `${bucket}.${bare}`, host: `${bucket}.${endpoint.host}`, path: `${basePath}/${keyPath}` }
    : { hostname: bare, host: endpoint.host, path: `${basePath}/${encodeSegment(bucket)}/${keyPath}` };
}

const sha256Hex = (b: string | Uint8Array) => createHash('sha256').update(b).digest('hex');
const hmac = (k: string | Buffer, s: string) => createHmac('sha256', k).update(s).digest();

export function createLeanPut(cfg: LeanPutConfig): (r: LeanPutRequest) => Promise<void> {
  const u = new URL(cfg.endpoint);
  const tls = u.protocol === 'https:';
  const agent = tls ? cfg.agents.https : cfg.agents.http;
  const request = tls ? https.request : http.request;
  let day = '';
  let signingKey = Buffer.alloc(0);

  const sign = (method: string, host: string, path: string, headers: Record<string, string>, payloadHash: string, amzDate: string): string => {
    const d = amzDate.slice(0, 8);
    if (d !== day) {
      day = d;
      signingKey = hmac(hmac(hmac(hmac(`AWS4${cfg.secretKey}`, d), cfg.region), 's3'), 'aws4_request');
    }
    const all: Record<string, string> = { ...headers, host };
    const names = Object.keys(all).sort();
    const canonical = `${method}\n${path}\n\n${names.map((n) => `${n}:${all[n]!.trim()}\n`).join('')}\n${names.join(';')}\n${payloadHash}`;
    const scope = `${d}/${cfg.region}/s3/aws4_request`;
    const toSign = `AWS4-HMAC-SHA256\n${amzDate}\n${scope}\n${sha256Hex(canonical)}`;
    const sig = createHmac('sha256', signingKey).update(toSign).digest('hex');
    return `AWS4-HMAC-SHA256 Credential=${cfg.accessKey}/${scope}, SignedHeaders=${names.join(';')}, Signature=${sig}`;
  };

  const attempt = (r: LeanPutRequest, n: number): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const { hostname, host, path } = addressOf(u, cfg.forcePathStyle, r.bucket, r.key);
      const payloadHash = sha256Hex(r.body);
      const amzDate = new Date()
        .toISOString()
        .replace(/[-:]/g, '')
        .replace(/\.\d{3}/, '');
      // (the SDK's default content type for a blob payload)
      // Content-MD5 as well: the server checks the bytes (and buckets with object lock require it)
      const signed: Record<string, string> = {
        'content-md5': createHash('md5').update(r.body).digest('base64'),
        'content-type': r.contentType || 'application/octet-stream',
        'x-amz-content-sha256': payloadHash,
        'x-amz-date': amzDate,
      };
      if (r.ifNoneMatch) signed['if-none-match'] = '*';
      const headers = { ...signed, host, 'content-length': String(r.body.byteLength), authorization: sign('PUT', host, path, signed, payloadHash, amzDate) };
      cfg.onAttempt(r.bucket);
      let done = false;
      const finish = (e?: LeanError) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        r.signal.removeEventListener('abort', onAbort);
        if (e) {
          e.$metadata.attempts = n;
          reject(e);
        } else resolve();
      };
      const req = request({ protocol: u.protocol, hostname, port: u.port, method: 'PUT', path, headers, agent }, (res) => {
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) {
          res.on('end', () => finish());
          res.on('error', (e) => finish(netError(e)));
          res.resume();
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          if (size < 65_536) chunks.push(c);
          size += c.length;
        });
        res.on('end', () => finish(httpError(status, Buffer.concat(chunks).toString('utf8'), res.headers)));
        res.on('error', (e) => finish(netError(e)));
      });
      const timer = setTimeout(() => {
        const e = Object.assign(new Error(`Request timed out after ${cfg.requestTimeoutMs} ms`), { name: 'TimeoutError', $metadata: {} }) as LeanError;
        finish(e);
        req.destroy();
      }, cfg.requestTimeoutMs);
      const onAbort = () => {
        finish(Object.assign(new Error('Request aborted'), { name: 'AbortError', $metadata: {} }) as LeanError);
        req.destroy();
      };
      if (r.signal.aborted) return onAbort();
      r.signal.addEventListener('abort', onAbort, { once: true });
      req.on('error', (e) => finish(netError(e)));
      req.end(r.body);
    });

  return async (r) => {
    for (let n = 1; ; n++) {
      try {
        return await attempt(r, n);
      } catch (e) {
        const err = e as LeanError;
        if (n >= cfg.maxAttempts || r.signal.aborted || !retryable(err)) throw err;
        const base = THROTTLING.has(err.Code ?? '') ? 500 : 100;
        await sleep(Math.random() * Math.min(MAX_BACKOFF_MS, base * 2 ** n), r.signal);
      }
    }
  };
}

function retryable(e: LeanError): boolean {
  if (e.name === 'TimeoutError') return true;
  if (e.code && TRANSIENT_NET.has(e.code)) return true;
  const status = e.$metadata.httpStatusCode;
  return (status !== undefined && TRANSIENT_STATUS.has(status)) || THROTTLING.has(e.Code ?? '') || e.Code === 'RequestTimeout';
}

function netError(e: Error): LeanError {
  return Object.assign(e, { $metadata: {} }) as LeanError;
}

const tag = (xml: string, name: string): string | undefined => {
  const m = new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml);
  return m ? m[1] : undefined;
};

/** An S3 error answer: its XML Code and Message (when there is a body), the status, the request id. */
function httpError(status: number, body: string, headers: http.IncomingHttpHeaders): LeanError {
  const code = tag(body, 'Code');
  const e = new Error(tag(body, 'Message') ?? (code ? code : 'UnknownError')) as LeanError;
  e.name = code ?? 'Unknown';
  if (code) e.Code = code;
  const requestId = tag(body, 'RequestId') ?? (typeof headers['x-amz-request-id'] === 'string' ? headers['x-amz-request-id'] : undefined);
  e.$metadata = { httpStatusCode: status, ...(requestId ? { requestId } : {}) };
  return e;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
