/** currentCv: 0 for a new namespace, then the highest cv committed, growing with every commit. */
import { expect } from '../../assert.js';
import { expectCode, mkVersion, OPTIMISTIC_LOCK } from '../helpers.js';
import type { MetaSuite } from './context.js';

export function currentCvTests(s: MetaSuite): void {
  const { t, store, ns, create, next } = s;
  t.describe('currentCv', () => {
    t.it('is 0 for a new namespace and grows monotonically with commits', async () => {
      const n = await ns();
      expect(await store.currentCv(n)).toBe(0);
      let last = 0;
      for (let i = 0; i < 5; i++) {
        const r = i === 0 ? await create(n, 'a') : await next(n, 'a', i - 1);
        expect(r.cv).toBeGreaterThan(last);
        const cur = await store.currentCv(n);
        expect(cur).toBe(r.cv);
        last = cur;
      }
      const r = await create(n, 'b');
      expect(r.cv).toBeGreaterThan(last);
      expect(await store.currentCv(n)).toBe(r.cv);
      await expectCode(store.commit({ ns: n, version: mkVersion(n, 'b', 0), expectedOv: null, head: { createdAt: 1 } }), OPTIMISTIC_LOCK);
      expect(await store.currentCv(n)).toBeGreaterThanOrEqual(r.cv);
    });
  });
}
