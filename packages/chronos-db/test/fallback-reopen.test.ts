/**
 * A MongoDB that is down when the process starts, then comes up: the driver
 * closes a client whose first connection failed, for good. The stores reopen
 * their shared client (bounded by a backoff), so the metadata store, the Mongo
 * queue store and a fallback worker in the same process carry on once the
 * server answers. Runs on a second FerretDB this test starts and stops.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoTopologyClosedError } from 'mongodb';
import { StorageError, isRetriableStorageError } from '@chronos-db/core';
import { acquireClient, createClient, createMongoMetadataStore, createMongoQueueStore, releaseClient } from '@chronos-db/storage-mongo';
import { initChronos, type ChronosConfig } from 'chronos-db';
import { buckets, createBuckets, describeServers, freePort, startSecondFerret, type SecondFerret } from './helpers/servers';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Retries `fn` (up to `tries` times, 250 ms apart) until it resolves; returns the failures seen before. */
async function eventually<T>(fn: () => Promise<T>, tries = 120): Promise<{ value: T; failures: unknown[] }> {
  const failures: unknown[] = [];
  for (let i = 0; i < tries; i++) {
    try {
      return { value: await fn(), failures };
    } catch (e) {
      failures.push(e);
      await sleep(250);
    }
  }
  throw new Error(`still failing after ${tries} tries: ${String((failures.at(-1) as Error)?.message)}`);
}

describeServers('a MongoDB down at start, up later: clients reopen (second FerretDB)', (env) => {
  const names = buckets('fbr');
  const dir = mkdtempSync(join(tmpdir(), 'chronos-fbr-'));
  let ferret: SecondFerret | undefined;
  beforeAll(() => createBuckets(env, names));
  afterEach(() => {
    ferret?.stop();
    ferret = undefined;
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('the metadata and queue stores reopen a client the driver closed; a plain driver client stays closed', async () => {
    const port = await freePort();
    const url = `mongodb://127.0.0.1:${port}/`;
    const ns = { dbName: 'reopen', collection: 'c' };
    const timeouts = { serverSelectionTimeoutMS: 800, connectTimeoutMS: 800 };
    const plain = createClient(url, timeouts);
    const meta = createMongoMetadataStore({ uri: url, ...timeouts });
    const queue = createMongoQueueStore({ uri: url, dbName: 'reopen_q', ...timeouts });
    const handle = acquireClient(url);
    try {
      // Down: every call fails as retriable (the first connection fails, then the topology is closed).
      await expect(plain.db('x').command({ ping: 1 })).rejects.toThrow();
      for (let i = 0; i < 2; i++) {
        const e = await meta.currentCv(ns).catch((x: unknown) => x);
        expect(e).toBeInstanceOf(StorageError);
        expect(isRetriableStorageError(e)).toBe(true);
        const q = await queue.stats().catch((x: unknown) => x);
        expect(isRetriableStorageError(q)).toBe(true);
      }

      ferret = await startSecondFerret({ port });
      // The driver's own client never recovers: the premise of the reopen.
      await expect(plain.db('x').command({ ping: 1 })).rejects.toBeInstanceOf(MongoTopologyClosedError);

      const cv = await eventually(() => meta.currentCv(ns));
      expect(cv.value).toBe(0);
      for (const e of cv.failures) expect(isRetriableStorageError(e)).toBe(true);
      await eventually(() => queue.stats());
      const op = await queue.enqueue({ orderKey: 'k', requestId: 'r1', body: { a: 1 } });
      expect((await queue.listPending()).map((o) => o.id)).toEqual([op.id]);
      expect(handle.reopened).toBeGreaterThanOrEqual(1);
    } finally {
      await plain.close();
      await meta.close();
      await queue.close();
      await releaseClient(url);
    }
  });

  it('writes queued while MongoDB was down at start are drained by a worker of the same process once it is up', async () => {
    const port = await freePort();
    const url = `mongodb://127.0.0.1:${port}/`;
    const dbName = 'fbr';
    const chronos = initChronos({
      databases: { runtime: { generic: { key: 'rt', mongoUri: url, dbName } } },
      spacesConns: [{ endpoint: env.s3Endpoint, region: 'us-east-1', accessKey: env.accessKey, secretKey: env.secretKey, forcePathStyle: true, ...names }],
      fallback: { enabled: true, maxAttempts: 1000, baseDelayMs: 50, maxDelayMs: 500, deadLetterCollection: 'dead', localPath: join(dir, 'queue') },
      operationTimeoutMs: 800,
      logging: { level: 'error' },
    } satisfies ChronosConfig);
    const col = chronos.with({ key: 'rt', collection: 'orders' });
    try {
      const acked: Array<{ id: string; requestId: string }> = [];
      for (let i = 0; i < 3; i++) {
        const c = await col.create({ i, n: 0 });
        if (!('queued' in c)) throw new Error('a create was committed while MongoDB was down');
        acked.push({ id: c.id, requestId: c.requestId });
        const u = await col.update(c.id, { i, n: 1 });
        if (!('queued' in u)) throw new Error('an update was committed while MongoDB was down');
        acked.push({ id: c.id, requestId: u.requestId });
      }
      chronos.fallback.startWorker({ concurrency: 2, pollMs: 50 });
      await sleep(1000); // the worker fails against the closed client meanwhile
      ferret = await startSecondFerret({ port });
      let stats = await chronos.fallback.getQueueStats();
      for (let i = 0; i < 600 && stats.pending + stats.claimed > 0; i++) {
        await sleep(100);
        stats = await chronos.fallback.getQueueStats();
      }
      await chronos.fallback.stopWorker();
      expect(stats).toMatchObject({ pending: 0, claimed: 0, dead: 0 });
      const meta = createMongoMetadataStore({ uri: url });
      try {
        for (const id of [...new Set(acked.map((a) => a.id))]) {
          const vs = await meta.listVersions({ dbName, collection: 'orders' }, id);
          expect(vs.map((v) => v.ov)).toEqual([0, 1]);
          expect(vs.map((v) => v.requestId)).toEqual(acked.filter((a) => a.id === id).map((a) => a.requestId));
          expect(await col.getLatest(id)).toMatchObject({ n: 1 });
        }
      } finally {
        await meta.close();
      }
    } finally {
      await chronos.admin.shutdown();
    }
  });
});
