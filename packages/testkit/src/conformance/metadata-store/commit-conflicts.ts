/** commit conflicts: a stale or impossible expectedOv is refused and leaves no trace (I4). */
import { compileFilter } from '@chronos-db/core';
import { expect } from '../../assert.js';
import { expectCode, mkVersion, OPTIMISTIC_LOCK } from '../helpers.js';
import type { MetaSuite } from './context.js';

export function commitConflictTests(s: MetaSuite): void {
  const { t, store, ns, chain } = s;
  t.describe('commit conflicts', () => {
    t.it('rejects a stale expectedOv with OptimisticLockError and leaves no trace', async () => {
      const n = await ns();
      await chain(n, 'r1', 3);
      const headBefore = await store.getHead(n, 'r1');
      const versionsBefore = await store.listVersions(n, 'r1');
      for (const stale of [0, 1, 3, 7]) {
        const version = mkVersion(n, 'r1', stale + 1, { metaIndexed: { stale: true } });
        await expectCode(store.commit({ ns: n, version, expectedOv: stale, head: { state: 'processed' } }), OPTIMISTIC_LOCK);
      }
      expect(await store.getHead(n, 'r1')).toEqual(headBefore);
      expect(await store.listVersions(n, 'r1')).toEqual(versionsBefore);
      expect(await store.queryHeads(n, { limit: 10, filter: compileFilter({ stale: true })! })).toEqual([]);
    });

    t.it('rejects a create over an existing head and leaves no trace', async () => {
      const n = await ns();
      await chain(n, 'r1', 2);
      const headBefore = await store.getHead(n, 'r1');
      const versionsBefore = await store.listVersions(n, 'r1');
      const version = mkVersion(n, 'r1', 0, { metaIndexed: { again: true } });
      await expectCode(store.commit({ ns: n, version, expectedOv: null, head: { createdAt: 5 } }), OPTIMISTIC_LOCK);
      expect(await store.getHead(n, 'r1')).toEqual(headBefore);
      expect(await store.listVersions(n, 'r1')).toEqual(versionsBefore);
    });

    t.it('rejects an update of a missing record with OptimisticLockError', async () => {
      const n = await ns();
      await expectCode(store.commit({ ns: n, version: mkVersion(n, 'ghost', 1), expectedOv: 0, head: {} }), OPTIMISTIC_LOCK);
      expect(await store.getHead(n, 'ghost')).toBeNull();
      expect(await store.listVersions(n, 'ghost')).toEqual([]);
    });

    t.it('rejects a version whose ov is not expectedOv + 1 and leaves no trace', async () => {
      const n = await ns();
      await chain(n, 'r1', 2);
      const headBefore = await store.getHead(n, 'r1');
      const versionsBefore = await store.listVersions(n, 'r1');
      await expect(store.commit({ ns: n, version: mkVersion(n, 'r1', 1), expectedOv: 1, head: {} })).rejects.toThrow();
      await expect(store.commit({ ns: n, version: mkVersion(n, 'r1', 5), expectedOv: 1, head: {} })).rejects.toThrow();
      await expect(store.commit({ ns: n, version: mkVersion(n, 'r2', 1), expectedOv: null, head: { createdAt: 1 } })).rejects.toThrow();
      expect(await store.getHead(n, 'r1')).toEqual(headBefore);
      expect(await store.listVersions(n, 'r1')).toEqual(versionsBefore);
      expect(await store.getHead(n, 'r2')).toBeNull();
    });
  });
}
