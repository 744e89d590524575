import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runEngineBehaviour } from '@chronos-db/testkit';
import { createLocalBlobStore, createLocalMetadataStore } from '@chronos-db/storage-local';

/** The jest functions the testkit suites register their tests with (the suites take any runner's). */
const runner = { describe, it, beforeAll, afterAll };

runEngineBehaviour(runner, 'embedded default (SQLite + filesystem)', async () => {
  const basePath = mkdtempSync(join(tmpdir(), 'chronos-behaviour-'));
  const meta = createLocalMetadataStore({ basePath });
  const blobs = createLocalBlobStore({ basePath });
  return { meta, blobs, counters: meta, teardown: async () => { await meta.close(); await blobs.close(); } };
});
