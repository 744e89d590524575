/**
 * The testkit conformance suites on FerretDB, once per query branch: the FerretDB branch
 * (`_id` seeks, what `dialect: 'auto'` picks here) and the MongoDB branch forced on FerretDB
 * (indexed queries, `{ _id, ov: { $lt } }` head upserts), so code that only real MongoDB would
 * run is exercised here too. The suite titles name the branch.
 */
import { MongoClient } from 'mongodb';
import { runCounterStoreConformance, runMetadataStoreConformance } from '@chronos-db/testkit';
import { createMongoMetadataStore } from '@chronos-db/storage-mongo';
import { mongoStoreFactory, mongoSuiteOptions, runner } from './helpers/conformance';
import { describeMongo, MONGO_URL, rand } from './helpers/env';

// The MongoDB branch scans on FerretDB (it pushes down only `{ _id }`): its bulk cases take a few
// times longer than on the FerretDB branch, and the shared test server is often busy.
jest.setTimeout(600_000);

describeMongo('storage-mongo on FerretDB', () => {
  for (const dialect of ['ferretdb', 'mongodb'] as const) {
    runMetadataStoreConformance(
      runner,
      `mongo, ${dialect} branch${dialect === 'mongodb' ? ' forced on FerretDB' : ' (as detected)'} (shared client by uri)`,
      mongoStoreFactory({ uri: MONGO_URL!, dialect }),
      mongoSuiteOptions(false),
    );
  }
  runCounterStoreConformance(runner, 'mongo counters in the scope dbName', mongoStoreFactory({ uri: MONGO_URL! }), { recount: true });
  runCounterStoreConformance(
    runner,
    'mongo counters in a configured counters dbName (injected client)',
    async () => {
      const client = new MongoClient(MONGO_URL!, { monitorCommands: true });
      const store = createMongoMetadataStore({ client, dbName: `ck_counters_${rand(8)}` });
      return {
        store,
        teardown: async () => {
          await store.close();
          await client.close();
        },
      };
    },
    { recount: true },
  );
});
