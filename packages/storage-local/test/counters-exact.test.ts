/**
 * Counter totals on SQLite stay exact (issue 9 item 6): an increment is counted once per version
 * (keyed by its cv), and a count lost between a commit and its increment (an injected failure)
 * is restored by a recount from the version index.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CollectionEngine, type CounterScope, type CounterStore, type Namespace } from '@chronos-db/core';
import { createLocalBlobStore, createLocalMetadataStore } from '@chronos-db/storage-local';

const ZERO = { created: 0, updated: 0, deleted: 0 };
const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'chronos-local-counters-'));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('storage-local counters: exact totals', () => {
  it('an increment carrying a cv is counted once, however often it is repeated', async () => {
    const store = createLocalMetadataStore({ basePath: tmp() });
    const scope: CounterScope = { dbName: 'db', collection: 'c', tenant: 't' };
    try {
      await store.incrementCounters(scope, { field: 'created', rules: ['r'], cv: 7 });
      await store.incrementCounters(scope, { field: 'created', rules: ['r'], cv: 7 });
      await Promise.all([1, 2, 3].map(() => store.incrementCounters(scope, { field: 'updated', rules: [], cv: 8 })));
      expect(await store.getCounters(scope)).toEqual({ created: 1, updated: 1, deleted: 0, rules: { r: { created: 1 } } });
      await expect(store.incrementCounters(scope, { field: 'created', rules: [], cv: -1 })).rejects.toMatchObject({ name: 'ValidationError' });
    } finally {
      await store.close();
    }
  });

  it('a count lost between commit and increment (injected failure) is restored exactly by recount; a second recount changes nothing', async () => {
    const basePath = tmp();
    const meta = createLocalMetadataStore({ basePath });
    const blobs = createLocalBlobStore({ basePath });
    const ns: Namespace = { dbName: 'db', collection: 'orders' };
    let calls = 0;
    // the real store, whose every third increment fails after the commit it counts
    const flaky: CounterStore = {
      incrementCounters: async (s, inc) => {
        if (++calls % 3 === 0) throw new Error('injected: process died between commit and count');
        return meta.incrementCounters(s, inc);
      },
      getCounters: (s) => meta.getCounters(s),
      resetCounters: (s) => meta.resetCounters(s),
      recountCounters: (s, src) => meta.recountCounters(s, src),
    };
    const rules = [
      { name: 'big', when: { amount: { $gte: 100 } } },
      { name: 'vipPayload', scope: 'payload' as const, on: ['CREATE' as const], when: { vip: true } },
    ];
    const engine = new CollectionEngine({ ns, meta, blobs, counters: flaky, counterRules: rules, map: { indexedProps: ['amount'] } });
    const scope: CounterScope = { dbName: ns.dbName, collection: ns.collection };
    try {
      const ids: string[] = [];
      for (let i = 0; i < 8; i++) ids.push((await engine.create({ amount: i * 30, vip: i % 2 === 0 })).id);
      for (const id of ids.slice(0, 5)) await engine.update(id, { amount: 500, vip: false });
      for (const id of ids.slice(0, 2)) await engine.delete(id);
      const want = { created: 8, updated: 5, deleted: 2, rules: { big: { created: 4, updated: 5, deleted: 2 }, vipPayload: { created: 4 } } };
      const before = await meta.getCounters(scope);
      expect(before.created + before.updated + before.deleted).toBe(15 - 5); // 5 of 15 counts were lost
      expect(await engine.recountCounters()).toEqual(want);
      expect(await meta.getCounters(scope)).toEqual(want);
      expect(await engine.recountCounters()).toEqual(want);
      // an increment the recount covers adds nothing; a later version adds
      await meta.incrementCounters(scope, { field: 'created', rules: ['big'], cv: 1 });
      calls = 0;
      await engine.create({ amount: 1000 });
      expect(await meta.getCounters(scope)).toEqual({ ...want, created: 9, rules: { ...want.rules, big: { ...want.rules.big, created: 5 } } });
      // reset still starts from zero
      await meta.resetCounters(scope);
      expect(await meta.getCounters(scope)).toEqual({ ...ZERO, rules: {} });
    } finally {
      await meta.close();
      await blobs.close();
    }
  });
});
