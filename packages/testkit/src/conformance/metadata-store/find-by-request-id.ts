/** findByRequestId: the committed version written with a requestId, never one of a failed commit (I6). */
import { expect } from '../../assert.js';
import { clean, expectCode, mkVersion, OPTIMISTIC_LOCK, rand } from '../helpers.js';
import type { MetaSuite } from './context.js';

export function findByRequestIdTests(s: MetaSuite): void {
  const { t, store, ns, create, next, chain } = s;
  t.describe('findByRequestId', () => {
    t.it('finds the committed version written with a requestId', async () => {
      const n = await ns();
      const req1 = `req-${rand()}`;
      const req2 = `req-${rand()}`;
      const a = await create(n, 'A', { requestId: req1, requestHash: 'x'.repeat(64) });
      await next(n, 'A', 0);
      const b = await next(n, 'A', 1, { requestId: req2 });
      expect(clean((await store.findByRequestId(n, req1))!)).toEqual(clean({ ...a.version, cv: a.cv }));
      expect(clean((await store.findByRequestId(n, req2))!)).toEqual(clean({ ...b.version, cv: b.cv }));
      expect(await store.findByRequestId(n, `req-${rand()}`)).toBeNull();
    });

    t.it('never returns a version of a failed commit', async () => {
      const n = await ns();
      await chain(n, 'A', 2);
      const req = `req-${rand()}`;
      await expectCode(store.commit({ ns: n, version: mkVersion(n, 'A', 1, { requestId: req }), expectedOv: 0, head: {} }), OPTIMISTIC_LOCK);
      expect(await store.findByRequestId(n, req)).toBeNull();
    });
  });
}
