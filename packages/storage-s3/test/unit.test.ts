/** Pieces that need no server. */
import { NotFoundError, OptimisticLockError, StorageError, ValidationError } from '@chronos-db/core';
import {
  assertBlobKey,
  assertBlobPrefix,
  createS3BlobStore,
  describeConnection,
  isAwsEndpoint,
  localhostAwareLookup,
  mapS3Error,
  maskAccessKey,
  SlidingHourCounter,
} from '@chronos-db/storage-s3';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { addressOf } from '../src/lean-put.js';

const conn = {
  endpoint: 'https://fra1.digitaloceanspaces.com',
  region: 'fra1',
  accessKey: 'DO1234567890ABCDEF',
  secretKey: 'super-secret-value-1234567890',
  jsonBucket: 'chronos-json',
  contentBucket: 'chronos-content',
  backupsBucket: 'chronos-backups',
};

describe('storage-s3 units', () => {
  it('masks access keys and never describes the secret', () => {
    expect(maskAccessKey('DO1234567890ABCDEF')).toBe('DO12…CDEF');
    expect(maskAccessKey('short')).toBe('****');
    const d = describeConnection(conn);
    expect(d).toEqual({
      endpoint: 'https://fra1.digitaloceanspaces.com',
      region: 'fra1',
      forcePathStyle: false,
      accessKey: 'DO12…CDEF',
      buckets: { json: 'chronos-json', content: 'chronos-content', backups: 'chronos-backups' },
    });
    expect(JSON.stringify(d)).not.toContain(conn.secretKey);
  });

  it('maps S3 errors to the guide wording and core types', () => {
    const err = (name: string, status: number) => Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });
    for (const code of ['AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch']) {
      const e = mapS3Error(err(code, 403), { op: 'put', bucket: 'chronos-json' });
      expect(e).toBeInstanceOf(StorageError);
      expect(e.message).toBe("Access denied to bucket 'chronos-json'");
    }
    expect(mapS3Error(err('NoSuchBucket', 404), { op: 'get', bucket: 'chronos-json' }).message).toBe("Bucket 'chronos-json' does not exist");
    expect(mapS3Error(err('NoSuchKey', 404), { op: 'get', bucket: 'b', key: 'k' })).toBeInstanceOf(NotFoundError);
    expect(mapS3Error(err('NotFound', 404), { op: 'get', bucket: 'b', key: 'k', notFoundIsKey: true })).toBeInstanceOf(NotFoundError);
    expect(mapS3Error(err('PreconditionFailed', 412), { op: 'put', bucket: 'b', key: 'k', ifNoneMatch: true })).toBeInstanceOf(OptimisticLockError);
    const other = mapS3Error(err('InternalError', 500), { op: 'put', bucket: 'b' });
    expect(other).toBeInstanceOf(StorageError);
    expect(other.details).toMatchObject({ code: 'InternalError', status: 500, bucket: 'b' });
    const leaky = mapS3Error(Object.assign(new Error(`bad ${conn.secretKey}`), { name: 'Weird' }), {
      op: 'put',
      bucket: 'b',
      redact: (s) => s.split(conn.secretKey).join('[REDACTED]'),
    });
    expect(leaky.message).not.toContain(conn.secretKey);
  });

  it('accepts safe keys and rejects escapes', () => {
    for (const k of ['a', 'db/users/abc/v0/ff/item.json', 'a.b-c_d', '.chronos/x']) expect(() => assertBlobKey(k)).not.toThrow();
    for (const k of ['', '/a', 'a/', 'a//b', '..', 'a/../b', './a', 'a b', 'a\\b', 'a?b', 'é', 5, null])
      expect(() => assertBlobKey(k)).toThrow(ValidationError);
    for (const p of ['', 'a/', 'db/users/', 'db/us']) expect(() => assertBlobPrefix(p)).not.toThrow();
    for (const p of ['../', '/a', 'a//', 'a/../', '..']) expect(() => assertBlobPrefix(p)).toThrow(ValidationError);
  });

  it('counts a sliding hour of requests', () => {
    let now = 0;
    const c = new SlidingHourCounter(() => now);
    c.add();
    c.add(2);
    now = 30 * 60_000;
    c.add(4);
    expect(c.lastHour()).toBe(7);
    now = 60 * 60_000; // the first minute has left the window
    expect(c.lastHour()).toBe(4);
    now = 200 * 60_000;
    expect(c.lastHour()).toBe(0);
    expect(c.total).toBe(7);
  });

  it('knows AWS endpoints', () => {
    expect(isAwsEndpoint('https://s3.eu-west-1.amazonaws.com')).toBe(true);
    expect(isAwsEndpoint('https://fra1.digitaloceanspaces.com')).toBe(false);
    expect(isAwsEndpoint('http://127.0.0.1:9000')).toBe(false);
  });

  it('addresses a lean PUT where the SDK sends the same PUT (IP endpoints path-style, dotted buckets, forcePathStyle)', async () => {
    const seen: string[] = [];
    for (const endpoint of [
      'https://fra1.digitaloceanspaces.com',
      'http://127.0.0.1:17480',
      'http://[::1]:9000',
      'http://localhost:9000',
      'http://minio:9000',
    ]) {
      for (const forcePathStyle of [false, true]) {
        for (const bucket of ['chronos-json', 'my.dotted.bucket']) {
          const key = 'ns/A-z_0.9/x y+z.json';
          const client = new S3Client({ endpoint, region: 'fra1', forcePathStyle, credentials: { accessKeyId: 'AKID', secretAccessKey: 'not-a-secret' } });
          let sdk: { hostname: string; path: string } | undefined;
          client.middlewareStack.add(
            () => async (args) => {
              const r = args.request as { hostname: string; path: string };
              sdk = { hostname: r.hostname.replace(/^\[(.*)\]$/, '$1'), path: r.path };
              throw new Error('captured');
            },
            { step: 'finalizeRequest' },
          );
          await expect(client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'x' }))).rejects.toThrow('captured');
          client.destroy();
          const ours = addressOf(new URL(endpoint), forcePathStyle, bucket, key);
          expect({ endpoint, forcePathStyle, bucket, hostname: ours.hostname, path: ours.path }).toEqual({ endpoint, forcePathStyle, bucket, ...sdk });
          seen.push(ours.hostname);
        }
      }
    }
    // the matrix holds both styles: virtual-hosted for a DNS name, path-style for an IP
    expect(seen).toContain('chronos-json.fra1.digitaloceanspaces.com');
    expect(seen).toContain('127.0.0.1');
  });

  it('resolves *.localhost to 127.0.0.1', async () => {
    const one = await new Promise<unknown[]>((r) => (localhostAwareLookup as any)('bucket.s3.localhost', {}, (...a: unknown[]) => r(a)));
    expect(one).toEqual([null, '127.0.0.1', 4]);
    const all = await new Promise<unknown[]>((r) => (localhostAwareLookup as any)('x.localhost', { all: true }, (...a: unknown[]) => r(a)));
    expect(all).toEqual([null, [{ address: '127.0.0.1', family: 4 }]]);
  });

  it('validates options without echoing the secret', async () => {
    expect(() => createS3BlobStore({ ...conn, endpoint: 'not a url' })).toThrow(ValidationError);
    expect(() => createS3BlobStore({ ...conn, endpoint: `https://u:${conn.secretKey}@x.com` })).toThrow(ValidationError);
    expect(() => createS3BlobStore({ ...conn, secretKey: '' })).toThrow(/secretKey is required/);
    expect(() => createS3BlobStore({ ...conn, maxConnections: 0 })).toThrow(ValidationError);
    expect(() => createS3BlobStore({ ...conn, maxConnections: 101 })).toThrow(ValidationError);
    try {
      createS3BlobStore({ ...conn, endpoint: `https://u:${conn.secretKey}@x.com` });
    } catch (e) {
      expect(String((e as Error).message)).not.toContain(conn.secretKey);
    }
    const s = createS3BlobStore(conn);
    expect(s.capabilities).toMatchObject({ presign: true, versioning: false });
    await s.close();
  });
});
