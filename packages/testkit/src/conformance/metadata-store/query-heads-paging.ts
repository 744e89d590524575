/** queryHeads results: deleted heads, whole heads, keyset pagination by itemId, newest version only. */
import { compileFilter } from '@chronos-db/core';
import { expect } from '../../assert.js';
import { clean } from '../helpers.js';
import type { MetaSuite } from './context.js';
import { DELETED, ids, metas, oracle, queryFixture } from './query-heads-fixture.js';

export function queryHeadsPagingTests(s: MetaSuite): void {
  const { t, store, ns, create, next } = s;
  t.describe('queryHeads paging', () => {
    const q = queryFixture(s);
    const { run } = q;
    t.it('excludes deleted heads unless includeDeleted', async () => {
      expect(await run({ s: 'kiwi' })).toEqual([]);
      expect(await run({ s: 'kiwi' }, true)).toEqual([ids[DELETED]]);
      const all = await store.queryHeads(q.qn, { limit: 1000, includeDeleted: true });
      expect(all).toHaveLength(metas.length);
      const del = all.find((h) => h.itemId === ids[DELETED]);
      expect(del!.deleted).toBe(true);
      expect(del!.ov).toBe(1);
    });

    t.it('returns whole heads', async () => {
      const heads = await store.queryHeads(q.qn, { limit: 1, filter: compileFilter({ s: 'cherry' })! });
      expect(heads).toHaveLength(1);
      expect(clean(heads[0]!)).toEqual(clean((await store.getHead(q.qn, heads[0]!.itemId))!));
      expect(heads[0]!.metaIndexed).toEqual(metas[2]);
    });

    t.it('paginates by itemId with afterId, limit and dir', async () => {
      const live = ids.filter((_, i) => i !== DELETED);
      expect((await store.queryHeads(q.qn, { limit: 1000 })).map((h) => h.itemId)).toEqual(live);
      expect((await store.queryHeads(q.qn, { limit: 1000, dir: -1 })).map((h) => h.itemId)).toEqual([...live].reverse());
      expect((await store.queryHeads(q.qn, { limit: 3 })).map((h) => h.itemId)).toEqual(live.slice(0, 3));
      expect((await store.queryHeads(q.qn, { limit: 3, afterId: ids[4]! })).map((h) => h.itemId)).toEqual(live.slice(5, 8));
      expect((await store.queryHeads(q.qn, { limit: 3, afterId: ids[4]!, dir: -1 })).map((h) => h.itemId)).toEqual([ids[3], ids[2], ids[1]]);
      expect((await store.queryHeads(q.qn, { limit: 3, afterId: 'q04x' })).map((h) => h.itemId)).toEqual(live.slice(5, 8));
      expect((await store.queryHeads(q.qn, { limit: 3, afterId: ids[0]!, dir: -1 })).map((h) => h.itemId)).toEqual([]);
      expect((await store.queryHeads(q.qn, { limit: 3, afterId: 'zzz' })).map((h) => h.itemId)).toEqual([]);
      for (const dir of [1, -1] as const) {
        for (const filter of [undefined, { n: { $gte: 1 } }, { b: { $exists: true } }]) {
          const node = compileFilter(filter);
          const expected = oracle(filter ?? {});
          if (dir === -1) expected.reverse();
          const seen: string[] = [];
          let afterId: string | undefined;
          for (let guard = 0; guard < 100; guard++) {
            const page = await store.queryHeads(q.qn, { limit: 2, dir, ...(node ? { filter: node } : {}), ...(afterId ? { afterId } : {}) });
            expect(page.length).toBeLessThanOrEqual(2);
            if (page.length === 0) break;
            seen.push(...page.map((h) => h.itemId));
            afterId = page[page.length - 1]!.itemId;
          }
          expect(seen).toEqual(expected);
        }
      }
    });

    t.it('sees the newest version of each record only', async () => {
      const n = await ns();
      await create(n, 'a', { metaIndexed: { v: 'old' } });
      await next(n, 'a', 0, { metaIndexed: { v: 'new' } });
      expect((await store.queryHeads(n, { limit: 10, filter: compileFilter({ v: 'old' })! })).map((h) => h.itemId)).toEqual([]);
      const hits = await store.queryHeads(n, { limit: 10, filter: compileFilter({ v: 'new' })! });
      expect(hits.map((h) => [h.itemId, h.ov])).toEqual([['a', 1]]);
    });
  });
}
