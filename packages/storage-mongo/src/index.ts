export { createMongoMetadataStore } from './store.js';
export type { CommitStep, MongoCapabilities, MongoMetadataStore, MongoMetadataStoreOptions, MongoStoreStats } from './store.js';
export { acquireClient, getSharedClient, releaseClient, sharedClientCount, countCommands, commandCount, createClient } from './client-pool.js';
export type { SharedClient, SharedClientOptions } from './client-pool.js';
export { compileMongoFilter, assertSafeQuery, SAFE_OPERATORS } from './filter.js';
export { makeRedactor } from './errors.js';
export { createMongoQueueStore, MongoQueueStore, type MongoQueueStoreOptions } from './queue-store.js';
export { isUnreachable } from './errors.js';
