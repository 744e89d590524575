import { GetObjectCommand, PutBucketVersioningCommand, type S3Client } from '@aws-sdk/client-s3';
import { NotFoundError, OptimisticLockError, StorageError, ValidationError } from '@chronos-db/core';
import { createS3BlobStore, type S3BlobStore } from '@chronos-db/storage-s3';
import http from 'node:http';
import { createHash, randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { bucketNames, connFor, createBuckets, describeS3, dropBuckets, oracleClient } from './helpers/env.js';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

/** GET a URL; host names under .localhost go to 127.0.0.1. */
function fetchUrl(url: string): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.get(
      url,
      {
        lookup: (_h, o, cb) => ((o as { all?: boolean }).all ? (cb as any)(null, [{ address: '127.0.0.1', family: 4 }]) : (cb as any)(null, '127.0.0.1', 4)),
      } as http.RequestOptions,
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
  });
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describeS3('S3BlobStore on the Ceph gateway', (env) => {
  const names = bucketNames('s3');
  const all = [names.jsonBucket, names.contentBucket, names.backupsBucket];
  let oracle: { client: S3Client; destroy: () => void };
  let store: S3BlobStore;

  beforeAll(async () => {
    oracle = oracleClient(env);
    await createBuckets(oracle.client, all);
    store = createS3BlobStore(connFor(env, names));
  });

  afterAll(async () => {
    await store?.close();
    if (oracle) {
      await dropBuckets(oracle.client, all);
      oracle.destroy();
    }
  });

  it('puts, gets, heads, lists and deletes in all three buckets', async () => {
    for (const role of ['json', 'content', 'backups'] as const) {
      const key = `crud/${role}/a.json`;
      await store.put(role, key, enc(`{"role":"${role}"}`), { contentType: 'application/json' });
      expect(dec(await store.get(role, key))).toBe(`{"role":"${role}"}`);
      const h = await store.head(role, key);
      expect(h).not.toBeNull();
      expect(h!.size).toBe(`{"role":"${role}"}`.length);
      expect(h!.contentType).toBe('application/json');
      expect(h!.lastModified).toBeInstanceOf(Date);
      // The oracle reads the real bucket: the bytes are where the role says.
      const raw = await oracle.client.send(new GetObjectCommand({ Bucket: store.bucketName(role), Key: key }));
      expect(await raw.Body!.transformToString()).toBe(`{"role":"${role}"}`);
      await store.delete(role, key);
      expect(await store.head(role, key)).toBeNull();
      await expect(store.get(role, key)).rejects.toBeInstanceOf(NotFoundError);
      await store.delete(role, key); // idempotent
    }
  });

  it('sends single-part PUTs itself, beside the SDK (lean-put.ts): same object, same content type, counted; a shared client puts through the SDK', async () => {
    const sdkPuts = { n: 0 };
    const countPuts = (c: S3Client) =>
      c.middlewareStack.add(
        (next, context) => async (args) => {
          if (context.commandName === 'PutObjectCommand') sdkPuts.n++;
          return next(args);
        },
        { step: 'initialize', name: `countPuts${Math.random()}` },
      );
    countPuts(store.client);
    const before = store.stats().requestsTotal;
    const key = 'lean/A-z_0.9/x--y.json';
    await store.put('json', key, enc('{"lean":true}'), { contentType: 'application/json' });
    await store.put('content', 'lean/no-type', enc('bytes'));
    expect(sdkPuts.n).toBe(0);
    expect(store.stats().requestsTotal - before).toBe(2);
    expect(await store.head('json', key)).toMatchObject({ size: 13, contentType: 'application/json' });
    const raw = await oracle.client.send(new GetObjectCommand({ Bucket: store.bucketName('content'), Key: 'lean/no-type' }));
    expect(raw.ContentType).toBe('application/octet-stream');
    expect(await raw.Body!.transformToString()).toBe('bytes');
    // ifNoneMatch on the lean path: the provider enforces it (412) or the store checks first
    await expect(store.put('json', key, enc('again'), { ifNoneMatch: true })).rejects.toBeInstanceOf(OptimisticLockError);
    expect(dec(await store.get('json', key))).toBe('{"lean":true}');
    // a store on a client it does not own has no credentials of its own to sign with: the SDK sends
    const shared = createS3BlobStore({ ...connFor(env, names), client: oracle.client });
    countPuts(oracle.client);
    sdkPuts.n = 0; // (the conditional-write probe above wrote through the SDK)
    try {
      await shared.put('json', 'lean/shared', enc('shared'));
      expect(sdkPuts.n).toBe(1);
      expect(dec(await store.get('json', 'lean/shared'))).toBe('shared');
    } finally {
      await shared.close();
    }
  });

  it('lists keys under a prefix in key order, across pages', async () => {
    const keys = Array.from({ length: 12 }, (_, i) => `list/p/${String(i).padStart(3, '0')}`);
    for (const k of [...keys].reverse()) await store.put('json', k, enc(k));
    await store.put('json', 'list/q/other', enc('x'));
    const listed = await collect(store.list('json', 'list/p/'));
    expect(listed.map((e) => e.key)).toEqual(keys);
    expect(listed.every((e) => e.size === keys[0]!.length && e.lastModified instanceof Date)).toBe(true);
    expect((await collect(store.list('json', 'list/'))).length).toBe(13);
    expect(await collect(store.list('json', 'nothing-here/'))).toEqual([]);
  });

  it('detects conditional writes and refuses to overwrite with ifNoneMatch', async () => {
    const caps = await store.detectCapabilities();
    expect(caps.conditionalWrite).toBe(true); // radosgw answers 412
    expect(store.capabilities.conditionalWrite).toBe(true);
    await store.put('json', 'cond/a', enc('first'), { ifNoneMatch: true });
    await expect(store.put('json', 'cond/a', enc('second'), { ifNoneMatch: true })).rejects.toBeInstanceOf(OptimisticLockError);
    expect(dec(await store.get('json', 'cond/a'))).toBe('first');
    // Without ifNoneMatch an overwrite is allowed.
    await store.put('json', 'cond/a', enc('third'));
    expect(dec(await store.get('json', 'cond/a'))).toBe('third');
    // The probe key never shows up.
    expect((await collect(store.list('json', ''))).some((e) => e.key.startsWith('.chronos-probe'))).toBe(false);
  });

  it('of concurrent ifNoneMatch writers to one key, exactly one wins', async () => {
    const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => store.put('json', 'race/one', enc(`w${i}`), { ifNoneMatch: true })));
    const won = results.filter((r) => r.status === 'fulfilled');
    expect(won).toHaveLength(1);
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(OptimisticLockError);
  });

  it('reports bucket versioning as a capability', async () => {
    const names2 = bucketNames('ver');
    await createBuckets(oracle.client, [names2.jsonBucket, names2.contentBucket, names2.backupsBucket]);
    try {
      await oracle.client.send(new PutBucketVersioningCommand({ Bucket: names2.jsonBucket, VersioningConfiguration: { Status: 'Enabled' } }));
      const s = createS3BlobStore(connFor(env, names2));
      try {
        expect((await s.detectCapabilities()).versioning).toBe(true);
      } finally {
        await s.close();
      }
      expect((await store.detectCapabilities()).versioning).toBe(false);
    } finally {
      await dropBuckets(oracle.client, [names2.jsonBucket, names2.contentBucket, names2.backupsBucket]);
    }
  });

  it('round-trips a 20 MB blob through multipart upload', async () => {
    const body = new Uint8Array(randomBytes(20 * 1024 * 1024));
    const before = store.stats().requestsTotal;
    await store.put('content', 'big/blob.bin', body, { contentType: 'application/octet-stream' });
    const sent = store.stats().requestsTotal - before;
    // Create + 3 parts + complete: more than one request proves the multipart path.
    expect(sent).toBeGreaterThanOrEqual(5);
    const back = await store.get('content', 'big/blob.bin');
    expect(back.byteLength).toBe(body.byteLength);
    expect(createHash('sha256').update(back).digest('hex')).toBe(createHash('sha256').update(body).digest('hex'));
    expect((await store.head('content', 'big/blob.bin'))!.size).toBe(body.byteLength);
    // Multipart leaves no unfinished upload parts visible as objects.
    expect((await collect(store.list('content', 'big/'))).map((e) => e.key)).toEqual(['big/blob.bin']);
  });

  it('presigns a GET that works, then stops working after its TTL', async () => {
    await store.put('content', 'presign/a.txt', enc('hello presigned'));
    const url = await store.presign('content', 'presign/a.txt', 1);
    expect(url).toContain('X-Amz-Expires=1');
    expect(url).not.toContain(env.secretKey);
    const ok = await fetchUrl(url);
    expect(ok.status).toBe(200);
    expect(ok.body.toString()).toBe('hello presigned');
    // Poll (bounded) until the gateway refuses the expired URL.
    let status = ok.status;
    for (let i = 0; i < 60 && status === 200; i++) {
      await new Promise((r) => setTimeout(r, 500));
      status = (await fetchUrl(url)).status;
    }
    expect(status).toBe(403);
  });

  it('rejects presign TTLs outside 1 s .. 7 days', async () => {
    for (const ttl of [0, -1, NaN, 1.5, 7 * 24 * 3600 + 1, Infinity, '60' as unknown as number]) {
      await expect(store.presign('content', 'presign/a.txt', ttl)).rejects.toBeInstanceOf(ValidationError);
    }
    await expect(store.presign('content', 'presign/a.txt', 7 * 24 * 3600)).resolves.toMatch(/^http/);
  });

  it('rejects unsafe keys before any request', async () => {
    const before = store.stats().requestsTotal;
    for (const key of ['', '../x', 'a/../b', '/abs', 'a//b', 'a/./b', 'sp ace', 'a\u0000b', '%2e%2e/x', 'x'.repeat(1025), 'é']) {
      await expect(store.put('json', key, enc('x'))).rejects.toBeInstanceOf(ValidationError);
      await expect(store.get('json', key)).rejects.toBeInstanceOf(ValidationError);
      await expect(store.head('json', key)).rejects.toBeInstanceOf(ValidationError);
      await expect(store.delete('json', key)).rejects.toBeInstanceOf(ValidationError);
    }
    await expect(collect(store.list('json', '../'))).rejects.toBeInstanceOf(ValidationError);
    await expect(store.put('nope' as never, 'a', enc('x'))).rejects.toBeInstanceOf(ValidationError);
    expect(store.stats().requestsTotal).toBe(before);
  });

  it('counts requests per store and per space', async () => {
    const s0 = store.stats();
    await store.put('backups', 'count/a', enc('1'));
    await store.get('backups', 'count/a');
    await store.head('backups', 'count/a');
    const s1 = store.stats();
    expect(s1.requestsTotal - s0.requestsTotal).toBe(3);
    expect(s1.requestsLastHour - s0.requestsLastHour).toBe(3);
    const sp0 = s0.spaces.find((s) => s.bucket === names.backupsBucket)!;
    const sp1 = s1.spaces.find((s) => s.bucket === names.backupsBucket)!;
    expect(sp1.requestsLastHour - sp0.requestsLastHour).toBe(3);
    expect(s1.hourlyLimit).toBe(10000);
    // Presigning sends nothing.
    await store.presign('backups', 'count/a', 60);
    expect(store.stats().requestsTotal).toBe(s1.requestsTotal);
  });

  it('works in virtual-hosted style against the local gateway', async () => {
    const port = new URL(env.endpoint).port;
    const vh = createS3BlobStore(connFor(env, names, { endpoint: `http://${env.dnsName}:${port}`, forcePathStyle: false }));
    try {
      await vh.put('json', 'vhost/a', enc('virtual'));
      expect(dec(await vh.get('json', 'vhost/a'))).toBe('virtual');
      // The path-style store sees the same object: the bucket really came from the Host header.
      expect(dec(await store.get('json', 'vhost/a'))).toBe('virtual');
      const url = await vh.presign('json', 'vhost/a', 60);
      expect(new URL(url).hostname).toBe(`${names.jsonBucket}.${env.dnsName}`);
      const r = await fetchUrl(url);
      expect(r.status).toBe(200);
      expect(r.body.toString()).toBe('virtual');
      expect((await collect(vh.list('json', 'vhost/'))).map((e) => e.key)).toEqual(['vhost/a']);
    } finally {
      await vh.close();
    }
  });

  it("a wrong secret gives the guide's access-denied error, without the secret", async () => {
    const wrongSecret = 'WRONG-secret-key-0123456789-abcdefghijkl';
    const bad = createS3BlobStore(connFor(env, names, { secretKey: wrongSecret, maxAttempts: 1 }));
    try {
      const errors: unknown[] = [];
      for (const op of [() => bad.put('json', 'x', enc('x')), () => bad.get('json', 'x'), () => bad.head('json', 'x'), () => collect(bad.list('json', ''))]) {
        const e = await op().then(
          () => null,
          (err: unknown) => err,
        );
        errors.push(e);
        expect(e).toBeInstanceOf(StorageError);
        expect((e as Error).message).toBe(`Access denied to bucket '${names.jsonBucket}'`);
      }
      const badKey = createS3BlobStore(connFor(env, names, { accessKey: 'NOSUCHACCESSKEY12345', maxAttempts: 1 }));
      const e2 = await badKey.put('content', 'x', enc('x')).catch((e: unknown) => e);
      await badKey.close();
      expect((e2 as Error).message).toBe(`Access denied to bucket '${names.contentBucket}'`);
      for (const e of [...errors, e2]) {
        const dump = `${inspect(e, { depth: 10 })} ${JSON.stringify(e)} ${(e as Error).stack}`;
        expect(dump).not.toContain(wrongSecret);
        expect(dump).not.toContain(env.secretKey);
      }
    } finally {
      await bad.close();
    }
  });

  it("a missing bucket gives the guide's missing-bucket error", async () => {
    const missing = bucketNames('missing');
    const s = createS3BlobStore(connFor(env, missing));
    try {
      for (const op of [() => s.put('json', 'x', enc('x')), () => s.get('json', 'x'), () => s.head('json', 'x'), () => collect(s.list('json', ''))]) {
        const e = await op().then(
          () => null,
          (err: unknown) => err,
        );
        expect(e).toBeInstanceOf(StorageError);
        expect((e as Error).message).toBe(`Bucket '${missing.jsonBucket}' does not exist`);
      }
      const e = await s.put('content', 'x', enc('x'), { ifNoneMatch: true }).catch((err: unknown) => err);
      expect((e as Error).message).toBe(`Bucket '${missing.jsonBucket}' does not exist`); // the probe runs on the json bucket first
    } finally {
      await s.close();
    }
  });

  it('describes the connection without the secret', () => {
    const d = store.describe();
    expect(d.buckets).toEqual({ json: names.jsonBucket, content: names.contentBucket, backups: names.backupsBucket });
    expect(JSON.stringify(d)).not.toContain(env.secretKey);
    expect(JSON.stringify(d)).not.toContain(env.accessKey);
    expect(d.accessKey).toBe(`${env.accessKey.slice(0, 4)}…${env.accessKey.slice(-4)}`);
  });

  it('fails every call after close', async () => {
    const s = createS3BlobStore(connFor(env, names));
    await s.close();
    await expect(s.get('json', 'crud/x')).rejects.toBeInstanceOf(StorageError);
  });
});
