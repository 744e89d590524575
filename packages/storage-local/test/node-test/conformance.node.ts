/**
 * The testkit suites under node's own test runner (node:test), not jest: run by
 * node-test-runner.test.ts as `node --import tsx --test` from the repository root.
 * The filesystem store declares presign: false, so its presign test must show as skipped.
 */
import { after, before, describe, it } from 'node:test';
import { runBlobStoreConformance, runMetadataStoreConformance } from '@chronos-db/testkit';
import { createLocalBlobStore, createLocalMetadataStore } from '@chronos-db/storage-local';
import { LOCAL_METADATA_SUITE, tmpStore } from '../helpers/tmp-store';

const runner = { describe, it, before, after };

runBlobStoreConformance(
  runner,
  'storage-local (filesystem) under node:test',
  tmpStore('chronos-node-test-', (dir) => createLocalBlobStore({ basePath: dir })),
  { capabilities: { presign: false }, getRange: true, purgePrefix: true },
);

runMetadataStoreConformance(
  runner,
  'storage-local (SQLite file) under node:test',
  tmpStore('chronos-node-test-', (dir) => createLocalMetadataStore({ basePath: dir })),
  LOCAL_METADATA_SUITE,
);
