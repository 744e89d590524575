export { initChronos } from './chronos.js';
export type { Chronos, BoundCollection, ChronosCounters } from './chronos.js';
export type { ChronosAdmin, HealthReport, ComponentHealth } from './admin.js';
export {
  ChronosError,
  ValidationError,
  NotFoundError,
  OptimisticLockError,
  ConfigError,
  RouteError,
  StorageError,
  TxnError,
  ExternalizationError,
  PayloadTooLargeError,
  IntegrityError,
  isChronosError,
} from '@chronos-db/core';
export type { ChronosConfig, ChronosRecord, HistoryEntry, ReadOptions, ListOptions } from '@chronos-db/core';
export type {
  ChangeEntry,
  ChangesOptions,
  ChangeFeedPage,
  WatchOptions,
  DiffResult,
  DiffSelector,
  VersionMeta,
  JsonPatchOperation,
  ListAsOfOptions,
} from '@chronos-db/core';
