/** restoreObject and restoreCollection: restores append versions, never rewrite history. */
import { NotFoundError, OptimisticLockError } from '@chronos-db/core';
import { expect } from '../assert.js';
import type { BehaviourSuite } from './context.js';
import { allVersions } from './all-versions.js';

export function restoreTests(b: BehaviourSuite): void {
  const { t, stores, engine, opts } = b;
  t.describe('restore', () => {
    t.it('restoreObject appends a version equal to the target, and brings a deleted record back', async () => {
      const e = engine();
      const c = await e.create({ v: 'zero' });
      await e.update(c.id, { v: 'one' });
      const t1 = Date.now();
      await new Promise((r) => setTimeout(r, 5));
      await e.delete(c.id);
      const r = await e.restoreObject(c.id, { ov: 0 }, { actor: 'ops', reason: 'undo' });
      expect(r.newOv).toBe(3);
      expect(await e.getLatest(c.id)).toMatchObject({ v: 'zero' });
      const r2 = await e.restoreObject(c.id, { at: t1 });
      expect(r2.newOv).toBe(4);
      expect(await e.getLatest(c.id)).toMatchObject({ v: 'one' });
      expect((await allVersions(e, c.id)).map((h) => h.op)).toEqual(['CREATE', 'UPDATE', 'DELETE', 'RESTORE', 'RESTORE']);
      await expect(e.restoreObject(c.id, { ov: 99 })).rejects.toBeInstanceOf(NotFoundError);
      await expect(e.restoreObject(c.id, { ov: 0 }, { expectedHeadOv: 1 })).rejects.toBeInstanceOf(OptimisticLockError);
    });

    t.it('restoreCollection appends versions so the collection is as it was; later records get a delete version', async () => {
      const e = engine({ map: { indexedProps: ['n'] } });
      const n = opts.restoreRecords ?? 60;
      const ids: string[] = [];
      for (let i = 0; i < n; i++) ids.push((await e.create({ n: i, phase: 'before' })).id);
      await e.delete(ids[0]!);
      const cvTarget = await stores.meta.currentCv(e.ns);
      const tTarget = Date.now();
      await new Promise((r) => setTimeout(r, 5));
      for (let i = 1; i < n; i += 2) await e.update(ids[i]!, { n: i, phase: 'after' });
      const born = await e.create({ n: -1, phase: 'after' });
      const progress: number[] = [];
      const dry = await e.restoreCollection({ cv: cvTarget }, { dryRun: true, pageSize: 7 });
      expect(dry.restored).toBe(0);
      expect(dry.planned).toBe(Math.floor(n / 2) + 1);
      expect((await e.getLatest(ids[1]!))!.phase).toBe('after');
      const res = await e.restoreCollection({ at: tTarget }, { pageSize: 7, parallel: 3, onProgress: (p) => progress.push(p.scanned) });
      expect(res.restored).toBe(Math.floor(n / 2) + 1);
      expect(progress.length).toBeGreaterThan(1);
      expect(progress[progress.length - 1]).toBe(n + 1);
      for (let i = 1; i < n; i++) expect((await e.getLatest(ids[i]!))!.phase).toBe('before');
      expect(await e.getLatest(ids[0]!)).toBeNull();
      expect(await e.getLatest(born.id)).toBeNull();
      expect((await e.getLatest(born.id, { includeDeleted: true }))!._system.deleted).toBe(true);
      // nothing rewritten: history kept, restore only appended
      expect((await allVersions(e, ids[1]!)).map((h) => h.op)).toEqual(['CREATE', 'UPDATE', 'RESTORE']);
      const again = await e.restoreCollection({ at: tTarget });
      expect(again.restored).toBe(0);
    });
  });
}
