/** Builds a real adapter pair from a JSON description (used by the crash child and by the tests). */
import type { BlobStore, MetadataStore } from '@chronos-db/core';
import { createLocalMetadataStore, createSqliteBlobStore } from '@chronos-db/storage-local';
import { createMongoMetadataStore } from '@chronos-db/storage-mongo';
import { createS3BlobStore, type S3ConnectionOptions } from '@chronos-db/storage-s3';

export type StoreSpec = { kind: 'local'; basePath: string } | { kind: 'mongo-s3'; mongoUri: string; s3: S3ConnectionOptions };

export function makeStores(spec: StoreSpec): { meta: MetadataStore; blobs: BlobStore } {
  if (spec.kind === 'local') {
    // as chronos-db's embedded store: one connection, small payloads written by the commit
    const meta = createLocalMetadataStore({ basePath: spec.basePath });
    return { meta, blobs: createSqliteBlobStore({ basePath: spec.basePath, metadata: meta }) };
  }
  return { meta: createMongoMetadataStore({ uri: spec.mongoUri }), blobs: createS3BlobStore(spec.s3) };
}
