/** Helpers of the fallback queue tests: fill a queue while MongoDB is down, wait for a drain, check the versions. */
import { CollectionEngine, StorageError, isQueuedWrite, type MetadataStore, type QueuedWrite } from '@chronos-db/core';
import { createLocalBlobStore, createLocalMetadataStore, createLocalQueueStore } from '@chronos-db/storage-local';
import { createMongoMetadataStore } from '@chronos-db/storage-mongo';
import { initChronos, type ChronosConfig } from 'chronos-db';
import { freePort } from './servers';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One acknowledged queued write. */
export interface Acked {
  id: string;
  requestId: string;
}

/**
 * Queues `records` creates and `updatesPer` updates each through an instance whose MongoDB
 * refuses connections (a closed port), then shuts it down. `config(uri)` must keep the same
 * backend key, fallback settings and queue for every uri. `timeoutMs`: how long a create waits
 * for the closed port (a queue on a MongoDB needs more). Returns the writes in order.
 */
export async function fillQueue(
  config: (mongoUri: string) => ChronosConfig,
  collection: string,
  records: number,
  updatesPer: number,
  timeoutMs = 150,
): Promise<Acked[]> {
  const down = initChronos({ ...config(`mongodb://127.0.0.1:${await freePort()}/`), operationTimeoutMs: timeoutMs, logging: { level: 'error' } });
  const col = down.with({ key: 'rt', collection });
  const acked: Acked[] = [];
  try {
    for (let i = 0; i < records; i++) {
      const c = await col.create({ i, n: 0 });
      if (!('queued' in c)) throw new Error('a create was committed while MongoDB was down');
      acked.push({ id: c.id, requestId: c.requestId });
      for (let n = 1; n <= updatesPer; n++) {
        const u = await col.update(c.id, { i, n });
        if (!('queued' in u)) throw new Error('an update was committed while MongoDB was down');
        acked.push({ id: c.id, requestId: u.requestId });
      }
    }
  } finally {
    await down.admin.shutdown();
  }
  return acked;
}

/** Polls the queue until nothing is pending or claimed (at most `tries` x 100 ms); returns the last stats. */
export async function drained(stats: () => Promise<{ pending: number; claimed: number; dead: number }>, tries = 1800) {
  let s = await stats();
  for (let i = 0; i < tries && s.pending + s.claimed > 0; i++) {
    await sleep(100);
    s = await stats();
  }
  return s;
}

/**
 * Every acknowledged write is exactly one version, in the order it was made, chains gapless
 * from 0, no requestId on two versions. Returns the number of versions read.
 */
export async function expectAppliedOnce(mongoUri: string, ns: { dbName: string; collection: string }, acked: Acked[]): Promise<number> {
  const meta = createMongoMetadataStore({ uri: mongoUri });
  try {
    return await expectAppliedOnceOn(meta, ns, acked);
  } finally {
    await meta.close();
  }
}

async function expectAppliedOnceOn(meta: MetadataStore, ns: { dbName: string; collection: string }, acked: Acked[]): Promise<number> {
  const seen = new Set<string>();
  let versions = 0;
  for (const id of [...new Set(acked.map((a) => a.id))]) {
    const vs = await meta.listVersions(ns, id, { limit: 1000 });
    versions += vs.length;
    expect(vs.map((v) => v.ov)).toEqual(vs.map((_, i) => i));
    expect(vs.map((v) => v.requestId)).toEqual(acked.filter((a) => a.id === id).map((a) => a.requestId));
    for (const v of vs) {
      expect(seen.has(v.requestId!)).toBe(false);
      seen.add(v.requestId!);
    }
  }
  expect(versions).toBe(acked.length);
  return versions;
}

/**
 * Queues `records` creates and `updatesPer` updates each for the embedded default
 * (`localStorage.basePath`, backend 'local') in the journal at `localPath`, through an engine
 * whose metadata store fails its commits as an unreachable MongoDB would (a fault-injection
 * wrapper around the real SQLite store). Returns the writes in order.
 */
export async function fillEmbeddedQueue(
  basePath: string,
  localPath: string,
  ns: { dbName: string; collection: string },
  records: number,
  updatesPer: number,
): Promise<Acked[]> {
  const real = createLocalMetadataStore({ basePath });
  const blobs = createLocalBlobStore({ basePath });
  const queue = createLocalQueueStore({ path: localPath });
  const down: MetadataStore = Object.assign(Object.create(real) as MetadataStore, {
    async commit() {
      throw new StorageError('MongoDB commit failed: connection refused (test fault)', {}, { retriable: true });
    },
  });
  const filler = new CollectionEngine<QueuedWrite>({ ns, meta: down, blobs, fallback: { queue, route: { key: 'local', storage: 'local' } } });
  const acked: Acked[] = [];
  try {
    for (let i = 0; i < records; i++) {
      const c = await filler.create({ i, n: 0 });
      if (!isQueuedWrite(c)) throw new Error('a create was not queued');
      acked.push({ id: c.id, requestId: c.requestId });
      for (let n = 1; n <= updatesPer; n++) {
        const u = await filler.update(c.id, { i, n });
        if (!isQueuedWrite(u)) throw new Error('an update was not queued');
        acked.push({ id: c.id, requestId: u.requestId });
      }
    }
  } finally {
    await queue.close();
    await real.close();
    await blobs.close();
  }
  return acked;
}

/** expectAppliedOnce on the embedded default's metadata store. */
export async function expectAppliedOnceLocal(basePath: string, ns: { dbName: string; collection: string }, acked: Acked[]): Promise<number> {
  const meta = createLocalMetadataStore({ basePath });
  try {
    return await expectAppliedOnceOn(meta, ns, acked);
  } finally {
    await meta.close();
  }
}
