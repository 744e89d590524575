/** changesAfter (optional): the change feed of a namespace, in cv order, with a resume point. */
import { expect } from '../../assert.js';
import { clean, expectCode, VALIDATION } from '../helpers.js';
import type { MetaSuite } from './context.js';

export function changesAfterTests(s: MetaSuite): void {
  const { t, store, ns, create, next, chain, opts } = s;
  t.describe('changesAfter', () => {
    t.itIf(
      !!opts.changesAfter,
      'changesAfter not offered (option changesAfter: false)',
      'every committed version once, in cv order, from any resume point',
      async () => {
        const changesAfter = store.changesAfter!.bind(store);
        const n = await ns();
        const other = await ns({ tenant: 'other' });
        const a = await chain(n, 'A', 4);
        const b = await create(n, 'B');
        const a4 = await next(n, 'A', 3, { deleted: true, op: 'DELETE' });
        await create(other, 'A');
        const all = [...a, { ...b.version, cv: b.cv }, { ...a4.version, cv: a4.cv }].sort((x, y) => x.cv - y.cv);
        expect((await changesAfter(n, { afterCv: 0, limit: 100 })).versions.map(clean)).toEqual(all.map(clean));
        // from every resume point, with every page size: the suffix, each version once
        for (const limit of [1, 2, 100]) {
          for (const from of [0, ...all.map((v) => v.cv)]) {
            const seen: number[] = [];
            let after = from;
            for (let i = 0; i < 20; i++) {
              const p = await changesAfter(n, { afterCv: after, limit });
              expect(p.versions.length).toBeLessThanOrEqual(limit);
              expect(p.nextCv).toBeGreaterThanOrEqual(after);
              seen.push(...p.versions.map((v) => v.cv));
              if (p.versions.length) expect(p.nextCv).toBeGreaterThanOrEqual(p.versions[p.versions.length - 1]!.cv);
              if (p.nextCv === after) break;
              after = p.nextCv;
            }
            expect(seen).toEqual(all.filter((v) => v.cv > from).map((v) => v.cv));
          }
        }
        // namespaces are isolated
        expect((await changesAfter(other, { afterCv: 0, limit: 100 })).versions.map((v) => v.itemId)).toEqual(['A']);
        // a gap that can never fill (hard-deleted versions) does not stop the feed
        // (a store may stop before it, then pass it on a later call: follow nextCv)
        await store.hardDelete(n, 'B');
        const rest: string[] = [];
        let after = 0;
        for (let i = 0; i < 10; i++) {
          const p = await changesAfter(n, { afterCv: after, limit: 100 });
          rest.push(...p.versions.map((v) => v.itemId));
          after = p.nextCv;
        }
        expect(rest).toEqual(all.filter((v) => v.itemId !== 'B').map((v) => v.itemId));
        expect(after).toBe(all[all.length - 1]!.cv);
        for (const q of [
          { afterCv: -1, limit: 1 },
          { afterCv: 1.5, limit: 1 },
          { afterCv: 0, limit: 0 },
        ])
          await expectCode(changesAfter(n, q), VALIDATION);
      },
    );
  });
}
