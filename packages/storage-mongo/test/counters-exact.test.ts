/**
 * Counter totals stay exact (issue 9 item 6): an increment is counted once per version (keyed by
 * its cv), a count lost between a commit and its increment (an injected failure) is restored by
 * a recount from the version index, and reading totals loads a bounded number of event
 * documents whatever the history of writer processes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { CollectionEngine, type CounterScope, type CounterStore, type Namespace } from '@chronos-db/core';
import { createLocalBlobStore } from '@chronos-db/storage-local';
import { createMongoMetadataStore } from '@chronos-db/storage-mongo';
import { describeMongo, MONGO_URL, rand } from './helpers/env';

const ZERO = { created: 0, updated: 0, deleted: 0 };

describeMongo('storage-mongo counters: exact totals', () => {
  let client: MongoClient;
  beforeAll(() => {
    client = new MongoClient(MONGO_URL!);
  });
  afterAll(async () => {
    await client.close();
  });

  it('an increment carrying a cv is counted once, however often it is repeated', async () => {
    const store = createMongoMetadataStore({ client, dbName: `cx_${rand(8)}` });
    const scope: CounterScope = { dbName: `cx_${rand(8)}`, collection: 'c' };
    try {
      await store.incrementCounters(scope, { field: 'created', rules: ['r'], cv: 7 });
      await store.incrementCounters(scope, { field: 'created', rules: ['r'], cv: 7 });
      await Promise.all([1, 2, 3].map(() => store.incrementCounters(scope, { field: 'updated', rules: [], cv: 8 })));
      expect(await store.getCounters(scope)).toEqual({ created: 1, updated: 1, deleted: 0, rules: { r: { ...ZERO, created: 1 } } });
    } finally {
      await store.close();
    }
  });

  it('a count lost between commit and increment (injected failure) is restored exactly by recount; a second recount changes nothing', async () => {
    const basePath = mkdtempSync(join(tmpdir(), 'chronos-mongo-recount-'));
    const meta = createMongoMetadataStore({ client });
    const counters = createMongoMetadataStore({ client, dbName: `cx_${rand(8)}` });
    const blobs = createLocalBlobStore({ basePath });
    const ns: Namespace = { dbName: `cx_${rand(8)}`, collection: 'orders' };
    let calls = 0;
    // a real counter store whose every third increment fails after the commit it counts
    const flaky: CounterStore = {
      incrementCounters: async (s, inc) => {
        if (++calls % 3 === 0) throw new Error('injected: process died between commit and count');
        return counters.incrementCounters(s, inc);
      },
      getCounters: (s) => counters.getCounters(s),
      resetCounters: (s) => counters.resetCounters(s),
      recountCounters: (s, src) => counters.recountCounters(s, src),
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
      const want = {
        created: 8,
        updated: 5,
        deleted: 2,
        rules: { big: { created: 4, updated: 5, deleted: 2 }, vipPayload: { created: 4, updated: 0, deleted: 0 } },
      };
      const before = await counters.getCounters(scope);
      expect(before.created + before.updated + before.deleted).toBe(15 - 5); // 5 of 15 counts were lost
      expect(await engine.recountCounters()).toEqual(want);
      expect(await counters.getCounters(scope)).toEqual(want);
      // replaying the increments of versions the recount covers adds nothing; later ones add
      expect(await engine.recountCounters()).toEqual(want);
      await counters.incrementCounters(scope, { field: 'created', rules: ['big'], cv: 1 });
      calls = 0;
      await engine.create({ amount: 1000 });
      expect(await counters.getCounters(scope)).toEqual({ ...want, created: 9, rules: { ...want.rules, big: { ...want.rules.big, created: 5 } } });
    } finally {
      await meta.close();
      await counters.close();
      await blobs.close();
      rmSync(basePath, { recursive: true, force: true });
    }
  });

  it('totals read from a bounded number of events after many short-lived writer processes that never folded', async () => {
    const dbName = `cx_${rand(8)}`;
    const scope: CounterScope = { dbName: `cx_${rand(8)}`, collection: 'c' };
    const processes = 12;
    const per = 40; // fewer than any process-local fold threshold
    let cv = 1;
    let odd = 0;
    for (let p = 0; p < processes; p++) {
      const c = new MongoClient(MONGO_URL!);
      const s = createMongoMetadataStore({ client: c, dbName });
      for (let i = 0; i < per; i += 20) {
        await Promise.all(
          Array.from({ length: 20 }, (_, j) => {
            const mine = cv++;
            if (mine % 100 !== 0 && j % 2) odd++;
            // cvs that are multiples of 100 trigger a fold: skip them, as if those writers were unlucky
            return mine % 100 === 0
              ? s.incrementCounters(scope, { field: 'updated', rules: [] })
              : s.incrementCounters(scope, { field: 'created', rules: j % 2 ? ['odd'] : [], cv: mine });
          }),
        );
      }
      await s.close();
      await c.close();
    }
    const events = client.db(dbName).collection('cnt_events');
    expect(await events.countDocuments({})).toBe(processes * per);
    const reader = createMongoMetadataStore({ client, dbName });
    try {
      const t = await reader.getCounters(scope);
      expect(t.created + t.updated).toBe(processes * per);
      expect(t.rules.odd!.created).toBe(odd);
      // the read folded what it would otherwise load on every call
      expect(await events.countDocuments({})).toBeLessThanOrEqual(200);
    } finally {
      await reader.close();
    }
  });
});
