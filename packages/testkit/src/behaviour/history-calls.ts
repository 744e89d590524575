/** History over the adapter pair: history pages, diff, listAsOf and the change feed (issue 16). */
import { NotFoundError, ValidationError } from '@chronos-db/core';
import { expect } from '../assert.js';
import type { BehaviourSuite } from './context.js';

const dataOf = (r: Record<string, unknown> | null) => {
  if (!r) return null;
  const { id: _i, _system: _s, _meta: _m, ...rest } = r;
  return rest;
};

export function historyCallTests(b: BehaviourSuite): void {
  const { t, engine } = b;
  t.describe('history calls', () => {
    t.it('history pages newest first; diff, listAsOf and changes agree with what was written', async () => {
      const e = engine();
      const a = await e.create({ n: 1, tags: ['x'] }, 'alice');
      const u = await e.update(a.id, { n: 2, tags: ['x', 'y'] }, 0, 'bob');
      const other = await e.create({ n: 10 });
      await e.delete(other.id);
      await e.create({ n: 20 }); // born after the point read below
      const h = await e.history(a.id, { limit: 1 });
      expect(h.items.map((x) => x.ov)).toEqual([1]);
      expect((await e.history(a.id, { pageToken: h.pageToken! })).items.map((x) => x.ov)).toEqual([0]);
      await expect(e.history('missing-id')).rejects.toBeInstanceOf(NotFoundError);
      const d = await e.diff(a.id, { ov: 0 });
      expect(d.patch.length).toBeGreaterThan(0);
      expect(d.to.ov).toBe(1);
      expect((await e.diff(a.id, { ov: 1 }, { ov: 1 })).patch).toEqual([]);
      const then = await e.listAsOf({ cv: u.cv });
      expect(then.items.map((r) => dataOf(r))).toEqual([{ n: 2, tags: ['x', 'y'] }]);
      const feed = await e.changes({ afterCv: 0 });
      expect(feed.items.map((c) => [c.op, c.ov])).toEqual([
        ['CREATE', 0],
        ['UPDATE', 1],
        ['CREATE', 0],
        ['DELETE', 1],
        ['CREATE', 0],
      ]);
      expect((await e.changes({ afterCv: feed.nextCv })).items).toEqual([]);
      await expect(e.changes({ afterCv: -1 })).rejects.toBeInstanceOf(ValidationError);
    });
  });
}
