import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runBlobStoreConformance, runCounterStoreConformance, runMetadataStoreConformance, runQueueStoreConformance } from '@chronos-db/testkit';
import { createLocalBlobStore, createLocalMetadataStore, createLocalQueueStore } from '@chronos-db/storage-local';

/** The jest functions the testkit suites register their tests with (the suites take any runner's). */
const runner = { describe, it, beforeAll, afterAll, afterEach };

const tmp = () => mkdtempSync(join(tmpdir(), 'chronos-local-'));

runMetadataStoreConformance(
  runner,
  'storage-local (SQLite file)',
  async () => {
    const dir = tmp();
    const store = createLocalMetadataStore({ basePath: dir });
    return {
      store,
      teardown: async () => {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
  { commitMany: true, changesAfter: true, headsByState: true, deleteVersions: true, listNamespaces: true, lifecycle: true, findByRequestIds: true },
);

runCounterStoreConformance(
  runner,
  'storage-local (SQLite file)',
  async () => {
    const dir = tmp();
    const store = createLocalMetadataStore({ filename: join(dir, 'counters.sqlite') });
    return {
      store,
      teardown: async () => {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
  { recount: true },
);

runBlobStoreConformance(
  runner,
  'storage-local (filesystem)',
  async () => {
    const dir = tmp();
    const store = createLocalBlobStore({ basePath: dir });
    return {
      store,
      teardown: async () => {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
  { capabilities: { presign: false }, getRange: true },
);

runQueueStoreConformance(
  runner,
  'storage-local (SQLite journal)',
  async () => {
    const dir = tmp();
    return {
      store: createLocalQueueStore({ path: dir }),
      reopen: async () => createLocalQueueStore({ path: dir }),
      teardown: async () => rmSync(dir, { recursive: true, force: true }),
    };
  },
  { raceOps: 2000, erase: true },
);
