/** hardDelete: removes every version and the head of one record only; the id can be created again. */
import { expect } from '../../assert.js';
import { clean } from '../helpers.js';
import type { MetaSuite } from './context.js';

export function hardDeleteTests(s: MetaSuite): void {
  const { t, store, ns, create, chain } = s;
  t.describe('hardDelete', () => {
    t.it('removes every version and the head of one record only', async () => {
      const n = await ns();
      const a = await chain(n, 'a', 3);
      const b = await chain(n, 'b', 2);
      const removed = await store.hardDelete(n, 'a');
      expect(removed.map(clean).sort((x, y) => x.ov - y.ov)).toEqual(a.map(clean));
      expect(await store.getHead(n, 'a')).toBeNull();
      expect(await store.listVersions(n, 'a')).toEqual([]);
      expect(await store.getVersion(n, 'a', { ov: 0 })).toBeNull();
      expect(await store.getVersion(n, 'a', { at: Number.MAX_SAFE_INTEGER })).toBeNull();
      expect((await store.queryHeads(n, { limit: 10, includeDeleted: true })).map((h) => h.itemId)).toEqual(['b']);
      expect((await store.listVersions(n, 'b')).map(clean)).toEqual(b.map(clean));
      expect(await store.hardDelete(n, 'a')).toEqual([]);
      // the id can be created again from scratch
      const again = await create(n, 'a');
      expect(again.cv).toBeGreaterThan(b[1]!.cv);
      expect((await store.listVersions(n, 'a')).map((v) => v.ov)).toEqual([0]);
    });
  });
}
