/**
 * The versioning engine for one bound context (one namespace on one pair of
 * stores). Every public method validates all of its input before the first
 * I/O, writes payloads before any pointer names them, and commits through the
 * MetadataStore's compare-and-set.
 *
 * This class is the public front; each concept lives in its own file:
 *   write.ts (create/update/delete/enrich), smart-insert.ts, commit.ts (the
 *   write protocol), build.ts (versions before commit), counting.ts,
 *   restore.ts, recount.ts (counter totals from the version index),
 *   read.ts + render.ts (reads), gc.ts, validate.ts (input checks
 *   and the shared write setup), context.ts (what they all share),
 *   history.ts (history pages, diff), as-of.ts (listAsOf), changes.ts (changes, watch).
 */
import type { CounterTotals, Namespace } from '../ports.js';
import { recountCounters } from './recount.js';
import { listAsOf, type ListAsOfOptions } from './as-of.js';
import { changes, watch, type ChangeEntry, type ChangesOptions, type ChangeFeedPage, type WatchOptions } from './changes.js';
import { createContext, type EngineContext, type EngineStats } from './context.js';
import { diff, history, type DiffResult, type DiffSelector, type HistoryOptions, type HistoryPage } from './history.js';
import { collectGarbage, type GcOptions, type GcResult } from './gc.js';
import * as read from './read.js';
import { restoreCollection, restoreObject } from './restore.js';
import { smartInsert } from './smart-insert.js';
import * as bulk from './bulk.js';
import type {
  BulkCreateItem,
  BulkOptions,
  BulkResult,
  BulkUpdateItem,
  ChronosRecord,
  EngineOptions,
  ListOptions,
  ReadOptions,
  RestoreCollectionOptions,
  RestoreObjectOptions,
  SmartInsertOptions,
} from './types.js';
import { ValidationError } from '../errors.js';
import * as write from './write.js';
import * as queued from './queued-writes.js';
import { orderKeyOf, queueOf, type QueuedWrite, type QueuedWriteBody } from './fallback.js';
import { applyQueued } from './replay-queued.js';
import { notFound, readUnlessErased, withoutErased } from './erased.js';

export * from './types.js';
export { isQueuedWrite, queueOrderKey, erasedStub, type QueuedWrite, type QueuedWriteBody, type EngineFallback } from './fallback.js';
export type { ListAsOfOptions } from './as-of.js';
export type { ChangeEntry, ChangesOptions, ChangeFeedPage, WatchOptions } from './changes.js';
export type { DiffResult, DiffSelector, HistoryOptions, HistoryPage, JsonPatchOperation, VersionMeta } from './history.js';
export type { EngineStats } from './context.js';

/** Every result of a bulk stream, in order (Node 20 has no Array.fromAsync). */
async function collect<T>(results: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const r of results) out.push(r);
  return out;
}

/**
 * `Q` is the type of a queued write's result: `never` (the default) when the engine has no
 * fallback queue, `QueuedWrite` when it has one (`initChronos` picks it from the config).
 */
export class CollectionEngine<Q = never> {
  readonly ns: Namespace;
  private readonly cx: EngineContext;

  constructor(opts: EngineOptions) {
    this.cx = createContext(opts);
    this.ns = this.cx.ns;
  }

  /** Running totals of this engine since it was created (a copy). */
  stats(): EngineStats {
    return { ...this.cx.stats };
  }

  // ---------------------------------------------------------------- writes

  create(...a: write.CreateArgs): Promise<write.CreateResult | Q> {
    return routeWrite<write.CreateArgs, write.CreateResult, Q>(this.cx, queued.create, write.create, a);
  }

  update(...a: write.UpdateArgs): Promise<write.UpdateResult | Q> {
    return routeWrite<write.UpdateArgs, write.UpdateResult, Q>(this.cx, queued.update, write.update, a);
  }

  delete(...a: write.DeleteArgs): Promise<write.DeleteResult | Q> {
    return routeWrite<write.DeleteArgs, write.DeleteResult, Q>(this.cx, queued.remove, write.remove, a);
  }

  enrich(...a: write.EnrichArgs): Promise<write.EnrichResult | Q> {
    return routeWrite<write.EnrichArgs, write.EnrichResult, Q>(this.cx, queued.enrich, write.enrich, a);
  }

  smartInsert(data: unknown, opts: SmartInsertOptions): Promise<{ id: string; ov: number; cv: number; created: boolean }> {
    return smartInsert(this.cx, data, opts);
  }

  /**
   * Creates many records (bulk.ts): one result per item, in order, `{ ok: true, index, id, ov, cv }`
   * or `{ ok: false, index, error }`; never all-or-nothing. Accepts an array or an (async) iterable;
   * for millions of items use `createManyStream`, which holds one batch of results at a time.
   */
  createMany(items: Iterable<BulkCreateItem> | AsyncIterable<BulkCreateItem>, opts?: BulkOptions): Promise<BulkResult[]> {
    return collect(bulk.createMany(this.cx, items, opts));
  }

  /** `createMany` yielding each result as its batch lands. */
  createManyStream(items: Iterable<BulkCreateItem> | AsyncIterable<BulkCreateItem>, opts?: BulkOptions): AsyncIterable<BulkResult> {
    return bulk.createMany(this.cx, items, opts);
  }

  /** Updates many records (`{ id, data, expectedOv?, requestId? }`); results as `createMany`. */
  updateMany(items: Iterable<BulkUpdateItem> | AsyncIterable<BulkUpdateItem>, opts?: BulkOptions): Promise<BulkResult[]> {
    return collect(bulk.updateMany(this.cx, items, opts));
  }

  /** `updateMany` yielding each result as its batch lands. */
  updateManyStream(items: Iterable<BulkUpdateItem> | AsyncIterable<BulkUpdateItem>, opts?: BulkOptions): AsyncIterable<BulkResult> {
    return bulk.updateMany(this.cx, items, opts);
  }

  restoreObject(
    id: string,
    target: { ov: number } | { at: Date | string | number },
    opts: RestoreObjectOptions = {},
  ): Promise<{ id: string; newOv: number; newCv: number }> {
    return restoreObject(this.cx, id, target, opts);
  }

  restoreCollection(
    target: { cv: number } | { at: Date | string | number },
    opts: RestoreCollectionOptions = {},
  ): Promise<{ target: { cv: number } | { at: Date }; planned: number; restored: number; scanned: number }> {
    return restoreCollection(this.cx, target, opts);
  }

  // ----------------------------------------------------------------- reads

  async getLatest(id: string, opts: ReadOptions = {}): Promise<ChronosRecord | null> {
    const { includeQueued, ...rest } = opts ?? {};
    const rec = await readUnlessErased(
      this.cx,
      id,
      () => read.getLatest(this.cx, id, rest),
      () => null,
    );
    const fb = this.cx.fallback;
    if (includeQueued === true && fb && rec) {
      const pending = await queueOf(fb).pendingFor(orderKeyOf(this.cx, fb, id));
      if (pending > 0) rec._queued = { pending };
    }
    return rec;
  }

  /**
   * Applies one queued write (the fallback worker's call): idempotent by its requestId,
   * reusing the payload PUT made before the outage while the head has not moved.
   */
  applyQueued(body: QueuedWriteBody): Promise<{ id: string; ov: number; cv: number }> {
    return applyQueued(this.cx, body);
  }

  getVersion(id: string, ov: number, opts: ReadOptions = {}): Promise<ChronosRecord | null> {
    return readUnlessErased(
      this.cx,
      id,
      () => read.getVersion(this.cx, id, ov, opts),
      () => null,
    );
  }

  getAsOf(id: string, at: Date | string | number, opts: ReadOptions = {}): Promise<ChronosRecord | null> {
    return readUnlessErased(
      this.cx,
      id,
      () => read.getAsOf(this.cx, id, at, opts),
      () => null,
    );
  }

  async getItem(id: string, opts: ReadOptions & { ov?: number; at?: Date | string | number } = {}): Promise<ChronosRecord | null> {
    if (opts.ov !== undefined && opts.at !== undefined) throw new ValidationError('getItem takes ov or at, not both');
    if (opts.ov !== undefined) return this.getVersion(id, opts.ov, opts);
    if (opts.at !== undefined) return this.getAsOf(id, opts.at, opts);
    return this.getLatest(id, opts);
  }

  /** One record's versions, newest first by default, in keyset pages: `{ items, pageToken? }`. Unknown id: NotFoundError. */
  history(id: string, opts: HistoryOptions = {}): Promise<HistoryPage> {
    return readUnlessErased(this.cx, id, () => history(this.cx, id, opts), notFound(id));
  }

  /** RFC 6902 patch from version `from` to `to` (default: the latest) of one record, with both versions' `_meta`. */
  diff(id: string, from: DiffSelector, to?: DiffSelector): Promise<DiffResult> {
    return readUnlessErased(this.cx, id, () => diff(this.cx, id, from, to), notFound(id));
  }

  /** The records that existed at `{ at }` / `{ cv }`, with their values then, filtered on their metadata then. Writes nothing. */
  listAsOf(
    target: { at: Date | string | number } | { cv: number },
    q: ListAsOfOptions = {},
    opts: ReadOptions = {},
  ): Promise<{ items: ChronosRecord[]; pageToken?: string }> {
    return listAsOf(this.cx, target, q, opts).then(async (page) => ({ ...page, items: await withoutErased(this.cx, page.items) }));
  }

  /** The versions committed after `afterCv`, in cv order, and the cv to resume from. */
  changes(opts: ChangesOptions = {}): Promise<ChangeFeedPage> {
    return changes(this.cx, opts);
  }

  /** `changes`, polled with backoff as an async iterator, until `signal` aborts or the loop breaks. */
  watch(opts: WatchOptions = {}): AsyncIterable<ChangeEntry> {
    return watch(this.cx, opts);
  }

  listByMeta(q: ListOptions = {}, opts: ReadOptions = {}): Promise<{ items: ChronosRecord[]; pageToken?: string }> {
    return read.listByMeta(this.cx, q, opts);
  }

  query(filter: Record<string, unknown> = {}, opts: ReadOptions & Omit<ListOptions, 'filter'> = {}): Promise<{ items: ChronosRecord[]; pageToken?: string }> {
    const { limit, afterId, pageToken, sort, ...rest } = opts;
    return this.listByMeta(
      {
        filter,
        ...(limit !== undefined ? { limit } : {}),
        ...(afterId !== undefined ? { afterId } : {}),
        ...(pageToken !== undefined ? { pageToken } : {}),
        ...(sort !== undefined ? { sort } : {}),
      },
      rest,
    );
  }

  presignProperty(id: string, property: string, expiresIn = 3600): Promise<string> {
    return readUnlessErased(this.cx, id, () => read.presignProperty(this.cx, id, property, expiresIn), notFound(id));
  }

  /** Text rendition (or raw bytes) of an externalized property. */
  getPropertyContent(id: string, property: string, opts: { ov?: number; text?: boolean } = {}): Promise<Uint8Array> {
    return readUnlessErased(this.cx, id, () => read.getPropertyContent(this.cx, id, property, opts), notFound(id));
  }

  /** Rebuilds this collection's counter totals from the version index (recount.ts); returns them. */
  recountCounters(): Promise<CounterTotals> {
    return recountCounters(this.cx);
  }

  /**
   * Deletes payload objects of this namespace that no version references and
   * that are older than the grace period (orphans of failed or lost writes).
   * Streams (bounded memory); `graceMs` below 2 x operationTimeoutMs is a ValidationError.
   */
  collectGarbage(opts: GcOptions = {}): Promise<GcResult> {
    return collectGarbage(this.cx, opts);
  }
}

/** A write through the fallback queue when the engine has one, else the direct path (not a method: the bound surface is the public one). */
function routeWrite<A extends unknown[], R, Q>(
  cx: EngineContext,
  viaQueue: (cx: EngineContext, ...a: A) => Promise<R | QueuedWrite>,
  direct: (cx: EngineContext, ...a: A) => Promise<R>,
  a: A,
): Promise<R | Q> {
  return (cx.fallback ? viaQueue(cx, ...a) : direct(cx, ...a)) as Promise<R | Q>;
}
