import { join, resolve } from 'node:path';
import { SqliteBlobStore } from './sqlite-blob-store.js';
import { SqliteMetadataStore } from './sqlite-metadata-store.js';

export interface LocalStorageOptions {
  /**
   * Root directory: metadata and payloads up to `inlineMaxBytes` in
   * `<basePath>/chronos-metadata.sqlite`, larger payloads as files under
   * `<basePath>/blobs/<bucketRole>/`.
   */
  basePath: string;
  busyTimeoutMs?: number;
  /** Largest payload kept inside SQLite (bytes; 0: every payload a file, the older layout). Default 256 KiB. */
  inlineMaxBytes?: number;
}

export interface LocalStorage {
  /** MetadataStore and CounterStore. */
  meta: SqliteMetadataStore;
  /** BlobStore: small payloads in the metadata file, written by the commit of their version (one transaction). */
  blobs: SqliteBlobStore;
  close(): Promise<void>;
}

/** The embedded default: SQLite metadata and payloads under one directory. */
export function createLocalStorage(opts: LocalStorageOptions): LocalStorage {
  const base = resolve(opts.basePath);
  const busy = opts.busyTimeoutMs !== undefined ? { busyTimeoutMs: opts.busyTimeoutMs } : {};
  const meta = new SqliteMetadataStore({ basePath: base, ...busy });
  // one connection: small payloads are written in the commit's transaction (one fsync per write)
  const blobs = new SqliteBlobStore({
    basePath: join(base, 'blobs'),
    metadata: meta,
    ...busy,
    ...(opts.inlineMaxBytes !== undefined ? { inlineMaxBytes: opts.inlineMaxBytes } : {}),
  });
  return {
    meta,
    blobs,
    async close() {
      await blobs.close();
      await meta.close();
    },
  };
}
