/** Builds a real adapter pair from a JSON description (used by the crash child and by the tests). */
import type { BlobStore, MetadataStore } from '@chronos-db/core';
import { createLocalMetadataStore, createSqliteBlobStore, METADATA_FILE } from '@chronos-db/storage-local';
import { join } from 'node:path';
import { createMongoMetadataStore } from '@chronos-db/storage-mongo';
import { createS3BlobStore } from '@chronos-db/storage-s3';

export type StoreSpec =
  | { kind: 'local'; basePath: string }
  | {
      kind: 'mongo-s3';
      mongoUri: string;
      s3: {
        endpoint: string;
        region: string;
        accessKey: string;
        secretKey: string;
        jsonBucket: string;
        contentBucket: string;
        backupsBucket: string;
        forcePathStyle: boolean;
      };
    };

export function makeStores(spec: StoreSpec): { meta: MetadataStore; blobs: BlobStore } {
  if (spec.kind === 'local')
    return {
      meta: createLocalMetadataStore({ basePath: spec.basePath }),
      blobs: createSqliteBlobStore({ basePath: spec.basePath, filename: join(spec.basePath, METADATA_FILE), deferSync: true }),
    };
  return { meta: createMongoMetadataStore({ uri: spec.mongoUri }), blobs: createS3BlobStore(spec.s3) };
}
