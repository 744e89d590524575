import { MongoClient } from 'mongodb';
import { runCounterStoreConformance, runMetadataStoreConformance } from '@chronos-db/testkit';
import { createMongoMetadataStore } from '@chronos-db/storage-mongo';
import { describeMongo, MONGO_URL, rand } from './helpers/env';

/** The jest functions the testkit suites register their tests with (the suites take any runner's). */
const runner = { describe, it, beforeAll, afterAll };

describeMongo('storage-mongo on FerretDB', () => {
  runMetadataStoreConformance(runner, 'mongo (shared client by uri)', async () => {
    const store = createMongoMetadataStore({ uri: MONGO_URL! });
    return { store, teardown: () => store.close() };
  }, { commitMany: true, scanHeads: true });
  runCounterStoreConformance(runner, 'mongo counters in the scope dbName', async () => {
    const store = createMongoMetadataStore({ uri: MONGO_URL! });
    return { store, teardown: () => store.close() };
  });
  runCounterStoreConformance(runner, 'mongo counters in a configured counters dbName (injected client)', async () => {
    const client = new MongoClient(MONGO_URL!, { monitorCommands: true });
    const store = createMongoMetadataStore({ client, dbName: `ck_counters_${rand(8)}` });
    return { store, teardown: async () => { await store.close(); await client.close(); } };
  });
});
