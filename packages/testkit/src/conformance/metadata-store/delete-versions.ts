/** deleteVersions (optional): removing version rows for pruneNow, never a record's newest. */
import { expect } from '../../assert.js';
import { clean, expectCode, VALIDATION } from '../helpers.js';
import type { MetaSuite } from './context.js';

export function deleteVersionsTests(s: MetaSuite): void {
  const { t, store, ns, chain, next, opts } = s;
  const why = 'deleteVersions not offered (option deleteVersions: false)';
  t.describe('deleteVersions', () => {
    t.itIf(!!opts.deleteVersions, why, 'removes the rows named, in any order given; the rest of the chain, the head and other records stay', async () => {
      const del = store.deleteVersions!.bind(store);
      const n = await ns();
      const a = await chain(n, 'A', 6);
      const b = await chain(n, 'B', 3);
      expect(
        await del(n, [
          { itemId: 'A', ov: 2 },
          { itemId: 'A', ov: 0 },
          { itemId: 'B', ov: 0 },
          { itemId: 'A', ov: 1 },
        ]),
      ).toBe(4);
      expect((await store.listVersions(n, 'A')).map(clean)).toEqual(a.slice(3).map(clean));
      expect((await store.listVersions(n, 'B')).map(clean)).toEqual(b.slice(1).map(clean));
      expect(await store.getVersion(n, 'A', { ov: 1 })).toBeNull();
      expect((await store.getHead(n, 'A'))!.ov).toBe(5);
      // as-of reads land on the rows left
      expect((await store.getVersion(n, 'A', { at: a[4]!.at }))!.ov).toBe(4);
      // refs that name no row are ignored; a rerun removes nothing
      expect(
        await del(n, [
          { itemId: 'A', ov: 0 },
          { itemId: 'Z', ov: 3 },
        ]),
      ).toBe(0);
      expect(await del(n, [])).toBe(0);
      // the chain goes on
      await next(n, 'A', 5);
      expect((await store.getHead(n, 'A'))!.ov).toBe(6);
    });

    t.itIf(!!opts.deleteVersions, why, "never removes a record's newest version: the whole call is refused, nothing removed", async () => {
      const del = store.deleteVersions!.bind(store);
      const n = await ns();
      const a = await chain(n, 'A', 3);
      const one = await chain(n, 'C', 1);
      await expectCode(
        del(n, [
          { itemId: 'A', ov: 0 },
          { itemId: 'A', ov: 2 },
        ]),
        VALIDATION,
      );
      await expectCode(del(n, [{ itemId: 'C', ov: 0 }]), VALIDATION);
      expect((await store.listVersions(n, 'A')).map(clean)).toEqual(a.map(clean));
      expect((await store.listVersions(n, 'C')).map(clean)).toEqual(one.map(clean));
    });

    t.itIf(!!opts.deleteVersions, why, 'refuses bad refs with ValidationError and removes nothing; namespaces are isolated', async () => {
      const del = store.deleteVersions!.bind(store);
      const n = await ns();
      const other = await ns({ tenant: 'other' });
      const a = await chain(n, 'A', 3);
      await chain(other, 'A', 3);
      for (const bad of [
        [{ itemId: '../x', ov: 0 }],
        [{ itemId: 'A', ov: -1 }],
        [{ itemId: 'A', ov: 0.5 }],
        [{ itemId: 'A' }],
        'A',
        Array.from({ length: 1001 }, (_, i) => ({ itemId: 'A', ov: i })),
      ])
        await expectCode(del(n, bad as never), VALIDATION);
      expect((await store.listVersions(n, 'A')).map(clean)).toEqual(a.map(clean));
      expect(await del(other, [{ itemId: 'A', ov: 0 }])).toBe(1);
      expect((await store.listVersions(n, 'A')).length).toBe(3);
    });
  });
}
