/**
 * The testkit suites under node's own test runner (node:test), not jest: run by
 * node-test-runner.test.ts as `node --import tsx --test` from the repository root.
 * The filesystem store declares presign: false, so its presign test must show as skipped.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runBlobStoreConformance, runMetadataStoreConformance } from '@chronos-db/testkit';
import { createLocalBlobStore, createLocalMetadataStore } from '@chronos-db/storage-local';

const runner = { describe, it, before, after };

runBlobStoreConformance(
  runner,
  'storage-local (filesystem) under node:test',
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chronos-node-test-'));
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

runMetadataStoreConformance(
  runner,
  'storage-local (SQLite file) under node:test',
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chronos-node-test-'));
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
