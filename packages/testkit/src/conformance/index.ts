export { runMetadataStoreConformance, type MetadataStoreFactory } from './metadata-store.js';
export { runCounterStoreConformance, type CounterStoreFactory } from './counter-store.js';
export { runBlobStoreConformance, type BlobStoreFactory, UNSAFE_KEYS } from './blob-store.js';
export { freshNs, mkVersion, rand, type SuiteOptions } from './helpers.js';
export { runQueueStoreConformance, type QueueStoreFactory, type QueueStoreHandle, type QueueSuiteOptions } from './queue-store.js';
