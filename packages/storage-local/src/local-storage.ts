import { join, resolve } from 'node:path';
import { LocalBlobStore } from './fs-blob-store.js';
import { SqliteMetadataStore } from './sqlite-metadata-store.js';

export interface LocalStorageOptions {
  /** Root directory: metadata in `<basePath>/chronos-metadata.sqlite`, payloads under `<basePath>/blobs/<bucketRole>/`. */
  basePath: string;
  busyTimeoutMs?: number;
}

export interface LocalStorage {
  /** MetadataStore and CounterStore. */
  meta: SqliteMetadataStore;
  blobs: LocalBlobStore;
  close(): Promise<void>;
}

/** The embedded default: SQLite metadata and filesystem payloads under one directory. */
export function createLocalStorage(opts: LocalStorageOptions): LocalStorage {
  const base = resolve(opts.basePath);
  const meta = new SqliteMetadataStore({ basePath: base, ...(opts.busyTimeoutMs !== undefined ? { busyTimeoutMs: opts.busyTimeoutMs } : {}) });
  const blobs = new LocalBlobStore({ basePath: join(base, 'blobs') });
  return {
    meta,
    blobs,
    async close() {
      await Promise.all([meta.close(), blobs.close()]);
    },
  };
}
