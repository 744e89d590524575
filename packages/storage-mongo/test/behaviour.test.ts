/** The engine behaviour suite over this MetadataStore (FerretDB) and filesystem blobs. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runEngineBehaviour, storePair } from '@chronos-db/testkit';
import { createLocalBlobStore } from '@chronos-db/storage-local';
import { createMongoMetadataStore } from '@chronos-db/storage-mongo';
import { describeMongo, MONGO_URL } from './helpers/env';

/** The jest functions the testkit suites register their tests with (the suites take any runner's). */
const runner = { describe, it, beforeAll, afterAll };

describeMongo('storage-mongo under the engine', () => {
  runEngineBehaviour(
    runner,
    'storage-mongo (FerretDB, no transactions) + filesystem blobs',
    async () => {
      const basePath = mkdtempSync(join(tmpdir(), 'chronos-mongo-behaviour-'));
      const meta = createMongoMetadataStore({ uri: MONGO_URL! });
      return storePair(meta, createLocalBlobStore({ basePath }), { counters: meta, cleanup: () => rmSync(basePath, { recursive: true, force: true }) });
    },
    { modelRuns: 40 },
  );
});
