/** commit races: one winner per expectedOv, readers see only committed versions, distinct cvs (I3, I5). */
import { expect } from '../../assert.js';
import { mkVersion, OPTIMISTIC_LOCK } from '../helpers.js';
import type { MetaSuite } from './context.js';

export function commitRaceTests(s: MetaSuite): void {
  const { t, store, ns, create, chain } = s;
  t.describe('commit races', () => {
    t.it('of 16 concurrent updaters with the same expectedOv exactly one wins', async () => {
      const n = await ns();
      await chain(n, 'r1', 1);
      for (let round = 0; round < 3; round++) {
        const versions = Array.from({ length: 16 }, (_, i) => mkVersion(n, 'r1', round + 1, { metaIndexed: { racer: i } }));
        const results = await Promise.allSettled(versions.map((version) => store.commit({ ns: n, version, expectedOv: round, head: {} })));
        const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
        expect(won).toHaveLength(1);
        for (const r of results) if (r.status === 'rejected') expect((r.reason as { code?: string }).code).toBe(OPTIMISTIC_LOCK);
        const head = await store.getHead(n, 'r1');
        expect(head!.ov).toBe(round + 1);
        expect(head!.jsonKey).toBe(versions[won[0]!]!.jsonKey);
        expect(head!.metaIndexed).toEqual({ racer: won[0] });
      }
      const list = await store.listVersions(n, 'r1');
      expect(list.map((v) => v.ov)).toEqual([0, 1, 2, 3]);
    });

    t.it('readers racing with writers only ever see committed versions', async () => {
      const n = await ns();
      await chain(n, 'r1', 1);
      let done = false;
      const problems: string[] = [];
      const reader = (async () => {
        while (!done) {
          const head = await store.getHead(n, 'r1');
          const list = await store.listVersions(n, 'r1');
          if (!head) problems.push('head vanished');
          else {
            const v = await store.getVersion(n, 'r1', { ov: head.ov });
            if (!v || v.jsonKey !== head.jsonKey || v.cv !== head.cv) problems.push(`head ov ${head.ov} has no matching committed version`);
          }
          // the list is gapless and ends no lower than the head seen before it
          if (list.some((v, i) => v.ov !== i)) problems.push(`gap in ${list.map((v) => v.ov).join(',')}`);
          if (head && list.length < head.ov + 1) problems.push(`list shorter (${list.length}) than head ov ${head.ov}`);
          await new Promise((r) => setImmediate(r));
        }
      })();
      try {
        for (let round = 0; round < 8; round++) {
          const versions = Array.from({ length: 8 }, (_, i) => mkVersion(n, 'r1', round + 1, { metaIndexed: { racer: i } }));
          const results = await Promise.allSettled(versions.map((version) => store.commit({ ns: n, version, expectedOv: round, head: {} })));
          expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        }
      } finally {
        done = true;
        await reader;
      }
      expect(problems).toEqual([]);
      expect((await store.listVersions(n, 'r1')).map((v) => v.ov)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    });

    t.it('of 16 concurrent creators of one id exactly one wins', async () => {
      const n = await ns();
      const versions = Array.from({ length: 16 }, (_, i) => mkVersion(n, 'same', 0, { metaIndexed: { racer: i } }));
      const results = await Promise.allSettled(versions.map((version) => store.commit({ ns: n, version, expectedOv: null, head: { createdAt: version.at } })));
      const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
      expect(won).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect((r.reason as { code?: string }).code).toBe(OPTIMISTIC_LOCK);
      const list = await store.listVersions(n, 'same');
      expect(list).toHaveLength(1);
      expect(list[0]!.jsonKey).toBe(versions[won[0]!]!.jsonKey);
    });

    t.it('assigns distinct increasing cvs to concurrent commits on different records', async () => {
      const n = await ns();
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => create(n, `p${i}`)));
      const cvs = results.map((r) => r.cv);
      expect(new Set(cvs).size).toBe(20);
      expect(await store.currentCv(n)).toBe(Math.max(...cvs));
      for (let i = 0; i < 20; i++) expect((await store.getHead(n, `p${i}`))!.cv).toBe(cvs[i]);
    });
  });
}
