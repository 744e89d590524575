/**
 * findByRequestId: the committed version written with a requestId, never one of a failed commit (I6);
 * findByRequestIds (optional): the same for a batch, in one call.
 */
import { expect } from '../../assert.js';
import { clean, expectCode, mkVersion, OPTIMISTIC_LOCK, rand, VALIDATION } from '../helpers.js';
import type { VersionDoc } from '@chronos-db/core';
import type { MetaSuite } from './context.js';

export function findByRequestIdTests(s: MetaSuite): void {
  const { t, store, ns, create, next, chain, opts } = s;
  const why = 'findByRequestIds not offered (option findByRequestIds: false)';
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

    t.itIf(!!opts.findByRequestIds, why, 'findByRequestIds: what findByRequestId answers for each, in one call; none for unknown or failed ones', async () => {
      const n = await ns();
      const other = await ns();
      const reqs = Array.from({ length: 5 }, () => `req-${rand()}`);
      const made: Array<Omit<VersionDoc, 'cv'> & { cv: number }> = [];
      for (let i = 0; i < 4; i++) {
        const a = await create(n, `r${i}`, { requestId: reqs[i]!, requestHash: String(i).repeat(64) });
        made.push({ ...a.version, cv: a.cv });
      }
      const b = await next(n, 'r0', 0, { requestId: reqs[4]! });
      made.push({ ...b.version, cv: b.cv });
      // a failed commit with a requestId of its own leaves nothing to find
      const failed = `req-${rand()}`;
      await expectCode(store.commit({ ns: n, version: mkVersion(n, 'r0', 1, { requestId: failed }), expectedOv: 0, head: {} }), OPTIMISTIC_LOCK);
      // another namespace's version with the same requestId is not found here
      await create(other, 'x', { requestId: reqs[0]! });
      const asked = [...reqs, failed, `req-${rand()}`, reqs[2]!];
      const found = await store.findByRequestIds!(n, asked);
      const byReq = new Map(found.map((v) => [v.requestId, v]));
      expect(found.length).toBe(5);
      expect(byReq.size).toBe(5);
      for (const [i, r] of reqs.entries()) {
        expect(clean(byReq.get(r)!)).toEqual(clean(made[i]!));
        expect(clean(byReq.get(r)!)).toEqual(clean((await store.findByRequestId(n, r))!));
      }
      expect(await store.findByRequestIds!(n, [])).toEqual([]);
      expect(await store.findByRequestIds!(n, [failed])).toEqual([]);
    });

    t.itIf(!!opts.findByRequestIds, why, 'findByRequestIds refuses a bad argument with a ValidationError', async () => {
      const n = await ns();
      for (const bad of [null, 'req', [''], [42], ['x'.repeat(257)], Array.from({ length: 1001 }, (_, i) => `r${i}`)]) {
        await expectCode(store.findByRequestIds!(n, bad as never), VALIDATION);
      }
    });
  });
}
