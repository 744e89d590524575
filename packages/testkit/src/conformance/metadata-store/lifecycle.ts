/**
 * Lifecycle port methods (optional, option `lifecycle`): erasure tombstones and records,
 * clearShadow (devShadow shrink) and leases (maintenance scheduling).
 */
import type { CommitInput } from '@chronos-db/core';
import { expect } from '../../assert.js';
import { expectCode, mkVersion, NOT_FOUND, VALIDATION } from '../helpers.js';
import type { MetaSuite } from './context.js';

const erasedCode = async (p: Promise<unknown>) => {
  const e = await expectCode(p, NOT_FOUND);
  expect((e as { details?: { erased?: boolean } }).details?.erased).toBe(true);
};

export function lifecycleTests(s: MetaSuite): void {
  const { t, store, ns, create, next, chain, opts } = s;
  const on = !!opts.lifecycle;
  const why = 'lifecycle methods not offered (option lifecycle: false)';
  t.describe('lifecycle: erasure', () => {
    t.itIf(on, why, 'a tombstone refuses every commit of the record, also one built on a head read before it; reads learn it from erasedIds', async () => {
      const n = await ns();
      const a = await chain(n, 'a', 2);
      await create(n, 'b');
      const head = await store.getHead(n, 'a');
      const r = await store.beginErasure!(n, { itemId: 'a', at: 1_700_000_000_000, actor: 'dpo', reason: 'request' });
      expect(r).toEqual({ created: true, record: { itemId: 'a', requestedAt: 1_700_000_000_000, actor: 'dpo', reason: 'request', status: 'erasing' } });
      // the writer read the head before the tombstone and passes what it read
      await erasedCode(store.commit({ ns: n, version: mkVersion(n, 'a', 2), expectedOv: 1, head: {}, prev: { cv: head!.cv, createdAt: head!.createdAt } }));
      await erasedCode(next(n, 'a', 1));
      expect((await store.listVersions(n, 'a')).map((v) => v.ov)).toEqual([0, 1]);
      expect((await store.erasedIds!(n, ['a', 'b', 'zz'])).sort()).toEqual(['a']);
      // after the deletes, not even a create can bring the id back
      await store.hardDelete(n, 'a');
      await erasedCode(create(n, 'a'));
      expect(await store.getHead(n, 'a')).toBeNull();
      expect(await store.listVersions(n, 'a')).toEqual([]);
      await next(n, 'b', 0); // other records are untouched
      // a rerun finds the record as it was; finish keeps who, when, why and the counts
      expect(await store.beginErasure!(n, { itemId: 'a', at: 5 })).toMatchObject({ created: false, record: { requestedAt: 1_700_000_000_000, actor: 'dpo' } });
      await store.finishErasure!(n, 'a', { at: 1_700_000_000_500, versionsDeleted: a.length, objectsDeleted: 7 });
      expect(await store.listErasures!(n, { limit: 10 })).toEqual([
        {
          itemId: 'a',
          requestedAt: 1_700_000_000_000,
          actor: 'dpo',
          reason: 'request',
          status: 'done',
          finishedAt: 1_700_000_000_500,
          versionsDeleted: 2,
          objectsDeleted: 7,
        },
      ]);
      expect(await store.listErasures!(n, { limit: 10, afterId: 'a' })).toEqual([]);
    });

    t.itIf(on, why, 'commits racing the tombstone and the deletes leave no version and no head behind', async () => {
      const n = await ns();
      await chain(n, 'r', 1);
      const h = (await store.getHead(n, 'r'))!;
      const racers = Array.from({ length: 8 }, (_, i) =>
        store
          .commit({ ns: n, version: mkVersion(n, 'r', 1, { metaIndexed: { i } }), expectedOv: 0, head: {}, prev: { cv: h.cv, createdAt: h.createdAt } })
          .then(
            () => 'ok',
            (e: { code?: string }) => e.code,
          ),
      );
      await store.beginErasure!(n, { itemId: 'r', at: 1 });
      await store.hardDelete(n, 'r');
      const outcomes = await Promise.all(racers);
      for (const o of outcomes) expect(['ok', 'OPTIMISTIC_LOCK', 'NOT_FOUND']).toContain(o);
      await store.hardDelete(n, 'r'); // a commit that landed before the tombstone: the erasure's own sweep
      expect(await store.getHead(n, 'r')).toBeNull();
      expect(await store.listVersions(n, 'r')).toEqual([]);
      expect((await store.queryHeads(n, { limit: 10, includeDeleted: true })).map((x) => x.itemId)).toEqual([]);
    });

    t.itIf(on && !!opts.commitMany, 'lifecycle or commitMany not offered', 'commitMany: an erased record fails its entry alone', async () => {
      const n = await ns();
      const x = await create(n, 'x');
      const y = await create(n, 'y');
      await store.beginErasure!(n, { itemId: 'x', at: 1 });
      const inputs: CommitInput[] = [
        { ns: n, version: mkVersion(n, 'x', 1), expectedOv: 0, head: {}, prev: { cv: x.cv, createdAt: 1 } },
        { ns: n, version: mkVersion(n, 'y', 1), expectedOv: 0, head: {}, prev: { cv: y.cv, createdAt: 1 } },
      ];
      const res = await store.commitMany!(inputs);
      expect(res.map((r) => r.ok)).toEqual([false, true]);
      expect((res[0] as { error: { details?: { erased?: boolean } } }).error.details?.erased).toBe(true);
      expect((await store.listVersions(n, 'x')).map((v) => v.ov)).toEqual([0]);
    });

    t.itIf(on, why, 'bad input is a ValidationError', async () => {
      const n = await ns();
      await expectCode(store.beginErasure!(n, { itemId: '../x', at: 1 }), VALIDATION);
      await expectCode(store.beginErasure!(n, { itemId: 'ok', at: Number.NaN }), VALIDATION);
      await expectCode(store.beginErasure!(n, { itemId: 'ok', at: 1, actor: 5 as unknown as string }), VALIDATION);
      await expectCode(store.listErasures!(n, { limit: 0 }), VALIDATION);
      await expectCode(store.listErasures!(n, { limit: 10, afterId: '../x' }), VALIDATION);
      await expectCode(store.erasedIds!(n, ['../x']), VALIDATION);
      await expectCode(
        store.erasedIds!(
          n,
          Array.from({ length: 1001 }, (_, i) => `id${i}`),
        ),
        VALIDATION,
      );
      await expectCode(store.finishErasure!(n, 'ok', { at: 1, versionsDeleted: 1.5, objectsDeleted: 0 }), VALIDATION);
      expect(await store.listErasures!(n, { limit: 10 })).toEqual([]);
    });
  });

  t.describe('lifecycle: clearShadow', () => {
    t.itIf(on, why, 'removes the shadow of a head still at that ov, nothing else', async () => {
      const n = await ns();
      await create(n, 's', {}, { createdAt: 1, shadow: { json: '{"a":1}', expiresAt: 10 } });
      await next(n, 's', 0, {}, { shadow: { json: '{"a":2}', expiresAt: 20 } });
      expect(await store.clearShadow!(n, 's', 0)).toBe(false);
      expect((await store.getHead(n, 's'))!.shadow).toEqual({ json: '{"a":2}', expiresAt: 20 });
      expect(await store.clearShadow!(n, 's', 1)).toBe(true);
      const h = (await store.getHead(n, 's'))!;
      expect(h.shadow).toBeUndefined();
      expect(h.ov).toBe(1);
      expect(await store.clearShadow!(n, 's', 1)).toBe(false);
      expect(await store.clearShadow!(n, 'missing', 0)).toBe(false);
    });
  });

  t.describe('lifecycle: leases', () => {
    t.itIf(on, why, 'generations: exactly one of concurrent puts of one generation wins; no skipping', async () => {
      const dbName = (await ns()).dbName;
      const name = `maint-${Math.random().toString(36).slice(2, 8)}`;
      expect(await store.getLease!(dbName, name)).toBeNull();
      expect(await store.putLease!(dbName, { name, gen: 2, holder: 'p0', expiresAt: 10 })).toBe(false);
      expect(await store.putLease!(dbName, { name, gen: 1, holder: 'p0', expiresAt: 10, data: { pass: 1, done: false } })).toBe(true);
      expect(await store.putLease!(dbName, { name, gen: 1, holder: 'p1', expiresAt: 10 })).toBe(false);
      const wins = await Promise.all(Array.from({ length: 8 }, (_, i) => store.putLease!(dbName, { name, gen: 2, holder: `p${i}`, expiresAt: 20 + i })));
      expect(wins.filter(Boolean)).toHaveLength(1);
      const winner = wins.indexOf(true);
      expect(await store.getLease!(dbName, name)).toEqual({ name, gen: 2, holder: `p${winner}`, expiresAt: 20 + winner });
      for (let g = 3; g <= 30; g++) expect(await store.putLease!(dbName, { name, gen: g, holder: 'p0', expiresAt: g, data: { pass: g } })).toBe(true);
      expect(await store.getLease!(dbName, name)).toEqual({ name, gen: 30, holder: 'p0', expiresAt: 30, data: { pass: 30 } });
      await expectCode(store.putLease!(dbName, { name: 'bad name!', gen: 1, holder: 'x', expiresAt: 1 }), VALIDATION);
    });
  });
}
