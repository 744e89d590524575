/** listByMeta and query: filters on indexed metadata, keyset pages that concurrent inserts never shift. */
import { ValidationError } from '@chronos-db/core';
import { expect } from '../assert.js';
import type { BehaviourSuite } from './context.js';

export function listByMetaTests(b: BehaviourSuite): void {
  const { t, engine } = b;
  t.describe('listByMeta', () => {
    t.it('listByMeta filters on indexed metadata with stable keyset pagination', async () => {
      const e = engine({ map: { indexedProps: ['kind', 'score'] } });
      const ids: string[] = [];
      for (let i = 0; i < 23; i++) ids.push((await e.create({ kind: i % 2 ? 'odd' : 'even', score: i, body: 'x'.repeat(10) })).id);
      await e.delete(ids[4]!);
      const seen: number[] = [];
      let pageToken: string | undefined;
      do {
        const p = await e.listByMeta({ filter: { kind: 'even', score: { $gte: 2 } }, limit: 3, ...(pageToken ? { pageToken } : {}) });
        seen.push(...p.items.map((x) => x.score as number));
        pageToken = p.pageToken;
        if (!pageToken) break;
        await e.create({ kind: 'even', score: 1000 + seen.length }); // concurrent inserts never shift a page
      } while (pageToken);
      const want = [2, 6, 8, 10, 12, 14, 16, 18, 20, 22];
      expect(seen.filter((s) => s < 1000)).toEqual(want);
      const q = await e.query({ $or: [{ score: { $in: [1, 3] } }, { score: { $lt: 1 } }] }, { limit: 10 });
      expect(q.items.map((x) => x.score).sort()).toEqual([0, 1, 3]);
      await expect(e.listByMeta({ filter: { body: 'x' } })).rejects.toBeInstanceOf(ValidationError);
    });
  });
}
