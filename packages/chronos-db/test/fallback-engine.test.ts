/**
 * The engine's side of the fallback queue, on the embedded stores with a
 * fault-injection wrapper around the real SQLite MetadataStore (its commit
 * fails as an unreachable MongoDB would: a StorageError marked retriable).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CollectionEngine,
  OptimisticLockError,
  StorageError,
  ValidationError,
  NotFoundError,
  type MetadataStore,
  type QueuedWrite,
  type QueuedWriteBody,
} from '@chronos-db/core';
import { createLocalBlobStore, createLocalMetadataStore, createLocalQueueStore } from '@chronos-db/storage-local';

const ns = { dbName: 'fb', collection: 'items' };

function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'chronos-fb-'));
  const real = createLocalMetadataStore({ basePath: dir });
  const blobs = createLocalBlobStore({ basePath: dir });
  const queue = createLocalQueueStore({ path: join(dir, 'queue') });
  const fault = { down: false, commitThenFail: false, commits: 0 };
  const unreachable = () => new StorageError('MongoDB commit failed: connection refused', {}, { retriable: true });
  const meta: MetadataStore = Object.assign(Object.create(real) as MetadataStore, {
    async commit(input: Parameters<MetadataStore['commit']>[0]) {
      if (fault.down) throw unreachable();
      const r = await real.commit(input);
      fault.commits++;
      if (fault.commitThenFail) throw unreachable(); // applied, but the answer never came back
      return r;
    },
  });
  const engine = new CollectionEngine<QueuedWrite>({ ns, meta, blobs, fallback: { queue, route: { key: 'local', storage: 'local' } } });
  const direct = new CollectionEngine({ ns, meta: real, blobs });
  const drain = async () => {
    const out: Array<{ ok: boolean; error?: unknown }> = [];
    for (;;) {
      const [op] = await queue.claim({ owner: 't', leaseMs: 60_000 });
      if (!op) return out;
      try {
        await engine.applyQueued(op.body as unknown as QueuedWriteBody);
        await queue.complete(op);
        out.push({ ok: true });
      } catch (e) {
        await queue.deadLetter(op, { message: (e as Error).message, code: (e as { code?: string }).code ?? 'x' });
        out.push({ ok: false, error: e });
      }
    }
  };
  return {
    engine,
    direct,
    real,
    blobs,
    queue,
    fault,
    drain,
    close: async () => {
      await queue.close();
      await real.close();
      await blobs.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function jsonKeys(blobs: ReturnType<typeof createLocalBlobStore>): Promise<string[]> {
  const out: string[] = [];
  for await (const e of blobs.list('json', '')) out.push(e.key);
  return out;
}

describe('fallback queue in the engine (fault-injected metadata store)', () => {
  it('a create that cannot commit is queued with the id it will have; the replay reuses its PUT; reads say a version is pending', async () => {
    const s = setup();
    try {
      s.fault.down = true;
      const r = await s.engine.create({ name: 'a' }, 'alice', 'why');
      if (!('queued' in r)) throw new Error('expected a queued write');
      expect(r).toEqual({ queued: true, requestId: expect.any(String), id: expect.any(String) });
      expect('ov' in r).toBe(false);
      const id = r.id;
      expect(await s.direct.getLatest(id)).toBeNull();
      const putBefore = await jsonKeys(s.blobs);
      expect(putBefore).toHaveLength(1);
      // An update of the queued record is queued behind it (per-record order), even once the store is back.
      s.fault.down = false;
      const u = await s.engine.update(id, { name: 'b' });
      expect(u).toMatchObject({ queued: true, id });
      expect(await s.queue.pendingFor(['local', 'local', 'fb', '', 'items', id].join('\u0000'))).toBe(2);
      const results = await s.drain();
      expect(results.map((x) => x.ok)).toEqual([true, true]);
      const latest = await s.engine.getLatest(id, { includeMeta: true, includeQueued: true });
      expect(latest).toMatchObject({ name: 'b', _meta: { ov: 1 } });
      expect(latest!._queued).toBeUndefined();
      const v0 = await s.real.getVersion(ns, id, { ov: 0 });
      expect(v0).toMatchObject({ requestId: r.requestId, actor: 'alice', reason: 'why', jsonKey: putBefore[0] });
      // Replaying again changes nothing (idempotent by requestId).
      const again = await s.engine.applyQueued({
        v: 1,
        kind: 'create',
        route: { key: 'local', storage: 'local' },
        ns,
        id,
        requestId: r.requestId,
        requestHash: v0!.requestHash!,
        data: { name: 'a' },
        acceptedAt: 0,
      });
      expect(again).toMatchObject({ id, ov: 0 });
      expect((await s.real.listVersions(ns, id)).map((v) => v.ov)).toEqual([0, 1]);
    } finally {
      await s.close();
    }
  });

  it('includeQueued says a newer version is pending', async () => {
    const s = setup();
    try {
      const c = await s.engine.create({ n: 1 });
      if ('queued' in c) throw new Error('unexpected queue');
      s.fault.down = true;
      expect(await s.engine.update(c.id, { n: 2 })).toMatchObject({ queued: true });
      const rec = await s.engine.getLatest(c.id, { includeQueued: true });
      expect(rec).toMatchObject({ n: 1, _queued: { pending: 1 } });
      expect((await s.engine.getLatest(c.id))!._queued).toBeUndefined();
      s.fault.down = false;
      await s.drain();
      expect(await s.engine.getLatest(c.id, { includeQueued: true })).toMatchObject({ n: 2 });
    } finally {
      await s.close();
    }
  });

  it('a commit applied but never acknowledged is queued, and its replay returns the original version (no second one)', async () => {
    const s = setup();
    try {
      const c = await s.engine.create({ n: 1 });
      if ('queued' in c) throw new Error('unexpected queue');
      s.fault.commitThenFail = true;
      const u = await s.engine.update(c.id, { n: 2 }, 0);
      expect(u).toMatchObject({ queued: true, id: c.id });
      s.fault.commitThenFail = false;
      expect((await s.drain()).map((x) => x.ok)).toEqual([true]);
      expect((await s.real.listVersions(ns, c.id)).map((v) => v.ov)).toEqual([0, 1]);
    } finally {
      await s.close();
    }
  });

  it('an update queued with expectedOv whose record moved on is dead-lettered with the conflict, never applied', async () => {
    const s = setup();
    try {
      const c = await s.engine.create({ n: 1 });
      if ('queued' in c) throw new Error('unexpected queue');
      s.fault.down = true;
      expect(await s.engine.update(c.id, { n: 'queued' }, 0)).toMatchObject({ queued: true });
      s.fault.down = false;
      await s.direct.update(c.id, { n: 'other writer' }, 0);
      const [res] = await s.drain();
      expect(res!.ok).toBe(false);
      expect(res!.error).toBeInstanceOf(OptimisticLockError);
      expect(await s.direct.getLatest(c.id)).toMatchObject({ n: 'other writer' });
      const dead = await s.queue.listDead();
      expect(dead).toHaveLength(1);
      expect(dead[0]!.lastError.code).toBe('OPTIMISTIC_LOCK');
    } finally {
      await s.close();
    }
  });

  it('permanent errors are thrown as usual and never queued', async () => {
    const s = setup();
    try {
      s.fault.down = true;
      await expect(s.engine.create('nope' as unknown as object)).rejects.toBeInstanceOf(ValidationError);
      await expect(s.engine.update('../x', { a: 1 })).rejects.toBeInstanceOf(ValidationError);
      s.fault.down = false;
      await expect(s.engine.update('missing', { a: 1 })).rejects.toBeInstanceOf(NotFoundError);
      const c = await s.engine.create({ n: 1 });
      if ('queued' in c) throw new Error('unexpected queue');
      await expect(s.engine.update(c.id, { n: 2 }, 5)).rejects.toBeInstanceOf(OptimisticLockError);
      expect(await s.queue.stats()).toMatchObject({ pending: 0, claimed: 0, dead: 0 });
    } finally {
      await s.close();
    }
  });
});
