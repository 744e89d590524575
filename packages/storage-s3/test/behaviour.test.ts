/**
 * The testkit engine behaviour suite with payloads on the Ceph gateway:
 * metadata in SQLite (always), and in MongoDB/FerretDB when CHRONOS_TEST_MONGO_URL is set.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runEngineBehaviour, storePair } from '@chronos-db/testkit';
import { createLocalMetadataStore } from '@chronos-db/storage-local';
import { createMongoMetadataStore } from '@chronos-db/storage-mongo';
import { describeS3, s3Blobs } from './helpers/env.js';

/** The jest functions the testkit suites register their tests with (the suites take any runner's). */
const runner = { describe, it, beforeAll, afterAll };

describeS3('storage-s3 under the engine', (env) => {
  runEngineBehaviour(
    runner,
    'SQLite metadata + S3 payloads (radosgw)',
    async () => {
      const basePath = mkdtempSync(join(tmpdir(), 'chronos-s3-behaviour-'));
      const meta = createLocalMetadataStore({ basePath });
      const { blobs, drop } = await s3Blobs(env, 'bh');
      return storePair(meta, blobs, { counters: meta, cleanup: drop });
    },
    { raceRounds: 20, modelRuns: 30, restoreRecords: 40 },
  );

  // The production pairing: Mongo metadata (FerretDB here) + S3 payloads.
  const mongoUrl = process.env.CHRONOS_TEST_MONGO_URL;
  if (!mongoUrl) {
    if (process.env.CI === 'true') {
      it('has its Mongo test server', () => {
        throw new Error('CI=true but CHRONOS_TEST_MONGO_URL is not set (scripts/ferretdb.sh start)');
      });
    } else {
      console.log('[skip] Mongo + S3 engine behaviour: needs CHRONOS_TEST_MONGO_URL (scripts/ferretdb.sh start)');
    }
    return;
  }
  runEngineBehaviour(
    runner,
    'Mongo metadata + S3 payloads (FerretDB + radosgw)',
    async () => {
      const { blobs, drop } = await s3Blobs(env, 'bhm');
      return storePair(createMongoMetadataStore({ uri: mongoUrl }), blobs, { cleanup: drop });
    },
    // Counter totals are a metadata concern, checked by storage-mongo's own suites; this pass is about payloads on S3.
    { raceRounds: 20, modelRuns: 30, restoreRecords: 40, counters: false },
  );
});
