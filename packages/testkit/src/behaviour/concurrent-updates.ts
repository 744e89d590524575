/** T5: 16 concurrent updaters with the same expectedOv, exactly one winner per round, payloads intact. */
import { OptimisticLockError } from '@chronos-db/core';
import { expect } from '../assert.js';
import { assertNoDanglingPointers } from './oracle.js';
import type { BehaviourSuite } from './context.js';
import { allVersions } from './all-versions.js';

export function concurrentUpdateTests(b: BehaviourSuite): void {
  const { t, stores, engine, opts } = b;
  t.describe('concurrent updates', () => {
    t.it('T5: 16 concurrent updaters with the same expectedOv: exactly one winner per round, payloads intact', async () => {
      const e = engine();
      const rounds = opts.raceRounds ?? 50;
      const c = await e.create({ round: 0, racer: -1 });
      const winners: number[] = [];
      for (let round = 0; round < rounds; round++) {
        const results = await Promise.allSettled(Array.from({ length: 16 }, (_, racer) => e.update(c.id, { round: round + 1, racer }, round)));
        const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
        expect(won).toHaveLength(1);
        for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(OptimisticLockError);
        winners.push(won[0]!);
      }
      const latest = await e.getLatest(c.id, { includeMeta: true });
      expect(latest!._meta!.ov).toBe(rounds);
      const h = await allVersions(e, c.id);
      expect(h.map((x) => x.ov)).toEqual(Array.from({ length: rounds + 1 }, (_, i) => i));
      for (let round = 1; round <= rounds; round++) {
        expect(await e.getVersion(c.id, round)).toMatchObject({ round, racer: winners[round - 1] });
      }
      await assertNoDanglingPointers(stores, e.ns, [c.id]);
    });
  });
}
