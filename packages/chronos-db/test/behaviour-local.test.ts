import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runEngineBehaviour, storePair } from '@chronos-db/testkit';
import { createLocalMetadataStore, createSqliteBlobStore, METADATA_FILE } from '@chronos-db/storage-local';

/** The jest functions the testkit suites register their tests with (the suites take any runner's). */
const runner = { describe, it, beforeAll, afterAll };

runEngineBehaviour(runner, 'embedded default (SQLite metadata + SQLite payloads, large ones as files)', async () => {
  const basePath = mkdtempSync(join(tmpdir(), 'chronos-behaviour-'));
  const meta = createLocalMetadataStore({ basePath });
  const blobs = createSqliteBlobStore({ basePath, filename: join(basePath, METADATA_FILE), deferSync: true, inlineMaxBytes: 1024 });
  return storePair(meta, blobs, { counters: meta });
});
