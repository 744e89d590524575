import { runEngineBehaviour, storePair } from '@chronos-db/testkit';
import { createMongoMetadataStore } from '@chronos-db/storage-mongo';
import { createS3BlobStore } from '@chronos-db/storage-s3';
import { runCrashScenarios } from './crash/run-crash.js';
import { describeServers, serverStoreSpec, serverStoreSpecIfAny } from './helpers/servers.js';

/** The jest functions the testkit suites register their tests with (the suites take any runner's). */
const runner = { describe, it, beforeAll, afterAll };

describeServers('engine over FerretDB + Ceph RGW', (env) => {
  runEngineBehaviour(
    runner,
    'storage-mongo (FerretDB, no transactions) + storage-s3 (Ceph RGW)',
    async () => {
      const { mongoUri, s3 } = await serverStoreSpec(env, 'behave');
      const meta = createMongoMetadataStore({ uri: mongoUri });
      return storePair(meta, createS3BlobStore(s3), { counters: meta });
    },
    { modelRuns: 40 },
  );
});

const servers = serverStoreSpecIfAny('crash');
runCrashScenarios('storage-mongo (FerretDB) + storage-s3 (Ceph RGW)', servers.spec, servers.prepare);
