/** The history of one record: create, update, delete, reads of each version; a stale expectedOv writes nothing (I3, I4). */
import { NotFoundError, OptimisticLockError } from '@chronos-db/core';
import { expect } from '../assert.js';
import { assertNoDanglingPointers, snapshotStores } from './oracle.js';
import type { BehaviourSuite } from './context.js';
import { allVersions } from './all-versions.js';

export function historyTests(b: BehaviourSuite): void {
  const { t, stores, engine } = b;
  t.describe('history', () => {
    t.it('create, update, delete and the history of one record', async () => {
      const e = engine();
      const c = await e.create({ email: 'a@example.com', n: 1 }, 'alice', 'signup');
      expect(c.ov).toBe(0);
      expect(c.createdAt).toBeInstanceOf(Date);
      const u = await e.update(c.id, { email: 'b@example.com', n: 2 }, 0, 'bob', 'change');
      expect(u.ov).toBe(1);
      expect(u.cv).toBeGreaterThan(c.cv);
      const latest = await e.getLatest(c.id, { includeMeta: true });
      expect(latest).toMatchObject({ id: c.id, email: 'b@example.com', n: 2, _meta: { ov: 1 } });
      expect(latest!._system.insertedAt).toBe(c.createdAt.toISOString());
      const d = await e.delete(c.id, 1, 'carol', 'gone');
      expect(d.ov).toBe(2);
      expect(await e.getLatest(c.id)).toBeNull();
      const dl = await e.getLatest(c.id, { includeDeleted: true });
      expect(dl!._system.deleted).toBe(true);
      expect((await e.getVersion(c.id, 0))!.email).toBe('a@example.com');
      const h = await allVersions(e, c.id);
      expect(h.map((x) => [x.ov, x.op, x.actor])).toEqual([
        [0, 'CREATE', 'alice'],
        [1, 'UPDATE', 'bob'],
        [2, 'DELETE', 'carol'],
      ]);
      await expect(e.update(c.id, { x: 1 })).rejects.toBeInstanceOf(NotFoundError);
      await expect(e.update('missing-id', { x: 1 })).rejects.toBeInstanceOf(NotFoundError);
      await assertNoDanglingPointers(stores, e.ns, [c.id]);
    });

    t.it('stale expectedOv is an OptimisticLockError and writes nothing to either store', async () => {
      const e = engine();
      const c = await e.create({ v: 0 });
      await e.update(c.id, { v: 1 }, 0);
      const before = await snapshotStores(stores, e.ns);
      await expect(e.update(c.id, { v: 2 }, 0)).rejects.toBeInstanceOf(OptimisticLockError);
      await expect(e.delete(c.id, 0)).rejects.toBeInstanceOf(OptimisticLockError);
      await expect(e.enrich(c.id, { w: 1 }, { expectedOv: 5 })).rejects.toBeInstanceOf(OptimisticLockError);
      expect(await snapshotStores(stores, e.ns)).toEqual(before);
    });
  });
}
