import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runEngineBehaviour } from '@chronos-db/testkit';
import { createLocalBlobStore, createLocalMetadataStore } from '@chronos-db/storage-local';

runEngineBehaviour('embedded default (SQLite + filesystem)', async () => {
  const basePath = mkdtempSync(join(tmpdir(), 'chronos-behaviour-'));
  const meta = createLocalMetadataStore({ basePath });
  const blobs = createLocalBlobStore({ basePath });
  return { meta, blobs, counters: meta, teardown: async () => { await meta.close(); await blobs.close(); } };
});
