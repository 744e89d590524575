/**
 * Counter totals under folding (inserts only; FerretDB loses concurrent $inc), and reading them
 * costs a bounded number of event documents whatever the history of writer processes (issue 9
 * item 6). Counting once per cv and recounting are in the testkit suites (CounterStore
 * conformance, engine behaviour), run by every adapter.
 */
import { MongoClient } from 'mongodb';
import type { CounterScope } from '@chronos-db/core';
import { createMongoMetadataStore } from '@chronos-db/storage-mongo';
import { describeMongo, MONGO_URL, rand } from './helpers/env';

describeMongo('storage-mongo counters: folding into snapshots', () => {
  it('two processes (clients) incrementing concurrently through several folds lose nothing; reset starts from zero', async () => {
    const dbName = `ck_cnt_${rand(8)}`;
    const clients = [new MongoClient(MONGO_URL!), new MongoClient(MONGO_URL!)];
    const stores = clients.map((client) => createMongoMetadataStore({ client, dbName }));
    const scope: CounterScope = { dbName: `ck_${rand(8)}`, collection: 'c1', tenant: 't1' };
    try {
      const per = 230; // > the fold threshold (200) in each client
      await Promise.all(
        stores.map(async (s, k) => {
          for (let i = 0; i < per; i += 10) {
            await Promise.all(
              Array.from({ length: 10 }, (_, j) =>
                s.incrementCounters(scope, { field: (i + j) % 2 === 0 ? 'created' : 'updated', rules: k === 0 ? ['a'] : [] }),
              ),
            );
          }
        }),
      );
      const t = await stores[0]!.getCounters(scope);
      expect(t.created + t.updated).toBe(2 * per);
      expect(t.created).toBe(per);
      expect(t.rules.a?.created ?? 0).toBe(per / 2);
      expect((await stores[1]!.getCounters(scope)).created).toBe(per);
      // folding left snapshots: fewer event documents than increments
      const events = await clients[0]!.db(dbName).collection('cnt_events').countDocuments({});
      expect(events).toBeLessThan(2 * per);
      await stores[1]!.resetCounters(scope);
      expect(await stores[0]!.getCounters(scope)).toEqual({ created: 0, updated: 0, deleted: 0, rules: {} });
      await stores[0]!.incrementCounters(scope, { field: 'deleted', rules: ['a'] });
      expect(await stores[1]!.getCounters(scope)).toEqual({ created: 0, updated: 0, deleted: 1, rules: { a: { created: 0, updated: 0, deleted: 1 } } });
    } finally {
      for (const s of stores) await s.close();
      for (const c of clients) await c.close();
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
    const client = new MongoClient(MONGO_URL!);
    const events = client.db(dbName).collection('cnt_events');
    const reader = createMongoMetadataStore({ client, dbName });
    try {
      expect(await events.countDocuments({})).toBe(processes * per);
      const t = await reader.getCounters(scope);
      expect(t.created + t.updated).toBe(processes * per);
      expect(t.rules.odd!.created).toBe(odd);
      // the read folded what it would otherwise load on every call
      expect(await events.countDocuments({})).toBeLessThanOrEqual(200);
    } finally {
      await reader.close();
      await client.close();
    }
  });
});
