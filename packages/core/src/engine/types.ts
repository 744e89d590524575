/** Public option and result types of the engine (re-exported by `collection.ts`). */
import type { CollectionMap, CounterRule, DevShadowConfig } from '../config.js';
import type { Logger } from '../logger.js';
import type { EngineFallback } from './fallback.js';
import type { BlobStore, CounterStore, MetadataStore, Namespace, Op } from '../ports.js';

export interface EngineOptions {
  ns: Namespace;
  meta: MetadataStore;
  blobs: BlobStore;
  counters?: CounterStore | undefined;
  map?: CollectionMap | undefined;
  counterRules?: CounterRule[] | undefined;
  devShadow?: DevShadowConfig | undefined;
  maxPayloadBytes?: number | undefined;
  logger?: Logger | undefined;
  /** Clock in epoch ms (tests inject skewed clocks). */
  clock?: (() => number) | undefined;
  /** The fallback queue (`fallback` config): writes that cannot reach the metadata store are queued. */
  fallback?: EngineFallback | undefined;
  /**
   * Deadline of one storage operation in ms (config `operationTimeoutMs`, default 30 s). A write
   * attempt can be in flight that long; collectGarbage's grace period must be at least twice it.
   */
  operationTimeoutMs?: number | undefined;
}

export interface WriteOptions {
  /** Idempotency key: a retried write with the same key yields at most one version. */
  requestId?: string;
}
export interface CreateOptions extends WriteOptions {
  /** Use this id instead of a generated one. */
  id?: string;
  functionId?: string;
}
export interface EnrichOptions extends WriteOptions {
  expectedOv?: number;
  functionId?: string;
  actor?: string;
  reason?: string;
}
export interface SmartInsertOptions extends WriteOptions {
  uniqueKeys: string[];
  actor?: string;
  reason?: string;
  functionId?: string;
}
export interface ReadOptions {
  presign?: boolean;
  ttlSeconds?: number;
  projection?: string[];
  includeDeleted?: boolean;
  includeMeta?: boolean;
  /** With the fallback queue on: add `_queued: { pending }` when writes of the record wait in the queue. */
  includeQueued?: boolean;
}
export interface ListOptions {
  filter?: Record<string, unknown>;
  limit?: number;
  afterId?: string;
  pageToken?: string;
  sort?: { id?: 1 | -1 } | 'asc' | 'desc';
}
export interface RestoreObjectOptions extends WriteOptions {
  actor?: string;
  reason?: string;
  expectedHeadOv?: number;
}
export interface RestoreProgress {
  scanned: number;
  planned: number;
  restored: number;
}
export interface RestoreCollectionOptions {
  actor?: string;
  reason?: string;
  pageSize?: number;
  parallel?: number;
  dryRun?: boolean;
  onProgress?: (p: RestoreProgress) => void;
}
export interface HistoryEntry {
  ov: number;
  cv: number;
  op: Op;
  at: Date;
  actor?: string;
  reason?: string;
  deleted: boolean;
  size: number;
}

/** A record as reads return it; generic over the data's shape (collection-types.ts). */
export type { ChronosRecord } from '../collection-types.js';
