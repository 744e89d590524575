/** scanHeads (optional): every head in itemId order, in batches, like queryHeads. */
import { compileFilter, type HeadDoc } from '@chronos-db/core';
import { expect } from '../../assert.js';
import { clean, expectCode, VALIDATION } from '../helpers.js';
import type { MetaSuite } from './context.js';

export function scanHeadsTests(s: MetaSuite): void {
  const { t, store, ns, create, next, opts } = s;
  t.describe('scanHeads', () => {
    t.itIf(!!opts.scanHeads, 'scanHeads not offered (option scanHeads: false)', 'every head in itemId order, in batches, like queryHeads', async () => {
      const scanHeads = store.scanHeads!;
      const n = await ns();
      for (let i = 0; i < 130; i++) {
        const id = `s${String((i * 37) % 130).padStart(3, '0')}`;
        await create(n, id, { metaIndexed: { odd: i % 2 === 1 } });
        if (i % 10 === 0) await next(n, id, 0, { deleted: true, op: 'DELETE' });
      }
      const batches: HeadDoc[][] = [];
      for await (const b of scanHeads(n, { includeDeleted: true, batchSize: 40 })) batches.push(b);
      expect(batches.map((b) => b.length)).toEqual([40, 40, 40, 10]);
      const all = batches.flat();
      const byQuery = await store.queryHeads(n, { limit: 1000, includeDeleted: true });
      expect(all.map(clean)).toEqual(byQuery.map(clean));
      expect(all.map((h) => h.itemId)).toEqual([...all.map((h) => h.itemId)].sort());
      const live: HeadDoc[] = [];
      for await (const b of scanHeads(n, { batchSize: 1000, filter: compileFilter({ odd: true })! })) live.push(...b);
      expect(live.map((h) => h.itemId)).toEqual((await store.queryHeads(n, { limit: 1000, filter: compileFilter({ odd: true })! })).map((h) => h.itemId));
      expect(live.every((h) => !h.deleted && h.metaIndexed.odd === true)).toBe(true);
      // leaving early closes the scan; the store keeps working
      for await (const b of scanHeads(n, { includeDeleted: true, batchSize: 7 })) {
        expect(b).toHaveLength(7);
        break;
      }
      expect((await store.getHead(n, 's000'))!.itemId).toBe('s000');
      const bad = scanHeads(n, { batchSize: 0 })[Symbol.asyncIterator]();
      await expectCode(bad.next(), VALIDATION);
    });
  });
}
