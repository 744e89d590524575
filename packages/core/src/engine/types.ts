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

/** One item of `createMany`. Without `id`, the id is derived from `requestId` when given, else generated. */
export interface BulkCreateItem {
  data: unknown;
  id?: string;
  /** Idempotency key of this item: a rerun with the same key yields no second version. */
  requestId?: string;
}

/** One item of `updateMany`. Without `expectedOv` the last writer wins (as `update`). */
export interface BulkUpdateItem {
  id: string;
  data: unknown;
  expectedOv?: number;
  requestId?: string;
}

export interface BulkOptions {
  actor?: string;
  reason?: string;
  /** Items read, checked, written and committed together (memory holds one batch). Default 500, at most 5000. */
  batchSize?: number;
  /** Payload PUTs (and, without `commitMany`, commits) in flight at once. Default 16, at most 256. */
  concurrency?: number;
  /** Called after each batch with running totals. */
  onProgress?: (p: { done: number; ok: number; failed: number }) => void;
}

/** One result per item, in input order. */
export type BulkResult =
  | { ok: true; index: number; id: string; ov: number; cv: number }
  | { ok: false; index: number; id?: string; error: import('../errors.js').ChronosError };
