/**
 * The typed face of a bound collection: `chronos.with<User>(ctx)` returns a
 * `Collection<User>`. The runtime object is the `CollectionEngine`; this file
 * only describes it with the record type `T` threaded through: what a write
 * takes and what a read gives back. Option and result types are the engine's
 * own (derived from it here, so they cannot drift).
 *
 * What a read gives back is `ChronosRecord<T>`: the stored JSON of `T`
 * (`Stored<T>`: a `Date` reads back as its ISO string) plus `id`, `_system` and,
 * with `includeMeta`, `_meta`. Keys `id`, `_system` and `_meta` of the data
 * given to a write are not stored (the record's own fields take their place).
 * A property externalized by `collectionMaps.<c>.base64Props` reads back as
 * `{ ref, url? }` (see `ExternalizedProperty`): declare it as such in `T`, or
 * read its bytes with `getPropertyContent`.
 */
import type { CounterTotals, ItemState, Namespace, Op, BlobRef } from './ports.js';
import type { CollectionEngine, EngineStats } from './engine/collection.js';
import type {
  BulkOptions,
  BulkResult,
  CreateOptions,
  EnrichOptions,
  ListOptions,
  ReadOptions,
  RestoreCollectionOptions,
  RestoreObjectOptions,
  SmartInsertOptions,
  WriteOptions,
} from './engine/types.js';
import type { DiffResult } from './engine/history.js';
import type { ChangeEntry, ChangesOptions, WatchOptions } from './engine/changes.js';
import type { ListAsOfOptions } from './engine/as-of.js';
import type { GcOptions, GcResult } from './engine/gc.js';

/** The engine's own GC types, exported so the published declarations can name them. */
export type { GcOptions, GcResult };
import type { QueuedWriteBody } from './engine/fallback.js';
import type { CreateResult, DeleteResult, EnrichResult, UpdateResult } from './engine/write.js';

// ---------------------------------------------------------------------------
// Time points
// ---------------------------------------------------------------------------

/** An ISO 8601 date or date-time string: '2024-05-01', '2024-05-01T12:00:00Z', '2024-05-01T12:00:00.000+02:00'. */
export type IsoDateString = `${number}-${number}-${number}${string}`;
/**
 * A point in time as the engine accepts it: a `Date`, epoch milliseconds, or an
 * ISO date string (anything else, like 'yesterday', is a compile error here and a
 * `ValidationError` at run time).
 */
export type TimePoint = Date | number | IsoDateString;

// ---------------------------------------------------------------------------
// Records
// ---------------------------------------------------------------------------

/** A value as it reads back from its stored JSON: `Date` becomes its ISO string, recursively. */
export type Stored<T> = T extends Date
  ? string
  : T extends (infer U)[]
    ? Stored<U>[]
    : T extends readonly (infer U)[]
      ? readonly Stored<U>[]
      : T extends object
        ? { [K in keyof T]: Stored<T[K]> }
        : T;

/** Record-level fields under `_system`. */
export type SystemFields = {
  insertedAt: string;
  updatedAt: string;
  state: ItemState;
  deleted?: boolean;
  deletedAt?: string;
  functionIds?: string[];
};

/** The version's own fields under `_meta` (with `includeMeta: true`). */
export type RecordMeta = {
  ov: number;
  cv: number;
  at: string;
  op: Op;
  metaIndexed: Record<string, unknown>;
  deletedAt?: string;
  /** 'manifest': the version's row was pruned from the version index and read from a manifest in the backups bucket. */
  source?: 'manifest';
};

/** How a property externalized to the content bucket reads back. */
export type ExternalizedProperty = { ref: BlobRef; url?: string };

/** The keys a record's own fields use; they are never taken from the data. */
export type ReservedKey = 'id' | '_system' | '_meta';

/** A record as every read returns it. */
export type ChronosRecord<T extends object = Record<string, unknown>> = Stored<Omit<T, ReservedKey>> & {
  id: string;
  _system: SystemFields;
  _meta?: RecordMeta;
};

/** A deep partial of `T`: what `enrich` merges into the record (objects merge, other values replace). */
export type Patch<T> = T extends Date ? T : T extends readonly unknown[] ? T : T extends object ? { [K in keyof T]?: Patch<T[K]> } : T;

/** A top-level field of `T`, or a dotted path under one ('address.city'). */
export type FieldPath<T> = Extract<keyof T, string> | `${Extract<keyof T, string>}.${string}`;

// ---------------------------------------------------------------------------
// Options and results with T
// ---------------------------------------------------------------------------

/** `smartInsert` options: `uniqueKeys` name fields (or dotted paths) of `T`. */
export type TypedSmartInsertOptions<T> = Omit<SmartInsertOptions, 'uniqueKeys'> & { uniqueKeys: FieldPath<T>[] };

/** Read options for a `Collection<T>`: any `ReadOptions`; a literal `projection` must name top-level fields of `T`. */
export type TypedReadOptions<T> = ReadOptions & { projection?: Extract<keyof T, string>[] | string[] };

/** `getItem` options: the latest version, `ov`, or the version at `at`. */
export type GetItemOptions = ReadOptions & { ov?: number; at?: TimePoint };

/** `listByMeta` query. */
export type TypedListOptions = ListOptions;

/** `query` options: paging and read options together. */
export type QueryOptions = ReadOptions & Omit<ListOptions, 'filter'>;

/**
 * Checks a literal `projection` of options `O` against `T`: a field `T` does
 * not have makes the options unassignable (a `string[]` variable is not checked).
 */
export type ProjectionCheck<T, O> = O extends { projection?: infer P }
  ? P extends readonly (infer K)[]
    ? string extends K
      ? unknown
      : [Exclude<K, keyof T>] extends [never]
        ? unknown
        : { projection: Extract<keyof T, string>[] }
    : unknown
  : unknown;

/** What a read returns for read options `O`: with a literal `projection`, only those fields of `T`. */
export type Projected<T extends object, O> = O extends { projection: readonly (infer K)[] } ? (string extends K ? T : Pick<T, Extract<K, keyof T>>) : T;

type Ret<M extends keyof CollectionEngine> = CollectionEngine[M] extends (...args: never[]) => Promise<infer R> ? R : never;

export type { CreateResult, UpdateResult, DeleteResult, EnrichResult } from './engine/write.js';
export type SmartInsertResult = Ret<'smartInsert'>;
export type RestoreObjectResult = Ret<'restoreObject'>;
export type RestoreCollectionResult = Ret<'restoreCollection'>;
/** Options of `getPropertyContent`. */
export type PropertyContentOptions = NonNullable<Parameters<CollectionEngine['getPropertyContent']>[2]>;

/** One page of records. */
export type Page<T extends object> = { items: ChronosRecord<T>[]; pageToken?: string };

/** A version of a record for `diff`: by ov, by time, or by collection version. */
export type VersionTarget = { ov: number } | { at: TimePoint } | { cv: number };

/** One change of the feed; `data` (with `includePayload`) is the record as that version holds it. */
export type TypedChangeEntry<T extends object> = Omit<ChangeEntry, 'data'> & { data?: ChronosRecord<T> };
/** One page of the change feed. */
export type TypedChangeFeedPage<T extends object> = { items: TypedChangeEntry<T>[]; nextCv: number };

// ---------------------------------------------------------------------------
// The bound collection
// ---------------------------------------------------------------------------

/** One item of `createMany`, its data typed. */
export interface TypedBulkCreateItem<T extends object> {
  data: T;
  id?: string;
  requestId?: string;
}

/** One item of `updateMany`, its data typed. */
export interface TypedBulkUpdateItem<T extends object> {
  id: string;
  data: T;
  expectedOv?: number;
  requestId?: string;
}

/**
 * One collection of one context, bound by `chronos.with<T>(ctx)`. `T` is the
 * shape of the records' data (default: any JSON object).
 */
export interface Collection<T extends object = Record<string, unknown>, Q = never> {
  readonly ns: Namespace;

  /** A new record, version 0. */
  create(data: T, actor?: string, reason?: string, opts?: CreateOptions): Promise<CreateResult | Q>;
  /** A new version with `data` as the whole record. */
  update(id: string, data: T, expectedOv?: number, actor?: string, reason?: string, opts?: WriteOptions): Promise<UpdateResult | Q>;
  /** A deleting version (the history stays). */
  delete(id: string, expectedOv?: number, actor?: string, reason?: string, opts?: WriteOptions): Promise<DeleteResult | Q>;
  /** Deep-merges one patch, or several in order, into the latest version. */
  enrich(id: string, patch: Patch<T> | Patch<T>[], opts?: EnrichOptions): Promise<EnrichResult | Q>;
  /** Applies one queued write (the fallback worker's call; idempotent by its requestId). */
  applyQueued(body: QueuedWriteBody): Promise<{ id: string; ov: number; cv: number }>;
  /** Many creates: one result per item, in order (engine/bulk.ts). */
  createMany(items: Iterable<TypedBulkCreateItem<T>> | AsyncIterable<TypedBulkCreateItem<T>>, opts?: BulkOptions): Promise<BulkResult[]>;
  /** `createMany` yielding each result as its batch lands (bounded memory for any number of items). */
  createManyStream(items: Iterable<TypedBulkCreateItem<T>> | AsyncIterable<TypedBulkCreateItem<T>>, opts?: BulkOptions): AsyncIterable<BulkResult>;
  /** Many updates (`{ id, data, expectedOv?, requestId? }`): one result per item, in order. */
  updateMany(items: Iterable<TypedBulkUpdateItem<T>> | AsyncIterable<TypedBulkUpdateItem<T>>, opts?: BulkOptions): Promise<BulkResult[]>;
  /** `updateMany` yielding each result as its batch lands. */
  updateManyStream(items: Iterable<TypedBulkUpdateItem<T>> | AsyncIterable<TypedBulkUpdateItem<T>>, opts?: BulkOptions): AsyncIterable<BulkResult>;
  /** Creates, or merges into the record whose `uniqueKeys` match. */
  smartInsert(data: T, opts: TypedSmartInsertOptions<T>): Promise<SmartInsertResult>;
  /** A new version equal to an older one. */
  restoreObject(id: string, target: { ov: number } | { at: TimePoint }, opts?: RestoreObjectOptions): Promise<RestoreObjectResult>;
  /** Every record back to how it was at a collection version or time. */
  restoreCollection(target: { cv: number } | { at: TimePoint }, opts?: RestoreCollectionOptions): Promise<RestoreCollectionResult>;

  getLatest<const O extends ReadOptions = {}>(id: string, opts?: O & ProjectionCheck<T, O>): Promise<ChronosRecord<Projected<T, O>> | null>;
  getVersion<const O extends ReadOptions = {}>(id: string, ov: number, opts?: O & ProjectionCheck<T, O>): Promise<ChronosRecord<Projected<T, O>> | null>;
  getAsOf<const O extends ReadOptions = {}>(id: string, at: TimePoint, opts?: O & ProjectionCheck<T, O>): Promise<ChronosRecord<Projected<T, O>> | null>;
  getItem<const O extends GetItemOptions = {}>(id: string, opts?: O & ProjectionCheck<T, O>): Promise<ChronosRecord<Projected<T, O>> | null>;
  /** The versions of one record (the engine's own signature). */
  history(...args: Parameters<CollectionEngine['history']>): ReturnType<CollectionEngine['history']>;
  /** RFC 6902 operations from one version of a record to another (default: the latest). */
  diff(id: string, from: VersionTarget, to?: VersionTarget): Promise<DiffResult>;
  /** The collection as it was at a time or collection version, in pages. */
  listAsOf<const O extends ReadOptions = {}>(
    target: { at: TimePoint } | { cv: number },
    q?: ListAsOfOptions,
    opts?: O & ProjectionCheck<T, O>,
  ): Promise<Page<Projected<T, O>>>;
  /** One page of the change feed after `afterCv`. */
  changes(opts?: ChangesOptions): Promise<TypedChangeFeedPage<T>>;
  /** The change feed as an endless iterator (polling with backoff); stops with `signal`. */
  watch(opts?: WatchOptions): AsyncIterable<TypedChangeEntry<T>>;
  listByMeta<const O extends ReadOptions = {}>(q?: TypedListOptions, opts?: O & ProjectionCheck<T, O>): Promise<Page<Projected<T, O>>>;
  query<const O extends QueryOptions = {}>(filter?: Record<string, unknown>, opts?: O & ProjectionCheck<T, O>): Promise<Page<Projected<T, O>>>;

  presignProperty(id: string, property: FieldPath<T>, expiresIn?: number): Promise<string>;
  /** Text rendition (or raw bytes) of an externalized property. */
  getPropertyContent(id: string, property: FieldPath<T>, opts?: PropertyContentOptions): Promise<Uint8Array>;
  /** Rebuilds this collection's counter totals from the version index. */
  recountCounters(): Promise<CounterTotals>;
  /** Deletes unreferenced payload objects older than the grace period. */
  collectGarbage(opts?: GcOptions): Promise<GcResult>;
  /** Running totals of this collection's engine (objects of lost write attempts removed / left). */
  stats(): EngineStats;
}
