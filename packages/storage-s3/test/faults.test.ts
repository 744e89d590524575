/**
 * RELIABILITY.md T3: S3 answers 500 / 503 SlowDown / resets / hangs. Every call
 * ends in a typed StorageError within its deadline, after a bounded number of
 * attempts, with no secret in the error.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { NotFoundError, StorageError } from '@chronos-db/core';
import { createS3BlobStore, type S3BlobStore } from '@chronos-db/storage-s3';
import { inspect } from 'node:util';
import { startFaultProxy, type FaultMode, type FaultProxy } from './helpers/fault-proxy.js';
import { bucketNames, connFor, createBuckets, describeS3, dropBuckets, oracleClient } from './helpers/env.js';

const enc = (s: string) => new TextEncoder().encode(s);

describeS3('S3BlobStore under injected faults (T3)', (env) => {
  const names = bucketNames('fault');
  const all = [names.jsonBucket, names.contentBucket, names.backupsBucket];
  const MAX_ATTEMPTS = 3;
  const REQUEST_TIMEOUT_MS = 1000;
  // The store's whole-call deadline: every attempt may use its timeout, plus backoff.
  const DEADLINE_MS = MAX_ATTEMPTS * REQUEST_TIMEOUT_MS + MAX_ATTEMPTS * 2000;
  let oracle: { client: S3Client; destroy: () => void };
  let proxy: FaultProxy;
  let store: S3BlobStore;

  beforeAll(async () => {
    oracle = oracleClient(env);
    await createBuckets(oracle.client, all);
    const u = new URL(env.endpoint);
    proxy = await startFaultProxy(u.hostname, Number(u.port || 80));
    store = createS3BlobStore(
      connFor(env, names, { endpoint: proxy.url, maxAttempts: MAX_ATTEMPTS, requestTimeoutMs: REQUEST_TIMEOUT_MS, maxConnections: 4, conditionalWrite: true }),
    );
  });

  afterAll(async () => {
    await store?.close();
    await proxy?.close();
    if (oracle) {
      await dropBuckets(oracle.client, all);
      oracle.destroy();
    }
  });

  it('passes traffic through when there is no fault', async () => {
    proxy.mode = 'pass';
    await store.put('json', 'ok/a', enc('through the proxy'));
    expect(new TextDecoder().decode(await store.get('json', 'ok/a'))).toBe('through the proxy');
    await expect(store.get('json', 'ok/missing')).rejects.toBeInstanceOf(NotFoundError);
  });

  const cases: Array<{ mode: FaultMode; code: RegExp }> = [
    { mode: '500', code: /InternalError|HTTP 500/ },
    { mode: '503', code: /SlowDown|HTTP 503/ },
    { mode: 'reset', code: /ECONNRESET|socket hang up|EPIPE/ },
    { mode: 'hang', code: /Timeout|timed out/i },
  ];

  for (const { mode, code } of cases) {
    it(`${mode}: a typed StorageError within the deadline after ${MAX_ATTEMPTS} attempts`, async () => {
      proxy.mode = mode;
      for (const op of ['put', 'get', 'head'] as const) {
        proxy.resetCounters();
        const t0 = Date.now();
        const call = op === 'put' ? store.put('json', `f/${mode}`, enc('x')) : op === 'get' ? store.get('json', 'ok/a') : store.head('json', 'ok/a');
        const err = await call.then(
          () => null,
          (e: unknown) => e,
        );
        const elapsed = Date.now() - t0;
        expect(err).toBeInstanceOf(StorageError);
        expect((err as StorageError).code).toBe('STORAGE');
        expect((err as StorageError).statusCode).toBe(502);
        expect((err as Error).message).toMatch(/S3 (put|get|head) /);
        expect(`${(err as Error).message} ${JSON.stringify((err as StorageError).details)}`).toMatch(code);
        // Bounded retries: the SDK's standard mode tried exactly maxAttempts times.
        expect(proxy.requests).toBe(MAX_ATTEMPTS);
        // Within the deadline (the store enforces it with an abort signal; the margin covers event-loop slack only).
        expect(elapsed).toBeLessThan(DEADLINE_MS + 1000);
        const dump = `${inspect(err, { depth: 10 })} ${JSON.stringify(err)}`;
        expect(dump).not.toContain(env.secretKey);
      }
    });
  }

  it('recovers once the fault is gone', async () => {
    proxy.mode = 'pass';
    await store.put('json', 'ok/b', enc('again'));
    expect(new TextDecoder().decode(await store.get('json', 'ok/b'))).toBe('again');
  });

  it('a fault that clears within the retry budget is retried to success', async () => {
    // One 503 then pass: the SDK retries and the call succeeds.
    proxy.mode = '503';
    proxy.resetCounters();
    const p = store.put('json', 'ok/retried', enc('retried'));
    const flip = setInterval(() => {
      if (proxy.requests >= 1) {
        proxy.mode = 'pass';
        clearInterval(flip);
      }
    }, 1);
    await p;
    clearInterval(flip);
    expect(proxy.requests).toBeGreaterThanOrEqual(2);
    expect(new TextDecoder().decode(await store.get('json', 'ok/retried'))).toBe('retried');
  });
});
