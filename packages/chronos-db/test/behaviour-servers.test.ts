import { runEngineBehaviour } from '@chronos-db/testkit';
import { createMongoMetadataStore } from '@chronos-db/storage-mongo';
import { createS3BlobStore } from '@chronos-db/storage-s3';
import { runCrashScenarios } from './crash/run-crash.js';
import { buckets, createBuckets, describeServers, serversEnv } from './helpers/servers.js';

/** The jest functions the testkit suites register their tests with (the suites take any runner's). */
const runner = { describe, it, beforeAll, afterAll };

describeServers('engine over FerretDB + Ceph RGW', (env) => {
  runEngineBehaviour(
    runner,
    'storage-mongo (FerretDB, no transactions) + storage-s3 (Ceph RGW)',
    async () => {
      const names = buckets('behave');
      await createBuckets(env, names);
      const meta = createMongoMetadataStore({ uri: env.mongoUrl });
      const blobs = createS3BlobStore({
        endpoint: env.s3Endpoint,
        region: 'us-east-1',
        accessKey: env.accessKey,
        secretKey: env.secretKey,
        forcePathStyle: true,
        ...names,
      });
      return {
        meta,
        blobs,
        counters: meta,
        teardown: async () => {
          await meta.close();
          await blobs.close();
        },
      };
    },
    { modelRuns: 40 },
  );
});

const env = serversEnv();
const names = buckets('crash');
runCrashScenarios(
  'storage-mongo (FerretDB) + storage-s3 (Ceph RGW)',
  () =>
    env && {
      kind: 'mongo-s3',
      mongoUri: env.mongoUrl,
      s3: { endpoint: env.s3Endpoint, region: 'us-east-1', accessKey: env.accessKey, secretKey: env.secretKey, forcePathStyle: true, ...names },
    },
  () => createBuckets(env!, names),
);
