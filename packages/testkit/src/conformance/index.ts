export { runMetadataStoreConformance, type MetadataStoreFactory, type MetadataStoreOptions } from './metadata-store/index.js';
export { runCounterStoreConformance, type CounterStoreFactory, type CounterStoreOptions } from './counter-store.js';
export { runBlobStoreConformance, type BlobStoreFactory, type BlobStoreOptions, UNSAFE_KEYS } from './blob-store.js';
export { freshNs, mkVersion, rand, type SuiteOptions, type StoreFactory } from './helpers.js';
export { runQueueStoreConformance, type QueueStoreFactory, type QueueStoreHandle, type QueueSuiteOptions } from './queue-store.js';
