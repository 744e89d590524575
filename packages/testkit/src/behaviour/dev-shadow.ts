/** devShadow: the latest payload is served from the head, without a GET. */
import { CollectionEngine } from '@chronos-db/core';
import { expect } from '../assert.js';
import { FaultyBlobStore, InjectedFault } from './faults.js';
import type { BehaviourSuite } from './context.js';

export function devShadowTests(b: BehaviourSuite): void {
  const { t, stores, engine } = b;
  t.describe('devShadow', () => {
    t.it('devShadow serves the latest payload from the head without a GET', async () => {
      const e = engine({ devShadow: { enabled: true, ttlHours: 1 } });
      const c = await e.create({ hello: 'shadow' });
      const faulty = new FaultyBlobStore(stores.blobs);
      const reader = new CollectionEngine({ ns: e.ns, meta: stores.meta, blobs: faulty, devShadow: { enabled: true, ttlHours: 1 } });
      faulty.failNext('get', Infinity);
      expect(await reader.getLatest(c.id)).toMatchObject({ hello: 'shadow' });
      await expect(reader.getVersion(c.id, 0)).rejects.toBeInstanceOf(InjectedFault);
    });
  });
}
