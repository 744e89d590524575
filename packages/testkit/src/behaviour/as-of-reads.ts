/** Version and as-of reads (T8) and two skewed clocks (T7): reads of A only ever return A, `at` never goes back. */
import { expect } from '../assert.js';
import { rnd } from './context.js';
import type { BehaviourSuite } from './context.js';
import { allVersions } from './all-versions.js';

export function asOfReadTests(b: BehaviourSuite): void {
  const { t, engine } = b;
  t.describe('version and as-of reads', () => {
    t.it('T8: version and as-of reads of A only ever return A', async () => {
      const e = engine();
      const a = await e.create({ who: 'A', i: 0 });
      const b = await e.create({ who: 'B', i: 0 });
      const times: number[] = [];
      for (let i = 1; i <= 5; i++) {
        await e.update(a.id, { who: 'A', i });
        await e.update(b.id, { who: 'B', i });
        times.push(Date.now());
      }
      for (let ov = 0; ov <= 5; ov++) {
        expect(await e.getVersion(a.id, ov)).toMatchObject({ who: 'A', i: ov });
        expect(await e.getVersion(b.id, ov)).toMatchObject({ who: 'B', i: ov });
      }
      for (const t of times) {
        expect((await e.getAsOf(a.id, t))!.who).toBe('A');
        expect((await e.getAsOf(b.id, new Date(t)))!.who).toBe('B');
      }
      expect(await e.getAsOf(a.id, 0)).toBeNull();
      expect(await e.getVersion(a.id, 99)).toBeNull();
    });

    t.it('T7: two clocks ten minutes apart keep `at` non-decreasing and as-of consistent', async () => {
      const ns = { dbName: `bk_${rnd()}`, collection: 'clocks' };
      let skew = 0;
      const fast = engine({ clock: () => Date.now() + 600_000 }, ns);
      const slow = engine({ clock: () => Date.now() + skew }, ns);
      const c = await slow.create({ k: 0 });
      await fast.update(c.id, { k: 1 });
      await slow.update(c.id, { k: 2 });
      skew = -1000;
      await slow.update(c.id, { k: 3 });
      await fast.update(c.id, { k: 4 });
      const h = await allVersions(slow, c.id);
      for (let i = 1; i < h.length; i++) expect(h[i]!.at.getTime()).toBeGreaterThanOrEqual(h[i - 1]!.at.getTime());
      // as-of at each version's own time returns the newest version with that time
      for (const v of h) {
        const sameAt = h.filter((x) => x.at.getTime() === v.at.getTime());
        const got = await slow.getAsOf(c.id, v.at);
        expect(got!.k).toBe(sameAt[sameAt.length - 1]!.ov);
      }
    });
  });
}
