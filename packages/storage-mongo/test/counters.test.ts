/** Counter totals under folding (inserts only; FerretDB loses concurrent $inc). */
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
});
