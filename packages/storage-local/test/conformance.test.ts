import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runBlobStoreConformance, runCounterStoreConformance, runMetadataStoreConformance } from '@chronos-db/testkit';
import { createLocalBlobStore, createLocalMetadataStore } from '@chronos-db/storage-local';

const tmp = () => mkdtempSync(join(tmpdir(), 'chronos-local-'));

runMetadataStoreConformance('storage-local (SQLite file)', async () => {
  const dir = tmp();
  const store = createLocalMetadataStore({ basePath: dir });
  return {
    store,
    teardown: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

runCounterStoreConformance('storage-local (SQLite file)', async () => {
  const dir = tmp();
  const store = createLocalMetadataStore({ filename: join(dir, 'counters.sqlite') });
  return {
    store,
    teardown: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

runBlobStoreConformance('storage-local (filesystem)', async () => {
  const dir = tmp();
  const store = createLocalBlobStore({ basePath: dir });
  return {
    store,
    teardown: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
