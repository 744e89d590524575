/** commit: creates and updates land as head + version; head state, shadow, forWrite and prev. */
import type { HeadDoc } from '@chronos-db/core';
import { expect } from '../../assert.js';
import { clean, expectCode, mkVersion, OPTIMISTIC_LOCK, rand } from '../helpers.js';
import { STATES } from './context.js';
import type { MetaSuite } from './context.js';

export function commitTests(s: MetaSuite): void {
  const { t, store, ns, create, next } = s;
  t.describe('commit', () => {
    t.it('creates a record: head and version 0', async () => {
      const n = await ns();
      const v = mkVersion(n, 'r1', 0, {
        actor: 'alice',
        reason: 'first',
        requestId: `req-${rand()}`,
        requestHash: 'h'.repeat(64),
        functionIds: ['f1', 'f2'],
        blobs: { 'doc.file': { key: 'k/blob.bin', size: 3, sha256: 'b'.repeat(64), contentType: 'application/pdf', textKey: 'k/text.txt' } },
        metaIndexed: { name: 'Zoë ✓', n: 1.5, nested: { deep: { x: [1, 'two', null] } }, flag: true, nothing: null },
      });
      const { cv } = await store.commit({ ns: n, version: v, expectedOv: null, head: { createdAt: 1234, state: 'new' } });
      expect(Number.isInteger(cv)).toBe(true);
      expect(cv).toBeGreaterThan(0);
      const head = await store.getHead(n, 'r1');
      expect(head).not.toBeNull();
      expect(clean(head!)).toEqual(clean({ ...v, cv, createdAt: 1234, state: 'new' }));
      const versions = await store.listVersions(n, 'r1');
      expect(versions.map(clean)).toEqual([clean({ ...v, cv })]);
      expect(clean((await store.getVersion(n, 'r1', { ov: 0 }))!)).toEqual(clean({ ...v, cv }));
    });

    t.it('getHead forWrite answers what getHead answers; a commit with prev (the head it read) lands like one without', async () => {
      const n = await ns();
      expect(await store.getHead(n, 'w1', { forWrite: true })).toBeNull();
      const c0 = await store.commit({ ns: n, version: mkVersion(n, 'w1', 0), expectedOv: null, head: { createdAt: 77 } });
      const h0 = await store.getHead(n, 'w1', { forWrite: true });
      expect(clean(h0!)).toEqual(clean((await store.getHead(n, 'w1'))!));
      const c1 = await store.commit({ ns: n, version: mkVersion(n, 'w1', 1), expectedOv: 0, head: {}, prev: { cv: h0!.cv, createdAt: h0!.createdAt } });
      expect(c1.cv).toBeGreaterThan(c0.cv);
      const h1 = await store.getHead(n, 'w1');
      expect(h1).toMatchObject({ ov: 1, cv: c1.cv, createdAt: 77 });
      // prev does not excuse a stale expectedOv
      await expectCode(store.commit({ ns: n, version: mkVersion(n, 'w1', 1), expectedOv: 0, head: {}, prev: { cv: h0!.cv, createdAt: 77 } }), OPTIMISTIC_LOCK);
      expect((await store.listVersions(n, 'w1')).map((v) => v.ov)).toEqual([0, 1]);
    });

    t.it('a create without a state gets a valid state', async () => {
      const n = await ns();
      await create(n, 'r1');
      const head = await store.getHead(n, 'r1');
      expect(STATES).toContain(head!.state);
    });

    t.it('updates with the matching expectedOv', async () => {
      const n = await ns();
      const a = await create(n, 'r1', {}, { createdAt: 777, state: 'new' });
      const b = await next(n, 'r1', 0, { metaIndexed: { n: 'one' }, op: 'UPDATE' }, { createdAt: 999 });
      const c = await next(n, 'r1', 1, { op: 'DELETE', deleted: true, metaIndexed: {} });
      expect(b.cv).toBeGreaterThan(a.cv);
      expect(c.cv).toBeGreaterThan(b.cv);
      const head = await store.getHead(n, 'r1');
      expect(head!.ov).toBe(2);
      expect(head!.cv).toBe(c.cv);
      expect(head!.deleted).toBe(true);
      expect(head!.op).toBe('DELETE');
      expect(head!.jsonKey).toBe(c.version.jsonKey);
      expect(head!.createdAt).toBe(777); // createdAt is ignored on update
      expect(head!.state).toBe('new'); // state kept when not given
      expect((await store.listVersions(n, 'r1')).map((v) => [v.ov, v.cv])).toEqual([
        [0, a.cv],
        [1, b.cv],
        [2, c.cv],
      ]);
    });

    t.it('stores the given head state on update', async () => {
      const n = await ns();
      await create(n, 'r1', {}, { createdAt: 1, state: 'new' });
      await next(n, 'r1', 0, {}, { state: 'processed' });
      expect((await store.getHead(n, 'r1'))!.state).toBe('processed');
    });

    t.it('stores, keeps and clears the shadow', async () => {
      const n = await ns();
      const shadow = { json: '{"a":1,"ü":"✓"}', expiresAt: 1_800_000_000_000 };
      await create(n, 'r1', {}, { createdAt: 1, shadow });
      expect((await store.getHead(n, 'r1'))!.shadow).toEqual(shadow);
      await next(n, 'r1', 0, {}, {});
      expect((await store.getHead(n, 'r1'))!.shadow).toEqual(shadow);
      const shadow2 = { json: '{"a":2}', expiresAt: 1_800_000_000_001 };
      await next(n, 'r1', 1, {}, { shadow: shadow2 });
      expect((await store.getHead(n, 'r1'))!.shadow).toEqual(shadow2);
      await next(n, 'r1', 2, {}, { shadow: null });
      expect((await store.getHead(n, 'r1'))!.shadow ?? undefined).toBeUndefined();
      // versions never carry the shadow
      for (const v of await store.listVersions(n, 'r1')) expect((v as HeadDoc).shadow).toBeUndefined();
    });
  });
}
