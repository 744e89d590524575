/** findHeadsByState (optional): live heads of one state last updated at or before a cutoff, keyset by (at, itemId). */
import type { HeadDoc, ItemState } from '@chronos-db/core';
import { expect } from '../../assert.js';
import { expectCode, VALIDATION } from '../helpers.js';
import type { MetaSuite } from './context.js';

const T0 = 1_700_000_000_000;

export function headsByStateTests(s: MetaSuite): void {
  const { t, store, ns, create, next, opts } = s;
  const offered = !!opts.headsByState;
  const reason = 'findHeadsByState not offered (option headsByState: false)';
  t.describe('findHeadsByState', () => {
    t.itIf(offered, reason, 'returns the live heads of one state with at <= the cutoff, in (at, itemId) order, page by page', async () => {
      const find = store.findHeadsByState!;
      const n = await ns();
      const expected: Array<{ at: number; itemId: string }> = [];
      // 40 records: states cycle new / processed / new-not-synched, times in 8 steps (ties on at), every 7th deleted
      for (let i = 0; i < 40; i++) {
        const id = `r${String((i * 13) % 40).padStart(2, '0')}`;
        const state: ItemState = (['new', 'processed', 'new-not-synched'] as const)[i % 3]!;
        const at = T0 + (i % 8) * 1000;
        await create(n, id, { at }, { state });
        const deleted = i % 7 === 0;
        if (deleted) await next(n, id, 0, { at, deleted: true, op: 'DELETE' });
        if (state === 'new' && !deleted && at <= T0 + 5000) expected.push({ at, itemId: id });
      }
      expected.sort((a, b) => a.at - b.at || (a.itemId < b.itemId ? -1 : 1));
      const all = await find(n, { state: 'new', atOrBefore: T0 + 5000, limit: 1000 });
      expect(all.map((h) => ({ at: h.at, itemId: h.itemId }))).toEqual(expected);
      expect(all.every((h) => h.state === 'new' && !h.deleted)).toBe(true);
      // pages of 3 resumed by keyset give the same list, ties on `at` included
      const paged: HeadDoc[] = [];
      let after: { at: number; itemId: string } | undefined;
      for (;;) {
        const page = await find(n, { state: 'new', atOrBefore: T0 + 5000, limit: 3, ...(after ? { after } : {}) });
        paged.push(...page);
        if (page.length < 3) break;
        after = { at: page[2]!.at, itemId: page[2]!.itemId };
      }
      expect(paged.map((h) => h.itemId)).toEqual(expected.map((e) => e.itemId));
      // another state, and an inclusive cutoff
      const nns = await find(n, { state: 'new-not-synched', atOrBefore: T0, limit: 1000 });
      expect(nns.every((h) => h.state === 'new-not-synched' && h.at === T0 && !h.deleted)).toBe(true);
      expect(nns.length).toBeGreaterThan(0);
      expect(await find(n, { state: 'new', atOrBefore: T0 - 1, limit: 10 })).toEqual([]);
    });

    t.itIf(offered, reason, 'follows setState and updates: a processed or recently updated head leaves the result', async () => {
      const find = store.findHeadsByState!;
      const n = await ns();
      await create(n, 'a', { at: T0 }, { state: 'new' });
      await create(n, 'b', { at: T0 }, { state: 'new' });
      await create(n, 'c', { at: T0 }, { state: 'new' });
      expect((await find(n, { state: 'new', atOrBefore: T0, limit: 10 })).map((h) => h.itemId)).toEqual(['a', 'b', 'c']);
      expect(await store.setState(n, 'a', 'processed')).toBe(true);
      await next(n, 'b', 0, { at: T0 + 10_000 });
      expect((await find(n, { state: 'new', atOrBefore: T0, limit: 10 })).map((h) => h.itemId)).toEqual(['c']);
      expect((await find(n, { state: 'processed', atOrBefore: T0, limit: 10 })).map((h) => h.itemId)).toEqual(['a']);
      expect((await find(n, { state: 'new', atOrBefore: T0 + 10_000, limit: 10 })).map((h) => h.itemId)).toEqual(['c', 'b']);
    });

    t.itIf(offered, reason, 'refuses bad input with a ValidationError', async () => {
      const find = store.findHeadsByState!;
      const n = await ns();
      const bad: unknown[] = [
        null,
        { state: 'stale', atOrBefore: T0, limit: 10 },
        { state: 'new', atOrBefore: Number.NaN, limit: 10 },
        { state: 'new', atOrBefore: T0, limit: 0 },
        { state: 'new', atOrBefore: T0, limit: 10, after: { at: T0 } },
      ];
      for (const q of bad) await expectCode(find(n, q as never), VALIDATION);
    });
  });
}
