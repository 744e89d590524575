/** MetadataStore basics: ping, ensureNamespace, empty reads, invalid namespaces. */
import type { Namespace } from '@chronos-db/core';
import { expect } from '../../assert.js';
import { expectCode, freshNs, rand, VALIDATION } from '../helpers.js';
import type { MetaSuite } from './context.js';

export function basicsTests(s: MetaSuite): void {
  const { t, store, ns } = s;
  t.describe('basics', () => {
    t.it('answers ping', async () => {
      await expect(store.ping()).resolves.toBeUndefined();
    });

    t.it('ensureNamespace is idempotent', async () => {
      const n = freshNs();
      await store.ensureNamespace(n);
      await store.ensureNamespace(n);
      await Promise.all([store.ensureNamespace(n), store.ensureNamespace(n)]);
      expect(await store.getHead(n, 'nobody')).toBeNull();
    });

    t.it('reads of an empty namespace find nothing', async () => {
      const n = await ns();
      expect(await store.getHead(n, 'x1')).toBeNull();
      expect(await store.getVersion(n, 'x1', { ov: 0 })).toBeNull();
      expect(await store.getVersion(n, 'x1', { at: Date.now() })).toBeNull();
      expect(await store.getVersion(n, 'x1', { cv: 1_000_000 })).toBeNull();
      expect(await store.listVersions(n, 'x1')).toEqual([]);
      expect(await store.findByRequestId(n, 'r1')).toBeNull();
      expect(await store.queryHeads(n, { limit: 10 })).toEqual([]);
      expect(await store.currentCv(n)).toBe(0);
      expect(await store.setState(n, 'x1', 'processed')).toBe(false);
      expect(await store.hardDelete(n, 'x1')).toEqual([]);
    });

    t.it('rejects an invalid namespace with ValidationError', async () => {
      const bad: Namespace = { dbName: `ck_${rand(6)}`, collection: '../x' };
      await expectCode(store.getHead(bad, 'a'), VALIDATION);
      await expectCode(store.getHead({ dbName: '../x', collection: 'c1' }, 'a'), VALIDATION);
      await expectCode(store.getHead({ dbName: `ck_${rand(6)}`, collection: 'c1', tenant: 'a/../b' }, 'a'), VALIDATION);
    });
  });
}
