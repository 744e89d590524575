/**
 * Erasure and the fallback queue, on the embedded store (the SQLite journal under basePath) and
 * on FerretDB + Ceph (the queue in a MongoDB database):
 * hardDelete removes the record's queued and dead-lettered ops, and no byte of them is left in
 * any file under basePath (the journal and its write-ahead log included); a write for the
 * record queued after the tombstone is refused at replay and dead-lettered without its content.
 * The outage is a fault-injection wrapper around the real SQLite store (commits, then reads,
 * fail as retriable).
 */
import { StorageError, initChronos, type ChronosConfig } from 'chronos-db';
import { SqliteMetadataStore } from '@chronos-db/storage-local';
import { Collection, MongoNetworkError } from 'mongodb';
import { COLLECTION, erasureCollectionMap, markersOf, recordData } from './helpers/erasure-scenario';
import { scanFiles, scanMongo, scanS3 } from './helpers/raw-scan';
import { buckets, createBuckets, describeServers, rnd } from './helpers/servers';
import { tmpDirs } from '../../storage-local/test/helpers/tmp-dirs';

const tmp = tmpDirs('chronos-erase-queue-');

/**
 * The outage: commits (and, with `reads`, head reads) of the real store fail as retriable while it
 * lasts. Installed before the instance's first call (its store wrapper keeps the methods it saw first).
 */
function outage() {
  const commit = SqliteMetadataStore.prototype.commit;
  const getHead = SqliteMetadataStore.prototype.getHead;
  let state: 'up' | 'commits' | 'all' = 'up';
  const down = () => Promise.reject(new StorageError('injected outage', { reason: 'test' }, { retriable: true }));
  SqliteMetadataStore.prototype.commit = function (this: SqliteMetadataStore, ...a: Parameters<typeof commit>) {
    return state === 'up' ? commit.apply(this, a) : down();
  };
  SqliteMetadataStore.prototype.getHead = function (this: SqliteMetadataStore, ...a: Parameters<typeof getHead>) {
    return state === 'all' ? down() : getHead.apply(this, a);
  };
  return {
    start(reads = false) {
      state = reads ? 'all' : 'commits';
    },
    end() {
      state = 'up';
    },
    restore() {
      SqliteMetadataStore.prototype.commit = commit;
      SqliteMetadataStore.prototype.getHead = getHead;
    },
  };
}

const until = async (what: string, ok: () => Promise<boolean>) => {
  for (let i = 0; i < 400; i++) {
    if (await ok()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
};

describe('erasure and the fallback queue on the embedded store', () => {
  it("hardDelete removes the record's pending and dead ops (no byte left under basePath); a write queued after it is dead-lettered without content", async () => {
    const basePath = tmp();
    const config = {
      localStorage: { enabled: true, basePath },
      fallback: { enabled: true, maxAttempts: 1, baseDelayMs: 10, maxDelayMs: 20, deadLetterCollection: 'dead' },
      ...erasureCollectionMap(),
      logging: { level: 'error' },
    } as ChronosConfig;
    const ctx = { key: 'local', collection: COLLECTION };
    const a = markersOf('QA');
    const b = markersOf('QB');
    const late = markersOf('QL');
    const out = outage();
    const chronos = initChronos(config);
    try {
      const col = chronos.with(ctx);
      const { id } = (await col.create(recordData(a, 0))) as { id: string };
      const { id: idB } = (await col.create(recordData(b, 0))) as { id: string };
      await col.update(id, recordData(a, 1));

      // during an outage: one op of A dead-lettered (one attempt allowed), then one pending, and one of B
      out.start();
      expect(await col.update(id, recordData(a, 2))).toMatchObject({ queued: true });
      chronos.fallback.startWorker({ pollMs: 10 });
      await until('the dead letter', async () => (await chronos.fallback.getQueueStats()).dead === 1);
      await chronos.fallback.stopWorker();
      expect(await col.update(id, recordData(a, 3))).toMatchObject({ queued: true });
      expect(await col.update(idB, recordData(b, 1))).toMatchObject({ queued: true });
      out.end();
      expect(await chronos.fallback.getQueueStats()).toMatchObject({ pending: 2, dead: 1 });

      const r = await chronos.admin.hardDelete(ctx, id, { confirm: true, actor: 'dpo' });
      expect(r).toMatchObject({ queuedOpsDeleted: 2, scrubbed: true });
      expect(await chronos.fallback.getQueueStats()).toMatchObject({ pending: 1, dead: 0 });
      const after = scanFiles(basePath, [...Object.values(a), b.data, b.meta]);
      expect({ a: [after[a.data], after[a.meta], after[a.blob]], b: after[b.data]!.some((f) => f.includes('queue')) && after[b.meta]!.length > 0 }).toEqual({
        a: [[], [], []],
        b: true,
      });

      // a write for A queued after the tombstone (the store unreachable, so nothing could check): refused at replay
      out.start(true);
      const queued = await col.update(id, recordData(late, 4));
      expect(queued).toMatchObject({ queued: true });
      out.end();
      chronos.fallback.startWorker({ pollMs: 10 });
      await until('the queue to drain', async () => (await chronos.fallback.getQueueStats()).pending === 0);
      await chronos.fallback.stopWorker();
      const dead = await chronos.fallback.getDeadLetterOps();
      expect(dead).toEqual([
        expect.objectContaining({
          requestId: (queued as { requestId: string }).requestId,
          body: { v: 1, kind: 'update', route: { key: 'local', storage: 'local' }, ns: expect.any(Object), id, requestId: expect.any(String), erased: true },
          lastError: expect.objectContaining({ code: 'NOT_FOUND' }),
        }),
      ]);
      expect(await col.getLatest(id)).toBeNull();
      expect(await col.getLatest(idB)).toMatchObject({ v: 1 }); // B's queued write applied
    } finally {
      out.restore();
      await chronos.admin.shutdown();
    }
    const found = scanFiles(basePath, [...Object.values(a), ...Object.values(late), b.data]);
    expect({
      a: [found[a.data], found[a.meta], found[a.blob]],
      late: [found[late.data], found[late.meta], found[late.blob]],
      b: found[b.data]!.length > 0,
    }).toEqual({
      a: [[], [], []],
      late: [[], [], []],
      b: true,
    });
  }, 120_000);
});

describeServers('erasure and the fallback queue on FerretDB + Ceph (the queue in MongoDB)', (env) => {
  const names = buckets('equeue');
  beforeAll(() => createBuckets(env, names));

  it("hardDelete removes the record's pending and dead ops from the MongoDB queue, and the payloads they had PUT (raw scans)", async () => {
    const r = rnd();
    const dbName = `equeue_${r}`;
    const queueDb = `equeue_q_${r}`;
    // the queue's "server": the same FerretDB under another URI
    const queueUri = new URL(env.mongoUrl);
    queueUri.searchParams.set('appName', `equeue-${r}`);
    const config = {
      databases: { runtime: { generic: { key: 'rt', mongoUri: env.mongoUrl, dbName } } },
      spacesConns: [{ endpoint: env.s3Endpoint, region: 'us-east-1', accessKey: env.accessKey, secretKey: env.secretKey, forcePathStyle: true, ...names }],
      fallback: {
        enabled: true,
        maxAttempts: 1,
        baseDelayMs: 10,
        maxDelayMs: 20,
        deadLetterCollection: 'dead',
        mongoUri: queueUri.toString(),
        dbName: queueDb,
      },
      ...erasureCollectionMap(),
      logging: { level: 'error' },
    } as ChronosConfig;
    const ctx = { key: 'rt', collection: COLLECTION };
    const a = markersOf(`MQA${r}`);
    const b = markersOf(`MQB${r}`);
    // the outage: the backend's version inserts fail as a network error would
    const insertOne = Collection.prototype.insertOne;
    let state: 'up' | 'commits' = 'up';
    const isBackend = (c: InstanceType<typeof Collection>) => c.dbName === dbName;
    Collection.prototype.insertOne = function (this: InstanceType<typeof Collection>, ...x: unknown[]) {
      if (state !== 'up' && isBackend(this) && this.collectionName.endsWith('_ver')) return Promise.reject(new MongoNetworkError('injected outage'));
      return (insertOne as (...y: unknown[]) => unknown).apply(this, x);
    } as typeof insertOne;
    const chronos = initChronos(config);
    try {
      const col = chronos.with(ctx);
      const { id } = (await col.create(recordData(a, 0))) as { id: string };
      const { id: idB } = (await col.create(recordData(b, 0))) as { id: string };
      state = 'commits';
      expect(await col.update(id, recordData(a, 1))).toMatchObject({ queued: true });
      chronos.fallback.startWorker({ pollMs: 20 });
      await until('the dead letter', async () => (await chronos.fallback.getQueueStats()).dead === 1);
      await chronos.fallback.stopWorker();
      expect(await col.update(id, recordData(a, 2))).toMatchObject({ queued: true });
      expect(await col.update(idB, recordData(b, 1))).toMatchObject({ queued: true });
      state = 'up';
      expect(await chronos.admin.hardDelete(ctx, id, { confirm: true, actor: 'dpo' })).toMatchObject({ queuedOpsDeleted: 2 });
      const q = await scanMongo(env.mongoUrl, queueDb, [a.data, a.meta, b.data]);
      expect({ a: [q[a.data], q[a.meta]], b: q[b.data]!.length > 0 }).toEqual({ a: [[], []], b: true });

      // (a write queued after the tombstone: refused at replay, tested on the embedded store; deadLetter's body on MongoDB: conformance)
      expect(await col.getLatest(idB)).toMatchObject({ v: 0 }); // B's write still queued
    } finally {
      state = 'up';
      Collection.prototype.insertOne = insertOne;
      await chronos.admin.shutdown();
    }
    const all = Object.values(a);
    const mongo = { ...(await scanMongo(env.mongoUrl, queueDb, all)) };
    const backend = await scanMongo(env.mongoUrl, dbName, all);
    const s3 = await scanS3(env, [names.jsonBucket, names.contentBucket], all);
    for (const m of all) expect({ m, queue: mongo[m], backend: backend[m], s3: s3.found[m] }).toEqual({ m, queue: [], backend: [], s3: [] });
  }, 300_000);
});
