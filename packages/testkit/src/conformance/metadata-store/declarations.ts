/**
 * What the store declares: its capability flags and which optional methods it offers, as the
 * suite was told. Registered last, so a store that learns its capabilities from its server
 * (storage-mongo detects transactions on first use) has done so.
 */
import { expect } from '../../assert.js';
import type { MetaSuite } from './context.js';

export function declarationTests(s: MetaSuite): void {
  const { t, store, opts } = s;
  t.describe('declarations', () => {
    t.it('declares its capabilities', async () => {
      expect(typeof store.capabilities.transactions).toBe('boolean');
      if (opts.transactions !== undefined) expect(store.capabilities.transactions).toBe(opts.transactions);
    });

    t.it(
      'offers exactly the optional methods the suite was told (commitMany, scanHeads, changesAfter, findHeadsByState, deleteVersions, listNamespaces, findByRequestIds)',
      async () => {
        expect({
          commitMany: typeof store.commitMany,
          scanHeads: typeof store.scanHeads,
          changesAfter: typeof store.changesAfter,
          findHeadsByState: typeof store.findHeadsByState,
          deleteVersions: typeof store.deleteVersions,
          listNamespaces: typeof store.listNamespaces,
          findByRequestIds: typeof store.findByRequestIds,
        }).toEqual({
          commitMany: opts.commitMany ? 'function' : 'undefined',
          scanHeads: opts.scanHeads ? 'function' : 'undefined',
          changesAfter: opts.changesAfter ? 'function' : 'undefined',
          findHeadsByState: opts.headsByState ? 'function' : 'undefined',
          deleteVersions: opts.deleteVersions ? 'function' : 'undefined',
          listNamespaces: opts.listNamespaces ? 'function' : 'undefined',
          findByRequestIds: opts.findByRequestIds ? 'function' : 'undefined',
        });
      },
    );

    t.it('offers all the lifecycle methods or none, as the suite was told (option lifecycle)', async () => {
      const life = [store.beginErasure, store.finishErasure, store.erasedIds, store.listErasures, store.clearShadow, store.getLease, store.putLease].map(
        (f) => typeof f,
      );
      expect(life).toEqual(Array(7).fill(opts.lifecycle ? 'function' : 'undefined'));
    });
  });
}
