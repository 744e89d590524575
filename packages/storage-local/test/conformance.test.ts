import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runBlobStoreConformance, runCounterStoreConformance, runMetadataStoreConformance, runQueueStoreConformance } from '@chronos-db/testkit';
import { createLocalBlobStore, createLocalMetadataStore, createLocalQueueStore } from '@chronos-db/storage-local';
import { LOCAL_METADATA_SUITE, tmpStore } from './helpers/tmp-store';

/** The jest functions the testkit suites register their tests with (the suites take any runner's). */
const runner = { describe, it, beforeAll, afterAll, afterEach };

const PREFIX = 'chronos-local-';

runMetadataStoreConformance(
  runner,
  'storage-local (SQLite file)',
  tmpStore(PREFIX, (dir) => createLocalMetadataStore({ basePath: dir })),
  LOCAL_METADATA_SUITE,
);

runCounterStoreConformance(
  runner,
  'storage-local (SQLite file)',
  tmpStore(PREFIX, (dir) => createLocalMetadataStore({ filename: join(dir, 'counters.sqlite') })),
  { recount: true },
);

runBlobStoreConformance(
  runner,
  'storage-local (filesystem)',
  tmpStore(PREFIX, (dir) => createLocalBlobStore({ basePath: dir })),
  { capabilities: { presign: false }, getRange: true, purgePrefix: true },
);

runQueueStoreConformance(
  runner,
  'storage-local (SQLite journal)',
  async () => {
    const dir = mkdtempSync(join(tmpdir(), PREFIX));
    return {
      store: createLocalQueueStore({ path: dir }),
      reopen: async () => createLocalQueueStore({ path: dir }),
      teardown: async () => rmSync(dir, { recursive: true, force: true }),
    };
  },
  { raceOps: 2000, erase: true },
);
