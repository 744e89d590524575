import { MongoClient } from 'mongodb';
import { runQueueStoreConformance } from '@chronos-db/testkit';
import { createMongoQueueStore } from '@chronos-db/storage-mongo';
import { describeMongo, MONGO_URL, rand } from './helpers/env';

/** The jest functions the testkit suites register their tests with (the suites take any runner's). */
const runner = { describe, it, beforeAll, afterAll, afterEach };

describeMongo('storage-mongo queue on FerretDB', () => {
  runQueueStoreConformance(
    runner,
    'mongo queue (insert-unique leases)',
    async () => {
      const dbName = `ck_q_${rand(8)}`;
      const open = () => createMongoQueueStore({ uri: MONGO_URL!, dbName, deadLetterCollection: 'dead' });
      return {
        store: open(),
        reopen: async () => open(),
        teardown: async () => {
          const c = new MongoClient(MONGO_URL!);
          await c
            .db(dbName)
            .dropDatabase()
            .catch(() => {});
          await c.close();
        },
      };
    },
    { raceOps: 100, erase: true },
  );
});
