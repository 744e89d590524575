/** listVersions: one record's versions in ov order, paged with afterOv and limit. */
import { expect } from '../../assert.js';
import { clean } from '../helpers.js';
import type { MetaSuite } from './context.js';

export function listVersionsTests(s: MetaSuite): void {
  const { t, store, ns, chain } = s;
  t.describe('listVersions', () => {
    t.it('lists in ov order with afterOv and limit', async () => {
      const n = await ns();
      const a = await chain(n, 'A', 7);
      await chain(n, 'B', 3);
      expect((await store.listVersions(n, 'A')).map(clean)).toEqual(a.map(clean));
      expect((await store.listVersions(n, 'A', { afterOv: 2 })).map((v) => v.ov)).toEqual([3, 4, 5, 6]);
      expect((await store.listVersions(n, 'A', { limit: 3 })).map((v) => v.ov)).toEqual([0, 1, 2]);
      expect((await store.listVersions(n, 'A', { afterOv: 1, limit: 2 })).map((v) => v.ov)).toEqual([2, 3]);
      expect((await store.listVersions(n, 'A', { afterOv: 6 })).map((v) => v.ov)).toEqual([]);
      expect((await store.listVersions(n, 'A', { afterOv: 100 })).map((v) => v.ov)).toEqual([]);
      expect((await store.listVersions(n, 'B')).map((v) => v.itemId)).toEqual(['B', 'B', 'B']);
      // paging through with afterOv covers every version once
      const seen: number[] = [];
      let after: number | undefined;
      for (;;) {
        const page = await store.listVersions(n, 'A', { limit: 2, ...(after !== undefined ? { afterOv: after } : {}) });
        if (page.length === 0) break;
        seen.push(...page.map((v) => v.ov));
        after = page[page.length - 1]!.ov;
      }
      expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6]);
    });
  });
}
