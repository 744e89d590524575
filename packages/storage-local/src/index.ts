export { createLocalMetadataStore, SqliteMetadataStore, METADATA_FILE, LAYOUT_VERSION, type LocalMetadataStoreOptions } from './sqlite-metadata-store.js';
export { createLocalBlobStore, LocalBlobStore, type LocalBlobStoreOptions } from './fs-blob-store.js';
export { createLocalStorage, type LocalStorage, type LocalStorageOptions } from './local-storage.js';
export { createLocalQueueStore, SqliteQueueStore, QUEUE_FILE, type LocalQueueStoreOptions } from './sqlite-queue-store.js';
export { hasBetterSqlite, missingBetterSqlite } from './better-sqlite.js';
export { createSqliteBlobStore, SqliteBlobStore, INLINE_MAX_BYTES, BLOBS_FILE, type SqliteBlobStoreOptions } from './sqlite-blob-store.js';
