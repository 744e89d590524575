/**
 * The QueueStore contract (core/src/queue-port.ts), executable. Each test opens
 * a fresh queue from the factory; `reopen` gives a second handle on the same
 * queue (another process, or the same one after a restart).
 */
import type { ClaimedOp, QueuedOp, QueueStore } from '@chronos-db/core';
import { expect } from '../assert.js';
import { registrar, type TestRunner } from '../runner.js';
import { checkSkipList, expectCode, NOT_FOUND, rand, VALIDATION, type SuiteOptions } from './helpers.js';

export interface QueueStoreHandle {
  store: QueueStore;
  /** Another handle on the same queue (a second process, or after a restart). */
  reopen: () => Promise<QueueStore>;
  teardown?: () => Promise<void>;
}
export type QueueStoreFactory = () => Promise<QueueStoreHandle>;

export interface QueueSuiteOptions extends SuiteOptions {
  /** Ops of the two-claimant race (default 300). */
  raceOps?: number;
  /** Whether the store offers the optional `eraseOrderKeys` (checked; its tests skip when false). Default false. */
  erase?: boolean;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function runQueueStoreConformance(runner: TestRunner, name: string, factory: QueueStoreFactory, opts: QueueSuiteOptions = {}): void {
  const t = registrar(runner, opts.skip);
  const it = t.it;

  t.describe(`QueueStore conformance: ${name}`, () => {
    const opened: Array<{ close: () => Promise<void> }> = [];
    const teardowns: Array<() => Promise<void>> = [];
    const fresh = async () => {
      const h = await factory();
      opened.push(h.store);
      if (h.teardown) teardowns.push(h.teardown);
      return {
        q: h.store,
        reopen: async () => {
          const s = await h.reopen();
          opened.push(s);
          return s;
        },
      };
    };
    t.afterEach(async () => {
      for (const s of opened.splice(0)) await s.close().catch(() => {});
      for (const t of teardowns.splice(0)) await t();
    });
    const key = () => `k-${rand(8)}`;
    const req = () => `r-${rand(12)}`;

    it('enqueue is listed as pending; the same live requestId is not queued twice', async () => {
      const { q } = await fresh();
      const k = key();
      const r = req();
      const a = await q.enqueue({ orderKey: k, requestId: r, body: { n: 1, nested: { s: 'x' } } });
      expect(a).toMatchObject({ orderKey: k, requestId: r, body: { n: 1, nested: { s: 'x' } }, attempts: 0, status: 'pending' });
      const again = await q.enqueue({ orderKey: k, requestId: r, body: { n: 1, nested: { s: 'x' } } });
      expect(again.id).toBe(a.id);
      const list = await q.listPending();
      expect(list.map((o) => o.id)).toEqual([a.id]);
      expect(await q.stats()).toMatchObject({ pending: 1, claimed: 0, dead: 0 });
      expect(await q.pendingFor(k)).toBe(1);
      expect(await q.pendingFor(key())).toBe(0);
    });

    it('an enqueued op survives a reopen of the queue', async () => {
      const { q, reopen } = await fresh();
      const a = await q.enqueue({ orderKey: key(), requestId: req(), body: { keep: true } });
      await q.close();
      const q2 = await reopen();
      expect((await q2.listPending()).map((o) => [o.id, o.body])).toEqual([[a.id, { keep: true }]]);
      const [c] = await q2.claim({ owner: 'w2', leaseMs: 60_000 });
      expect(c?.id).toBe(a.id);
      expect(await q2.complete(c!)).toBe(true);
      expect(await q2.stats()).toMatchObject({ pending: 0, claimed: 0, dead: 0 });
    });

    it('a claimed op is leased to one owner; another claimant gets nothing until the lease expires', async () => {
      const { q, reopen } = await fresh();
      const q2 = await reopen();
      const a = await q.enqueue({ orderKey: key(), requestId: req(), body: {} });
      const [held] = await q.claim({ owner: 'w1', leaseMs: 600_000 });
      expect(held).toMatchObject({ id: a.id, attempts: 1, status: 'claimed', lease: { owner: 'w1' } });
      expect(await q2.claim({ owner: 'w2', leaseMs: 60_000, limit: 10 })).toEqual([]);
      expect(await q.stats()).toMatchObject({ pending: 0, claimed: 1 });
      expect(await q.complete(held!)).toBe(true);
      // A lease that expires (its holder crashed, or is too slow): another claimant takes the op.
      const b = await q.enqueue({ orderKey: key(), requestId: req(), body: {} });
      const [c1] = await q.claim({ owner: 'w1', leaseMs: 200 });
      expect(c1).toMatchObject({ id: b.id, attempts: 1 });
      await sleep(300);
      const [c2] = await q2.claim({ owner: 'w2', leaseMs: 600_000 });
      expect(c2).toMatchObject({ id: b.id, attempts: 2, lease: { owner: 'w2' } });
      // The first owner lost its lease: it can neither complete, release nor dead-letter the op.
      expect(await q.complete(c1!)).toBe(false);
      expect(await q.release(c1!, { message: 'late' }, Date.now())).toBe(false);
      expect(await q.deadLetter(c1!, { message: 'late' })).toBe(false);
      expect(await q2.complete(c2!)).toBe(true);
      expect(await q.listPending()).toEqual([]);
      expect(await q.listDead()).toEqual([]);
    });

    it('ops of one orderKey are claimed in enqueue order, one at a time', async () => {
      const { q } = await fresh();
      const ka = key();
      const kb = key();
      const a1 = await q.enqueue({ orderKey: ka, requestId: req(), body: { i: 1 } });
      const a2 = await q.enqueue({ orderKey: ka, requestId: req(), body: { i: 2 } });
      const b1 = await q.enqueue({ orderKey: kb, requestId: req(), body: { i: 3 } });
      const first = await q.claim({ owner: 'w', leaseMs: 600_000, limit: 10 });
      expect(first.map((o) => o.id).sort()).toEqual([a1.id, b1.id].sort());
      // a1 released with a backoff: a2 still waits behind it.
      const c1 = first.find((o) => o.id === a1.id)!;
      expect(await q.release(c1, { message: 'unreachable', code: 'STORAGE' }, Date.now() + 60_000)).toBe(true);
      expect(await q.claim({ owner: 'w', leaseMs: 600_000, limit: 10 })).toEqual([]);
      const pend = await q.listPending();
      expect(pend.find((o) => o.id === a1.id)).toMatchObject({ status: 'pending', attempts: 1, lastError: { message: 'unreachable', code: 'STORAGE' } });
      await q.cancel(a1.id);
      const [n] = await q.claim({ owner: 'w', leaseMs: 600_000, limit: 10 });
      expect(n?.id).toBe(a2.id);
    });

    it('release makes the op claimable again from notBefore', async () => {
      const { q } = await fresh();
      const a = await q.enqueue({ orderKey: key(), requestId: req(), body: {} });
      const b = await q.enqueue({ orderKey: key(), requestId: req(), body: {} });
      const got = await q.claim({ owner: 'w', leaseMs: 600_000, limit: 2 });
      expect(got.map((o) => o.id).sort()).toEqual([a.id, b.id].sort());
      expect(await q.release(got.find((o) => o.id === a.id)!, { message: 'x' }, Date.now() + 600_000)).toBe(true);
      expect(await q.release(got.find((o) => o.id === b.id)!, { message: 'y' }, Date.now() - 1)).toBe(true);
      const again = await q.claim({ owner: 'w', leaseMs: 600_000, limit: 2 });
      expect(again.map((o) => [o.id, o.attempts])).toEqual([[b.id, 2]]);
    });

    it('deadLetter moves the op (never both places); retryDeadLetter brings it back; unknown ids are NotFound', async () => {
      const { q } = await fresh();
      const k = key();
      const a = await q.enqueue({ orderKey: k, requestId: req(), body: { v: 1 } });
      const [c] = await q.claim({ owner: 'w', leaseMs: 600_000 });
      expect(await q.deadLetter(c!, { message: 'conflict', code: 'OPTIMISTIC_LOCK' })).toBe(true);
      expect(await q.listPending()).toEqual([]);
      expect(await q.pendingFor(k)).toBe(0);
      const dead = await q.listDead();
      expect(dead).toHaveLength(1);
      expect(dead[0]).toMatchObject({
        id: a.id,
        requestId: a.requestId,
        body: { v: 1 },
        attempts: 1,
        lastError: { message: 'conflict', code: 'OPTIMISTIC_LOCK' },
      });
      expect(await q.stats()).toMatchObject({ pending: 0, claimed: 0, dead: 1 });
      expect(await q.deadLetter(c!, { message: 'again' })).toBe(false);
      const back = await q.retryDeadLetter(a.id);
      expect(back).toMatchObject({ id: a.id, attempts: 0, status: 'pending', body: { v: 1 } });
      expect(await q.listDead()).toEqual([]);
      expect((await q.listPending()).map((o) => o.id)).toEqual([a.id]);
      await expectCode(q.retryDeadLetter(a.id), NOT_FOUND);
      await expectCode(q.retryDeadLetter('op_0000000000000000000000000'), NOT_FOUND);
      await expectCode(q.retryDeadLetter('../../etc'), NOT_FOUND);
    });

    it('cancel removes a pending op; a claimed op is QUEUE_CLAIMED; an unknown one NotFound', async () => {
      const { q } = await fresh();
      const a = await q.enqueue({ orderKey: key(), requestId: req(), body: {} });
      const b = await q.enqueue({ orderKey: key(), requestId: req(), body: {} });
      await q.cancel(a.id);
      const [c] = await q.claim({ owner: 'w', leaseMs: 600_000 });
      expect(c?.id).toBe(b.id);
      await expectCode(q.cancel(b.id), 'QUEUE_CLAIMED');
      await expectCode(q.cancel(a.id), NOT_FOUND);
      await expectCode(q.cancel('nope'), NOT_FOUND);
      expect(await q.complete(c!)).toBe(true);
      expect(await q.stats()).toMatchObject({ pending: 0, claimed: 0, dead: 0 });
    });

    it('listPending and listDead page by afterId', async () => {
      const { q } = await fresh();
      const ids: string[] = [];
      for (let i = 0; i < 7; i++) ids.push((await q.enqueue({ orderKey: key(), requestId: req(), body: { i } })).id);
      const seen: string[] = [];
      let after: string | undefined;
      for (;;) {
        const p = await q.listPending({ limit: 3, ...(after ? { afterId: after } : {}) });
        if (!p.length) break;
        seen.push(...p.map((o) => o.id));
        after = p[p.length - 1]!.id;
      }
      expect(seen).toEqual([...ids].sort());
      const claimed = await q.claim({ owner: 'w', leaseMs: 600_000, limit: 7 });
      for (const c of claimed) await q.deadLetter(c, { message: 'x' });
      const d1 = await q.listDead({ limit: 4 });
      const d2 = await q.listDead({ limit: 4, afterId: d1[d1.length - 1]!.id });
      expect([...d1, ...d2].map((o) => o.id)).toEqual([...ids].sort());
    });

    it('two claimants on one queue: every op is claimed and completed exactly once, in per-key order', async () => {
      const { q, reopen } = await fresh();
      const q2 = await reopen();
      const n = opts.raceOps ?? 300;
      const keys = Array.from({ length: 20 }, () => key());
      const seqOf = new Map<string, number>();
      for (let i = 0; i < n; i++) {
        const k = keys[i % keys.length]!;
        await q.enqueue({ orderKey: k, requestId: `r-${i}-${rand(6)}`, body: { i, k } });
      }
      const applied = new Map<number, number>();
      const order = new Map<string, number[]>();
      const worker = async (store: QueueStore, owner: string) => {
        let idle = 0;
        while (idle < 3) {
          const got: ClaimedOp[] = await store.claim({ owner, leaseMs: 120_000, limit: 8 });
          if (!got.length) {
            idle++;
            await sleep(20);
            continue;
          }
          idle = 0;
          for (const c of got) {
            const i = c.body.i as number;
            applied.set(i, (applied.get(i) ?? 0) + 1);
            const k = c.body.k as string;
            order.set(k, [...(order.get(k) ?? []), i]);
            seqOf.set(k, i);
            expect(await store.complete(c)).toBe(true);
          }
        }
      };
      await Promise.all([worker(q, 'w1'), worker(q2, 'w2'), worker(q, 'w3'), worker(q2, 'w4')]);
      expect(applied.size).toBe(n);
      expect([...applied.values()].every((v) => v === 1)).toBe(true);
      for (const list of order.values()) expect(list).toEqual([...list].sort((a, b) => a - b));
      expect(await q.stats()).toMatchObject({ pending: 0, claimed: 0, dead: 0 });
    }, 300_000);

    it('racing dead-letter and complete of one op by a stale and a current holder leave it in exactly one place', async () => {
      const { q, reopen } = await fresh();
      const q2 = await reopen();
      const ops: QueuedOp[] = [];
      for (let i = 0; i < 10; i++) ops.push(await q.enqueue({ orderKey: key(), requestId: req(), body: { i } }));
      const stale = await q.claim({ owner: 'old', leaseMs: 200, limit: 10 });
      expect(stale).toHaveLength(10);
      await sleep(300);
      const cur = await q2.claim({ owner: 'new', leaseMs: 60_000, limit: 10 });
      expect(cur).toHaveLength(10);
      const results = await Promise.all(
        ops.map((_, i) =>
          Promise.all([
            q.deadLetter(stale.find((s) => s.id === ops[i]!.id)!, { message: 'stale' }),
            i % 2 ? q2.complete(cur.find((s) => s.id === ops[i]!.id)!) : q2.deadLetter(cur.find((s) => s.id === ops[i]!.id)!, { message: 'current' }),
          ]),
        ),
      );
      expect(results.every(([a, b]) => a === false && b === true)).toBe(true);
      const dead = await q.listDead();
      expect(dead.map((d) => d.id).sort()).toEqual(
        ops
          .filter((_, i) => i % 2 === 0)
          .map((o) => o.id)
          .sort(),
      );
      expect(dead.every((d) => d.lastError.message === 'current')).toBe(true);
      expect(await q.listPending()).toEqual([]);
    });

    it("deadLetter with a body keeps that body in the dead letter, not the op's", async () => {
      const { q } = await fresh();
      const r = req();
      await q.enqueue({ orderKey: key(), requestId: r, body: { secret: 'content' } });
      const [c] = await q.claim({ owner: 'w', leaseMs: 60_000 });
      expect(await q.deadLetter(c!, { message: 'erased', code: 'NOT_FOUND' }, { body: { erased: true } })).toBe(true);
      expect((await q.listDead()).map((d) => [d.requestId, d.body])).toEqual([[r, { erased: true }]]);
    });

    it('deadLetter with a body that is not an object is a ValidationError (the op stays held); the error kept is bounded (message 2,000 characters, code 100)', async () => {
      const { q } = await fresh();
      await q.enqueue({ orderKey: key(), requestId: req(), body: { n: 1 } });
      const [c] = await q.claim({ owner: 'w', leaseMs: 60_000 });
      for (const body of [null, [1], 'text']) await expectCode(q.deadLetter(c!, { message: 'x' }, { body: body as never }), VALIDATION);
      expect(await q.listDead()).toEqual([]);
      const error = { message: 'm'.repeat(5000), code: 'C'.repeat(500), stack: 'not kept' };
      expect(await q.deadLetter(c!, error)).toBe(true);
      expect((await q.listDead()).map((d) => d.lastError)).toEqual([{ message: 'm'.repeat(2000), code: 'C'.repeat(100) }]);
    });

    const why = 'eraseOrderKeys not offered (option erase: false)';
    t.itIf(
      !!opts.erase,
      why,
      'eraseOrderKeys removes every op of the keys, pending, claimed and dead; other keys stay; the holder then loses its op',
      async () => {
        const { q } = await fresh();
        const [k1, k2, other] = [key(), key(), key()];
        const dead = await q.enqueue({ orderKey: k1, requestId: req(), body: { n: 1 } });
        await q.enqueue({ orderKey: k1, requestId: req(), body: { n: 2 } });
        await q.enqueue({ orderKey: k2, requestId: req(), body: { n: 3 } });
        const keep = await q.enqueue({ orderKey: other, requestId: req(), body: { n: 4 } });
        const claimed = await q.claim({ owner: 'w', leaseMs: 60_000, limit: 10 });
        // k1's first and k2's op are claimed (k1's second waits behind its first), other's too
        const first = claimed.find((c) => c.id === dead.id)!;
        expect(await q.deadLetter(first, { message: 'bad' })).toBe(true);
        const k1Next = (await q.claim({ owner: 'w', leaseMs: 60_000 }))[0]!;
        expect(k1Next.orderKey).toBe(k1);
        expect(await q.eraseOrderKeys!([k1, k2, key()])).toBe(3);
        expect((await q.listPending()).map((o) => o.id)).toEqual([keep.id]);
        expect(await q.listDead()).toEqual([]);
        expect([await q.pendingFor(k1), await q.pendingFor(k2)]).toEqual([0, 0]);
        expect(await q.complete(k1Next)).toBe(false);
        expect(await q.complete(claimed.find((c) => c.id === keep.id)!)).toBe(true);
        expect(await q.eraseOrderKeys!([])).toBe(0);
        await expectCode(q.eraseOrderKeys!([''] as string[]), 'VALIDATION');
        // a new op of an erased key queues and claims as usual
        await q.enqueue({ orderKey: k1, requestId: req(), body: { n: 5 } });
        expect((await q.claim({ owner: 'w', leaseMs: 60_000 })).map((c) => c.orderKey)).toEqual([k1]);
      },
    );

    t.itIf(!!opts.erase, why, 'offers eraseOrderKeys as the suite was told', async () => {
      const { q } = await fresh();
      expect(typeof q.eraseOrderKeys).toBe('function');
    });
    t.itIf(!opts.erase, 'the store offers eraseOrderKeys (option erase: true)', 'offers no eraseOrderKeys, as the suite was told', async () => {
      const { q } = await fresh();
      expect(q.eraseOrderKeys).toBeUndefined();
    });

    checkSkipList(t);
  });
}
