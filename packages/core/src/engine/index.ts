export * from './collection.js';
export { deepMerge } from './merge.js';
export { assertJsonPayload, canonicalJson, sha256, DEFAULT_MAX_PAYLOAD_BYTES, MAX_DEPTH } from './payload.js';
export { BLOB_MARKER } from './externalize.js';
export { mapLimit } from './concurrency.js';
export {
  rollupNamespace,
  pruneNamespace,
  rewriteManifestsWithout,
  isDue,
  type LifecycleTarget,
  type RollupResult,
  type PruneResult,
  type LifecycleRunOptions,
  type LifecycleReport,
  type NamespaceReport,
} from './lifecycle.js';
export {
  loadIndex as loadManifestIndex,
  periodOf,
  MANIFEST_FORMAT,
  MANIFEST_FORMAT_V1,
  INDEX_FORMAT,
  manifestReadStats,
  BLOCK_ROWS,
  SEGMENT_BLOCKS,
  latestIndexKey,
  type ManifestIndex,
  type PartEntry,
  type PartFooter,
  type PartFooterV1,
  type BlockEntry,
  type BlockEntryV1,
  type SegmentEntry,
  type RowKey,
  type ManifestPeriod,
} from './manifest-format.js';
export {
  isFromManifest,
  forgetManifestIndex,
  clearManifestCaches,
  prunedRowAt as readManifestRow,
  prunedRows as readManifestRows,
} from './manifest-read.js';
