/** The BlobStore port on S3-compatible storage (DigitalOcean Spaces, AWS S3, MinIO, R2, Ceph). */
import {
  DeleteObjectCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import {
  NotFoundError,
  OptimisticLockError,
  StorageError,
  ValidationError,
  BUCKET_ROLES,
  assertBlobKey,
  assertBlobPrefix,
  assertByteRange,
  assertBucketRole,
  type BlobCapabilities,
  type BlobHead,
  type BlobListEntry,
  type BlobStore,
  type BucketRole,
  type PutOptions,
} from '@chronos-db/core';
import {
  assertConnection,
  createS3Client,
  installRequestMeter,
  meterRequest,
  removeRequestListener,
  resolveTuning,
  type S3ConnectionOptions,
} from './client.js';
import { createLeanPut } from './lean-put.js';
import { describeConnection, makeRedactor, type ConnectionDescription } from './describe.js';
import { mapS3Error, type S3ErrorContext } from './errors.js';
import { SPACES_HOURLY_LIMIT, SlidingHourCounter, spaceRequestStats, type SpaceRequestStats } from './request-meter.js';

export const MIN_PRESIGN_TTL_SECONDS = 1;
export const MAX_PRESIGN_TTL_SECONDS = 7 * 24 * 3600;
export const DEFAULT_MULTIPART_THRESHOLD = 8 * 1024 * 1024;

export interface S3BlobStoreOptions extends S3ConnectionOptions {
  /** A ready client (shared pool); it is not destroyed by `close()`. Tuning options then only apply to deadlines. */
  client?: S3Client;
  /** `true`/`false` to skip detection; default 'auto' (probe once on first need or `detectCapabilities()`). */
  conditionalWrite?: boolean | 'auto';
  /** Bodies larger than this go through multipart upload. Default 8 MiB (minimum 5 MiB). */
  multipartThresholdBytes?: number;
}

export interface S3BlobStoreStats {
  /** Every HTTP request this store sent (retries included). */
  requestsTotal: number;
  /** HTTP requests this store sent in the last hour. */
  requestsLastHour: number;
  /** Per space (bucket), as seen by the whole process. */
  spaces: SpaceRequestStats[];
  /** The busiest space's requests in the last hour. */
  maxSpaceRequestsLastHour: number;
  hourlyLimit: number;
}

/** The port's capabilities, plus what this store learns of its buckets (not a port flag: admin and tests read it). */
export interface S3BlobCapabilities extends BlobCapabilities {
  /** Versioning is enabled on the json bucket (detected by `detectCapabilities()`; false until then). */
  versioning: boolean;
}

export interface S3BlobStore extends BlobStore {
  readonly capabilities: S3BlobCapabilities;
  presign(bucket: BucketRole, key: string, ttlSeconds: number): Promise<string>;
  /** Probes conditional writes (a temporary key written twice with If-None-Match) and bucket versioning, once. */
  detectCapabilities(): Promise<S3BlobCapabilities>;
  /** Request counts, for `admin.health()` against DigitalOcean's 10,000 requests/hour per space. */
  stats(): S3BlobStoreStats;
  /** Endpoint, region, buckets, masked access key. Never the secret. */
  describe(): ConnectionDescription;
  /** The bucket name behind a role. */
  bucketName(role: BucketRole): string;
  readonly client: S3Client;
}

export function createS3BlobStore(opts: S3BlobStoreOptions): S3BlobStore {
  assertConnection(opts);
  const tuning = resolveTuning(opts);
  const owned = opts.client ? null : createS3Client(opts);
  const client = opts.client ?? owned!.client;
  const redact = makeRedactor([opts.secretKey], opts.accessKey);
  const buckets: Record<BucketRole, string> = { json: opts.jsonBucket, content: opts.contentBucket, backups: opts.backupsBucket };
  const threshold = opts.multipartThresholdBytes ?? DEFAULT_MULTIPART_THRESHOLD;
  if (!Number.isInteger(threshold) || threshold < 5 * 1024 * 1024) throw new ValidationError('multipartThresholdBytes must be an integer >= 5 MiB');
  // Deadline of a whole call: every attempt may use its full timeout, plus the backoff between them.
  const opDeadlineMs = tuning.maxAttempts * tuning.requestTimeoutMs + tuning.maxAttempts * 2_000;

  const own = new SlidingHourCounter();
  const listener = (b: string | undefined) => {
    if (b && (b === buckets.json || b === buckets.content || b === buckets.backups)) own.add();
  };
  installRequestMeter(client, opts.endpoint, listener);

  const caps: S3BlobCapabilities = { conditionalWrite: opts.conditionalWrite === true, presign: true, versioning: false };
  let detected: Promise<S3BlobCapabilities> | null = opts.conditionalWrite === 'auto' || opts.conditionalWrite === undefined ? null : Promise.resolve(caps);
  const verifiedBuckets = new Set<string>();
  let closed = false;

  const bucketOf = (role: BucketRole): string => {
    assertBucketRole(role);
    return buckets[role];
  };

  const ctx = (op: string, bucket: string, key?: string, extra?: Pick<S3ErrorContext, 'ifNoneMatch' | 'notFoundIsKey'>): S3ErrorContext => ({
    op,
    bucket,
    ...(key !== undefined ? { key } : {}),
    redact,
    ...extra,
  });

  /** Runs one call with the whole-call deadline; maps every failure. */
  async function within<T>(c: S3ErrorContext, call: (signal: AbortSignal) => Promise<T>): Promise<T> {
    if (closed) throw new StorageError('The S3 blob store is closed', { op: c.op, bucket: c.bucket });
    const signal = AbortSignal.timeout(opDeadlineMs);
    try {
      return await call(signal);
    } catch (e) {
      if (signal.aborted) {
        throw new StorageError(`S3 ${c.op} timed out after ${opDeadlineMs} ms on bucket '${c.bucket}'`, { op: c.op, bucket: c.bucket, code: 'Timeout' });
      }
      throw mapS3Error(e, c);
    }
  }

  /** Sends one SDK command with the whole-call deadline; maps every failure. */
  const send = <T>(command: object, c: S3ErrorContext): Promise<T> =>
    within(c, (signal) => client.send(command as never, { abortSignal: signal }) as Promise<T>);

  // single-part PUTs of a store that owns its client go beside the SDK (lean-put.ts: a fraction of its CPU)
  const lean = owned
    ? createLeanPut({
        endpoint: opts.endpoint,
        region: opts.region,
        accessKey: opts.accessKey,
        secretKey: opts.secretKey,
        forcePathStyle: opts.forcePathStyle === true,
        agents: owned.agents,
        requestTimeoutMs: tuning.requestTimeoutMs,
        maxAttempts: tuning.maxAttempts,
        onAttempt: (b) => meterRequest(client, opts.endpoint, b),
      })
    : undefined;

  const detailsOf = (e: unknown): { status?: number; code?: string } => (e as { details?: { status?: number; code?: string } }).details ?? {};

  async function bucketExists(bucket: string): Promise<void> {
    if (verifiedBuckets.has(bucket)) return;
    try {
      await send(new HeadBucketCommand({ Bucket: bucket }), ctx('headBucket', bucket));
    } catch (e) {
      const d = detailsOf(e);
      if (d.status === 404 || d.code === 'NotFound' || d.code === 'NoSuchBucket') {
        throw new StorageError(`Bucket '${bucket}' does not exist`, { op: 'headBucket', bucket, code: 'NoSuchBucket', status: 404 });
      }
      throw e;
    }
    verifiedBuckets.add(bucket);
  }

  const unsupported = (e: unknown) => {
    const d = detailsOf(e);
    return d.status === 501 || d.code === 'NotImplemented';
  };

  /** Writes a temporary key twice with If-None-Match: '*'; a 412 on the second write means the provider enforces it. */
  async function probeConditionalWrite(): Promise<boolean> {
    const bucket = buckets.json;
    const key = `.chronos-probe/${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
    const body = new TextEncoder().encode('probe');
    const put = () => send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, IfNoneMatch: '*' }), ctx('put', bucket, key, { ifNoneMatch: true }));
    try {
      try {
        await put();
      } catch (e) {
        if (unsupported(e)) return false;
        throw e;
      }
      try {
        await put();
        return false;
      } catch (e) {
        if (e instanceof OptimisticLockError) return true;
        if (unsupported(e)) return false;
        throw e;
      }
    } finally {
      await send(new DeleteObjectCommand({ Bucket: bucket, Key: key }), ctx('delete', bucket, key)).catch(() => undefined);
    }
  }

  async function detectCapabilities(): Promise<S3BlobCapabilities> {
    if (!detected) {
      detected = (async () => {
        caps.conditionalWrite = await probeConditionalWrite();
        try {
          const v = await send<{ Status?: string }>(new GetBucketVersioningCommand({ Bucket: buckets.json }), ctx('getBucketVersioning', buckets.json));
          caps.versioning = v.Status === 'Enabled';
        } catch {
          caps.versioning = false;
        }
        return caps;
      })();
      detected.catch(() => {
        detected = null; // retry detection next time (e.g. bucket created later)
      });
    }
    return detected;
  }

  async function putLarge(bucket: string, key: string, body: Uint8Array, contentType: string | undefined): Promise<void> {
    if (closed) throw new StorageError('The S3 blob store is closed', { op: 'put', bucket });
    const upload = new Upload({
      client,
      params: { Bucket: bucket, Key: key, Body: body, ...(contentType ? { ContentType: contentType } : {}) },
      partSize: threshold,
      queueSize: Math.max(1, Math.min(4, tuning.maxConnections)),
      leavePartsOnError: false,
    });
    try {
      await upload.done();
    } catch (e) {
      throw mapS3Error(e, ctx('multipartUpload', bucket, key));
    }
  }

  const store: S3BlobStore = {
    get capabilities() {
      return caps;
    },
    client,

    async put(role, key, body, putOpts?: PutOptions) {
      const bucket = bucketOf(role);
      assertBlobKey(key);
      if (!(body instanceof Uint8Array)) throw new ValidationError('body must be a Uint8Array');
      const contentType = putOpts?.contentType;
      const ifNoneMatch = putOpts?.ifNoneMatch === true;
      let atomic = false;
      if (ifNoneMatch) {
        atomic = (await detectCapabilities()).conditionalWrite && body.byteLength <= threshold;
        if (!atomic) {
          // Best effort where the provider cannot enforce it (or for multipart): check first.
          const existing = await store.head(role, key);
          if (existing) throw new OptimisticLockError(`Object '${key}' already exists in bucket '${bucket}'`, { op: 'put', bucket, key });
        }
      }
      if (body.byteLength > threshold) return putLarge(bucket, key, body, contentType);
      const c = ctx('put', bucket, key, { ifNoneMatch: atomic });
      if (lean) return within(c, (signal) => lean({ bucket, key, body, contentType, ifNoneMatch: atomic, signal }));
      await send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: body,
          ContentLength: body.byteLength,
          ...(contentType ? { ContentType: contentType } : {}),
          ...(atomic ? { IfNoneMatch: '*' } : {}),
        }),
        c,
      );
    },

    async get(role, key) {
      const bucket = bucketOf(role);
      assertBlobKey(key);
      const c = ctx('get', bucket, key, { notFoundIsKey: true });
      const signal = AbortSignal.timeout(opDeadlineMs);
      if (closed) throw new StorageError('The S3 blob store is closed', { op: 'get', bucket });
      try {
        const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }), { abortSignal: signal });
        if (!out.Body) return new Uint8Array(0);
        return await out.Body.transformToByteArray();
      } catch (e) {
        if (signal.aborted)
          throw new StorageError(`S3 get timed out after ${opDeadlineMs} ms on bucket '${bucket}'`, { op: 'get', bucket, key, code: 'Timeout' });
        throw mapS3Error(e, c);
      }
    },

    /** One HTTP Range GET: `length` bytes from `offset` (fewer at the end of the object). */
    async getRange(role, key, offset, length) {
      const bucket = bucketOf(role);
      assertBlobKey(key);
      assertByteRange(offset, length);
      if (length === 0) {
        if (!(await store.head(role, key))) throw new NotFoundError(`Object '${key}' not found in bucket '${bucket}'`, { bucket, key });
        return new Uint8Array(0);
      }
      const c = ctx('get', bucket, key, { notFoundIsKey: true });
      const signal = AbortSignal.timeout(opDeadlineMs);
      if (closed) throw new StorageError('The S3 blob store is closed', { op: 'get', bucket });
      try {
        const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: `bytes=${offset}-${offset + length - 1}` }), {
          abortSignal: signal,
        });
        if (!out.Body) return new Uint8Array(0);
        const bytes = await out.Body.transformToByteArray();
        // a server that ignores Range answers the whole object (200): cut the range out of it
        return out.ContentRange ? bytes : bytes.subarray(offset, offset + length);
      } catch (e) {
        if (signal.aborted)
          throw new StorageError(`S3 get timed out after ${opDeadlineMs} ms on bucket '${bucket}'`, { op: 'get', bucket, key, code: 'Timeout' });
        const mapped = mapS3Error(e, c);
        const d = detailsOf(mapped);
        // a range that starts at or past the end of the object
        if (d.status === 416 || d.code === 'InvalidRange') return new Uint8Array(0);
        throw mapped;
      }
    },

    async head(role, key): Promise<BlobHead | null> {
      const bucket = bucketOf(role);
      assertBlobKey(key);
      try {
        const out = await send<{ ContentLength?: number; ContentType?: string; LastModified?: Date }>(
          new HeadObjectCommand({ Bucket: bucket, Key: key }),
          ctx('head', bucket, key),
        );
        const h: BlobHead = { size: out.ContentLength ?? 0 };
        if (out.ContentType) h.contentType = out.ContentType;
        if (out.LastModified) h.lastModified = out.LastModified;
        return h;
      } catch (e) {
        const d = detailsOf(e);
        if (d.status === 404 || d.code === 'NotFound' || d.code === 'NoSuchKey') {
          // A HEAD 404 has no body: tell a missing bucket from a missing key (once per bucket).
          await bucketExists(bucket);
          return null;
        }
        throw e;
      }
    },

    async delete(role, key) {
      const bucket = bucketOf(role);
      assertBlobKey(key);
      try {
        await send(new DeleteObjectCommand({ Bucket: bucket, Key: key }), ctx('delete', bucket, key));
      } catch (e) {
        if (detailsOf(e).code === 'NoSuchKey') return;
        throw e;
      }
    },

    /**
     * Erasure: every object under `prefix` and every stored version of it (ListObjectVersions,
     * then DeleteObject with each VersionId: noncurrent versions and delete markers too, so a
     * versioned bucket keeps no bytes). A provider without ListObjectVersions (NotImplemented)
     * gets plain deletes of the listed keys.
     */
    async purgePrefix(role, prefix) {
      const bucket = bucketOf(role);
      assertBlobPrefix(prefix);
      if (!prefix) throw new ValidationError('purgePrefix needs a non-empty prefix');
      let removed = 0;
      let keyMarker: string | undefined;
      let versionMarker: string | undefined;
      try {
        do {
          const out = await send<{
            Versions?: Array<{ Key?: string; VersionId?: string }>;
            DeleteMarkers?: Array<{ Key?: string; VersionId?: string }>;
            IsTruncated?: boolean;
            NextKeyMarker?: string;
            NextVersionIdMarker?: string;
          }>(
            new ListObjectVersionsCommand({ Bucket: bucket, Prefix: prefix, KeyMarker: keyMarker, VersionIdMarker: versionMarker, MaxKeys: 1000 }),
            ctx('listVersions', bucket),
          );
          for (const v of [...(out.Versions ?? []), ...(out.DeleteMarkers ?? [])]) {
            if (!v.Key) continue;
            await send(new DeleteObjectCommand({ Bucket: bucket, Key: v.Key, VersionId: v.VersionId ?? 'null' }), ctx('delete', bucket, v.Key));
            removed++;
          }
          keyMarker = out.IsTruncated ? out.NextKeyMarker : undefined;
          versionMarker = out.IsTruncated ? out.NextVersionIdMarker : undefined;
        } while (keyMarker);
      } catch (e) {
        if (detailsOf(e).code !== 'NotImplemented') throw e;
        const keys: string[] = [];
        for await (const o of store.list(role, prefix)) keys.push(o.key);
        for (const k of keys) await store.delete(role, k);
        removed += keys.length;
      }
      return removed;
    },

    list(role, prefix): AsyncIterable<BlobListEntry> {
      return {
        async *[Symbol.asyncIterator]() {
          // Validated on iteration, so a bad prefix is a rejected promise like every other call.
          const bucket = bucketOf(role);
          assertBlobPrefix(prefix);
          let token: string | undefined;
          do {
            const out = await send<{
              Contents?: Array<{ Key?: string; Size?: number; LastModified?: Date }>;
              IsTruncated?: boolean;
              NextContinuationToken?: string;
            }>(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix || undefined, ContinuationToken: token, MaxKeys: 1000 }), ctx('list', bucket));
            for (const o of out.Contents ?? []) {
              if (!o.Key || o.Key.startsWith('.chronos-probe/')) continue;
              yield { key: o.Key, size: o.Size ?? 0, lastModified: o.LastModified ?? new Date(0) };
            }
            token = out.IsTruncated ? out.NextContinuationToken : undefined;
          } while (token);
        },
      };
    },

    async presign(role, key, ttlSeconds) {
      const bucket = bucketOf(role);
      assertBlobKey(key);
      if (typeof ttlSeconds !== 'number' || !Number.isInteger(ttlSeconds) || ttlSeconds < MIN_PRESIGN_TTL_SECONDS || ttlSeconds > MAX_PRESIGN_TTL_SECONDS) {
        throw new ValidationError(
          `Presign TTL must be an integer number of seconds in ${MIN_PRESIGN_TTL_SECONDS}..${MAX_PRESIGN_TTL_SECONDS} (7 days), got ${JSON.stringify(ttlSeconds)}`,
        );
      }
      try {
        return await getSignedUrl(client, new GetObjectCommand({ Bucket: bucket, Key: key }), { expiresIn: ttlSeconds });
      } catch (e) {
        throw mapS3Error(e, ctx('presign', bucket, key));
      }
    },

    detectCapabilities,

    stats() {
      const spaces = BUCKET_ROLES.map((r) => spaceRequestStats(opts.endpoint, buckets[r]));
      return {
        requestsTotal: own.total,
        requestsLastHour: own.lastHour(),
        spaces,
        maxSpaceRequestsLastHour: Math.max(0, ...spaces.map((s) => s.requestsLastHour)),
        hourlyLimit: SPACES_HOURLY_LIMIT,
      };
    },

    describe() {
      return describeConnection(opts);
    },

    bucketName(role) {
      return bucketOf(role);
    },

    async close() {
      if (closed) return;
      closed = true;
      removeRequestListener(client, listener);
      owned?.destroy();
    },
  };
  return store;
}
