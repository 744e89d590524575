export * from './collection.js';
export { deepMerge } from './merge.js';
export { assertJsonPayload, canonicalJson, sha256, DEFAULT_MAX_PAYLOAD_BYTES, MAX_DEPTH } from './payload.js';
export { BLOB_MARKER } from './externalize.js';
export { mapLimit } from './concurrency.js';
