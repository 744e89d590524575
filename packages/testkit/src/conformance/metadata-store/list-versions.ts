/** listVersions: one record's versions in ov order (or newest first), keyset-paged with afterOv / beforeOv and limit. */
import { expect } from '../../assert.js';
import { clean, expectCode, VALIDATION } from '../helpers.js';
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
    t.it('pages both ways within afterOv / beforeOv (keyset on ov)', async () => {
      const n = await ns();
      await chain(n, 'A', 9);
      const ovs = async (o: Parameters<typeof store.listVersions>[2]) => (await store.listVersions(n, 'A', o)).map((v) => v.ov);
      expect(await ovs({ dir: -1 })).toEqual([8, 7, 6, 5, 4, 3, 2, 1, 0]);
      expect(await ovs({ dir: -1, limit: 3 })).toEqual([8, 7, 6]);
      expect(await ovs({ dir: -1, limit: 3, beforeOv: 6 })).toEqual([5, 4, 3]);
      expect(await ovs({ dir: 1, afterOv: 2, beforeOv: 6 })).toEqual([3, 4, 5]);
      expect(await ovs({ dir: -1, afterOv: 6 })).toEqual([8, 7]);
      expect(await ovs({ beforeOv: 0 })).toEqual([]);
      const seen: number[] = [];
      let before: number | undefined;
      for (;;) {
        const page = await store.listVersions(n, 'A', { dir: -1, limit: 4, ...(before !== undefined ? { beforeOv: before } : {}) });
        if (page.length === 0) break;
        seen.push(...page.map((v) => v.ov));
        before = page[page.length - 1]!.ov;
      }
      expect(seen).toEqual([8, 7, 6, 5, 4, 3, 2, 1, 0]);
      await expectCode(store.listVersions(n, 'A', { dir: 2 as 1 }), VALIDATION);
    });
  });
}
