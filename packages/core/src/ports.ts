/**
 * The two ports every storage adapter implements. Core never imports an SDK:
 * it talks to a MetadataStore (heads, version index, metadata queries,
 * counters) and a BlobStore (the three logical buckets).
 *
 * The testkit conformance suites (`@chronos-db/testkit`) are the executable
 * form of the contracts below; an adapter that passes them can be swapped in.
 */
import type { FilterNode } from './filter.js';

// ---------------------------------------------------------------------------
// Shared types
// ---------------------------------------------------------------------------

/** Where a record lives: one logical collection of one database, optionally one tenant. */
export interface Namespace {
  dbName: string;
  collection: string;
  /** Partitions data inside the same database (hashed routing with tenantId). */
  tenant?: string;
}

export type Op = 'CREATE' | 'UPDATE' | 'DELETE' | 'ENRICH' | 'RESTORE';
export type ItemState = 'new-not-synched' | 'new' | 'processed';

/** A property externalized to the content bucket. */
export interface BlobRef {
  key: string;
  size: number;
  sha256: string;
  contentType: string;
  /** Key of the text rendition, when `preferredText` is set. */
  textKey?: string;
}

/** One immutable version of one record. Never modified once committed (I9). */
export interface VersionDoc {
  itemId: string;
  /** Per-record version, 0..n, gapless (I3). */
  ov: number;
  /** Per-collection counter at commit; assigned by the store. */
  cv: number;
  op: Op;
  /** Commit time, epoch ms. Non-decreasing along a record's chain (I8). */
  at: number;
  actor?: string;
  reason?: string;
  /** Key of the JSON payload in the json bucket. */
  jsonKey: string;
  size: number;
  sha256: string;
  blobs?: Record<string, BlobRef>;
  metaIndexed: Record<string, unknown>;
  deleted: boolean;
  functionIds?: string[];
  requestId?: string;
  /** Hash of the request that produced this version (detects a requestId reused with another payload). */
  requestHash?: string;
}

/** The head of one record: its newest committed version plus record-level fields. */
export interface HeadDoc extends VersionDoc {
  createdAt: number;
  state: ItemState;
  /** devShadow: the latest full payload kept on the head for GET-free reads. */
  shadow?: { json: string; expiresAt: number };
}

export type VersionSelector = { ov: number } | { at: number } | { cv: number };

// ---------------------------------------------------------------------------
// MetadataStore
// ---------------------------------------------------------------------------

/**
 * What a MetadataStore declares about itself. Only flags something reads: the testkit
 * checks each against what the adapter's test says and names the commit branch by it.
 */
export interface MetadataCapabilities {
  /**
   * Commits run in multi-document transactions; false: the version insert is the commit
   * point. A store that learns it from its server reports it once detected.
   */
  transactions: boolean;
}

export interface CommitInput {
  ns: Namespace;
  /** The new version, without `cv` (the store assigns it). `ov` is expectedOv + 1, or 0 for a create. */
  version: Omit<VersionDoc, 'cv'>;
  /** `null`: the record must not exist yet. A number: the head must be at exactly this ov. */
  expectedOv: number | null;
  /** Head-only fields. `createdAt` is required for a create and ignored otherwise. */
  head: { createdAt?: number; state?: ItemState; shadow?: { json: string; expiresAt: number } | null };
  /**
   * Version `expectedOv` as the caller read it (from the head it built on): its cv and the
   * record's createdAt. Optional: a store that would otherwise read that version to learn
   * them may skip the read. A lagging head still cannot win: (itemId, ov) is unique.
   */
  prev?: { cv: number; createdAt: number };
  /**
   * Payloads written in the commit's own transaction, only to a store whose `payloadLink` is
   * the blob store's (the engine sends them only then; any other store refuses them). Each is
   * written only if the commit succeeds; a key that exists refuses the commit (OptimisticLockError).
   */
  payloads?: Array<{ role: BucketRole; key: string; body: Uint8Array }>;
}

/**
 * A metadata store and a blob store that share storage (the embedded store: one SQLite file)
 * carry the same link object: the engine then passes payloads of up to `maxBytes` to the commit
 * (`CommitInput.payloads`) instead of PUTting them first, so a write is one transaction.
 */
export interface PayloadLink {
  readonly maxBytes: number;
}

export interface GetHeadOptions {
  /**
   * The caller is about to commit on this head (expectedOv = head.ov). A store may then
   * skip checking a found head against the version index: if the head lags, the commit
   * of head.ov + 1 collides with the newer version and throws OptimisticLockError, and
   * the caller reads again without this flag. A missing head is always checked.
   */
  forWrite?: boolean;
}

export interface CommitResult {
  cv: number;
}

/** One entry of `commitMany`: what `commit` would have returned, or thrown. */
export type CommitManyResult = { ok: true; cv: number } | { ok: false; error: Error };

export interface QueryInput {
  filter?: FilterNode;
  /** Keyset pagination: only heads with itemId > afterId, in itemId order. */
  afterId?: string;
  limit: number;
  /** Order of itemId. Default 1 (ascending). */
  dir?: 1 | -1;
  includeDeleted?: boolean;
}

export interface ScanInput {
  filter?: FilterNode;
  includeDeleted?: boolean;
  /** Heads per batch: what the caller holds in memory at a time. */
  batchSize: number;
}

/**
 * Input of `findHeadsByState`: the live heads in one processing state whose last update (`at`,
 * the newest version's time) is at or before a cutoff, one page at a time, in (at, itemId) order.
 */
export interface HeadsByStateInput {
  state: ItemState;
  /** Only heads with at <= this (epoch ms). */
  atOrBefore: number;
  /** Keyset: the (at, itemId) of the last head of the previous page; this page starts after it. */
  after?: { at: number; itemId: string };
  /** At most this many heads (1 to 100000). */
  limit: number;
}

/** Options of `listVersions`: a keyset range of one record's versions by ov. */
export interface ListVersionsOptions {
  /** Only versions with ov > afterOv. */
  afterOv?: number;
  /** Only versions with ov < beforeOv. */
  beforeOv?: number;
  /** At most this many (a store may apply a default cap when absent). */
  limit?: number;
  /** Order of ov: 1 oldest first (default), -1 newest first. */
  dir?: 1 | -1;
}

/** Input of `changesAfter`: the versions of one namespace committed after a cv. */
export interface ChangesInput {
  /** Resume point (exclusive): 0 for the whole history. */
  afterCv: number;
  /** At most this many versions. */
  limit: number;
}

/** What a store calls while a change signal is open (see `MetadataStore.openChangeSignal`). */
export interface ChangeSignalListener {
  /** A version was inserted in the namespace (a hint: the feed still reads it with `changesAfter`). */
  changed(): void;
  /** The signal stopped for good (not resumable); the caller goes back to polling. */
  lost(error: unknown): void;
}

/** An open change signal; `close` stops it (idempotent). */
export interface ChangeSignal {
  close(): Promise<void>;
}

/** One page of the change feed of a namespace (see `MetadataStore.changesAfter`). */
export interface ChangesPage {
  /** Committed versions with cv > afterCv, in cv order, none after a cv that may still commit. */
  versions: VersionDoc[];
  /**
   * The resume point: every cv <= nextCv is in `versions`, was before afterCv, or can never
   * commit any more (burned by a failed commit, or its version was hard-deleted). >= afterCv.
   */
  nextCv: number;
}

export interface CounterScope {
  dbName: string;
  collection: string;
  tenant?: string;
}

export interface CounterTriple {
  created?: number;
  updated?: number;
  deleted?: number;
}

export interface CounterTotals {
  created: number;
  updated: number;
  deleted: number;
  rules: Record<string, CounterTriple>;
}

export interface CounterIncrement {
  /** Which total to bump. */
  field: 'created' | 'updated' | 'deleted';
  /** Names of counter rules whose `when` matched. */
  rules: string[];
  /**
   * The committed cv of the version being counted (the engine always passes it). An increment
   * is counted once per (scope, cv): a repeated one, or one whose cv a recount already covers,
   * is ignored. Without it every call counts.
   */
  cv?: number;
}

/** What `recountCounters` rebuilds the totals from. */
export interface CounterRecount {
  /** The increments of every version with cv <= upToCv (any order; each cv at most once). */
  events: AsyncIterable<CounterIncrement> | Iterable<CounterIncrement>;
  /** Every version with cv <= upToCv is in `events`; increments with a larger cv still add. */
  upToCv: number;
}

/**
 * Counter totals (the `counters` database). Implemented by metadata adapters.
 *
 * Contract: reading totals costs a bounded number of documents/rows whatever the history of
 * writers (adapters fold on read when needed); increments keyed by `cv` are idempotent.
 */
export interface CounterStore {
  incrementCounters(scope: CounterScope, inc: CounterIncrement): Promise<void>;
  getCounters(scope: CounterScope): Promise<CounterTotals>;
  resetCounters(scope: CounterScope): Promise<void>;
  /**
   * Replaces the scope's totals with the count of `source.events` (the engine builds them from
   * the version index: `CollectionEngine.recountCounters()`), so totals are exact again after a
   * crash between a commit and its count. Increments with cv <= upToCv are ignored from then on;
   * later ones add. Returns the new totals. Optional for third-party adapters.
   */
  recountCounters?(scope: CounterScope, source: CounterRecount): Promise<CounterTotals>;
}

/**
 * One record's erasure (admin hardDelete), kept by the metadata store: the tombstone that
 * refuses the record's writes and reads from the moment it exists, and the erasure record
 * that says who, when, why and how many objects went. It holds no content: no payload, no
 * indexed metadata.
 */
export interface ErasureRecord {
  itemId: string;
  /** When the tombstone was written (epoch ms). */
  requestedAt: number;
  actor?: string;
  reason?: string;
  /** 'erasing' until every step finished (a rerun of hardDelete completes it), then 'done'. */
  status: 'erasing' | 'done';
  finishedAt?: number;
  /** Versions removed from the version index. */
  versionsDeleted?: number;
  /** Stored objects removed (payloads, blobs, text renditions, noncurrent object versions). */
  objectsDeleted?: number;
  /** Manifests rewritten without the record's rows. */
  manifestsRewritten?: number;
}

export interface BeginErasureInput {
  itemId: string;
  at: number;
  actor?: string;
  reason?: string;
}

export interface FinishErasureInput {
  at: number;
  versionsDeleted: number;
  objectsDeleted: number;
  manifestsRewritten?: number;
}

/**
 * A lease held in the metadata store: a register of generations. `putLease` of generation
 * g + 1 succeeds for exactly one caller among those that read generation g (insert-unique,
 * safe without transactions), so "read, decide, put g + 1" is a compare-and-set.
 */
export interface LeaseDoc {
  name: string;
  /** 1 for the first put; each put is the previous generation + 1. */
  gen: number;
  holder: string;
  /** Epoch ms after which another holder may take it. */
  expiresAt: number;
  /** Small caller data (maintenance: the pass it runs, whether it finished). */
  data?: Record<string, string | number | boolean>;
}

/** What `MetadataStore.checkIndexes` found: per physical collection, the index names expected and missing. */
export interface IndexCheck {
  /** False when the namespace has no collection yet (its indexes come with the first write or read). */
  exists: boolean;
  collections: Array<{ name: string; expected: string[]; missing: string[] }>;
}

/**
 * Heads, the version index and metadata queries.
 *
 * Contract (checked by the testkit):
 * - `commit` is all-or-nothing as seen by readers: either the version and the
 *   head move are both visible, or neither (I5). With `expectedOv` not
 *   matching the head (or `null` and a head existing) it throws
 *   `OptimisticLockError` and leaves no visible trace (I4).
 * - (itemId, ov) is unique per namespace (I3).
 * - Reads never return an uncommitted version.
 * - `getVersion` with `{ at }` returns the newest version with at <= T and
 *   with `{ cv }` the newest with cv <= C, of that record only (I8); both are
 *   index seeks.
 * - Namespaces are isolated: nothing of one is visible from another (I10).
 */
export interface MetadataStore {
  readonly capabilities: MetadataCapabilities;
  /** Optional: see PayloadLink. */
  readonly payloadLink?: PayloadLink | undefined;
  /**
   * Creates indexes/tables for a namespace. Idempotent; adapters cache it per process.
   * `indexedProps` (the collection map's): metadata properties that filters and smartInsert
   * look up; adapters that can index them on heads do (storage-mongo: one index per property,
   * with itemId for keyset order).
   */
  ensureNamespace(ns: Namespace, opts?: { indexedProps?: readonly string[] | undefined }): Promise<void>;
  commit(input: CommitInput): Promise<CommitResult>;
  /**
   * Optional: commits versions of distinct records of one namespace in few round trips
   * (restoreCollection uses it). Each entry succeeds or fails on its own exactly as `commit`
   * would (an `OptimisticLockError` for a stale expectedOv); results are in input order.
   * Throws only for a call that is wrong as a whole (ValidationError: mixed namespaces, a
   * record twice) or when the store cannot be reached.
   */
  commitMany?(inputs: CommitInput[]): Promise<CommitManyResult[]>;
  getHead(ns: Namespace, itemId: string, opts?: GetHeadOptions): Promise<HeadDoc | null>;
  getVersion(ns: Namespace, itemId: string, sel: VersionSelector): Promise<VersionDoc | null>;
  /**
   * Optional: the versions that exist among these (itemId, ov) pairs of one namespace, in any
   * order, in few round trips (at most 1000 pairs per call). collectGarbage uses it to check a
   * batch of payload keys at once; without it, it calls `getVersion` per key. Bulk writes use it
   * to find a rerun's creates by their (id, 0) before looking up requestIds (findByRequestIds).
   */
  findVersions?(ns: Namespace, refs: ReadonlyArray<{ itemId: string; ov: number }>): Promise<VersionDoc[]>;
  /**
   * Versions of one record in ov order (`dir` 1, the default) or newest first (`dir` -1),
   * within `afterOv` < ov < `beforeOv` (both exclusive, both optional): one index range scan
   * on (itemId, ov), so a page costs the same whatever the length of the chain.
   */
  listVersions(ns: Namespace, itemId: string, opts?: ListVersionsOptions): Promise<VersionDoc[]>;
  /** The committed version written with this requestId, if any. */
  findByRequestId(ns: Namespace, requestId: string): Promise<VersionDoc | null>;
  /**
   * Optional: `findByRequestId` for many requestIds of one namespace in few round trips (at most
   * 1000 per call; storage-mongo: one `requestId $in` query): the committed versions written with
   * any of them, one per requestId (the one findByRequestId returns), in any order; requestIds
   * with none are left out. Bulk writes (createMany, updateMany) use it to answer a batch of
   * retried items at once; without it, they call `findByRequestId` per item.
   */
  findByRequestIds?(ns: Namespace, requestIds: readonly string[]): Promise<VersionDoc[]>;
  /** Heads matching a filter on `metaIndexed`, keyset-paginated by itemId. */
  queryHeads(ns: Namespace, q: QueryInput): Promise<HeadDoc[]>;
  /**
   * Optional: every head matching `q`, in itemId order, in batches of at most `batchSize`,
   * read from one server-side cursor (restoreCollection uses it instead of a query per page,
   * which some servers answer only by scanning). Heads of interrupted commits are repaired
   * before the scan; a head that lags behind a commit made during the scan still loses its
   * next commit on the unique (itemId, ov). Breaking out of the loop closes the cursor.
   */
  scanHeads?(ns: Namespace, q: ScanInput): AsyncIterable<HeadDoc[]>;
  /**
   * Optional: the live (not deleted) heads in `q.state` last updated at or before `q.atOrBefore`,
   * ordered by (at, itemId), at most `q.limit`, after the keyset `q.after`. An index seek on
   * (state, at, itemId) (storage-mongo: the heads index `state_at_id`; storage-local: an
   * expression index), so its cost follows the heads it returns, not the size of the
   * collection. TTL marking (`admin.markItemsAsProcessedByTTL`) uses it; without it, the
   * admin pages through every head with `queryHeads`. Heads of interrupted commits are
   * repaired first, like `queryHeads`.
   */
  findHeadsByState?(ns: Namespace, q: HeadsByStateInput): Promise<HeadDoc[]>;
  /**
   * Optional: the change feed. Versions committed after `afterCv`, in cv order, and the cv to
   * resume from. Exact: a consumer that resumes from `nextCv` sees every committed version
   * once. A store whose cvs can commit out of order (or be burned) never returns a version
   * past a cv that may still commit: it waits for it or makes sure it never will (storage-mongo
   * seals it). A cv gap that can never fill does not stop the feed.
   */
  changesAfter?(ns: Namespace, q: ChangesInput): Promise<ChangesPage>;
  /**
   * Optional: a wake-up signal for the change feed (storage-mongo: a MongoDB change stream on the
   * version collection, where the server has them). Calls `changed` once the signal is
   * listening (a read then sees everything committed before) and at each version inserted after
   * that. Only a hint, never data: `watch` still reads with `changesAfter`, so exactness is the
   * feed's. Rejects with a ValidationError when the server offers no change streams.
   */
  openChangeSignal?(ns: Namespace, listener: ChangeSignalListener): Promise<ChangeSignal>;
  /** The highest cv committed so far in the namespace (0 when none). */
  currentCv(ns: Namespace): Promise<number>;
  /** Sets the head's processing state without adding a version. Returns false when missing. */
  setState(ns: Namespace, itemId: string, state: ItemState): Promise<boolean>;
  /**
   * Optional: removes version rows of one namespace from the index (pruneNow, after a verified
   * manifest holds them; payloads stay). At most MAX_DELETE_VERSIONS refs per call. Never the
   * newest version of a record: a call naming one throws ValidationError and removes nothing.
   * Rows of one record are removed in ascending ov order, so an interrupted call leaves each
   * record's remaining rows contiguous up to its newest (a reader then finds every removed row
   * below the lowest one left). Refs that name no row are ignored. Returns the rows removed.
   */
  deleteVersions?(ns: Namespace, refs: ReadonlyArray<{ itemId: string; ov: number }>): Promise<number>;
  /**
   * Optional: the namespaces this store holds (every one ensured or written, in any process), in
   * no particular order, each once. Maintenance without a context (admin rollupNow / pruneNow /
   * startMaintenance) enumerates them. `dbNames`: only namespaces of these databases (a server
   * shared by several databases, storage-mongo); omitted, every database the store can see.
   * A namespace whose name the store cannot tell apart from another's is left out (and logged).
   */
  listNamespaces?(q?: { dbNames?: readonly string[] }): Promise<Namespace[]>;
  /**
   * Optional: the namespace's indexes as the server holds them, against those `ensureNamespace`
   * makes (with the same `indexedProps`). Read-only: creates nothing (a doctor check; a store whose
   * indexes come with its schema at every open has nothing to report and leaves it out).
   */
  checkIndexes?(ns: Namespace, opts?: { indexedProps?: readonly string[] | undefined }): Promise<IndexCheck>;
  /** Removes every version and the head of one record (admin hardDelete only). Returns the versions removed. */
  hardDelete(ns: Namespace, itemId: string): Promise<VersionDoc[]>;
  /**
   * Optional (erasure; admin hardDelete refuses without it): writes the record's tombstone and
   * erasure record, or returns the existing one (`created` false: a rerun). From the moment it
   * resolves, in every process, `commit` of that record throws NotFoundError (details
   * `{ erased: true }`) and leaves no version or head behind, also for a writer that read the
   * head before; reads learn it from `erasedIds`. `hardDelete` alone does not write one.
   */
  beginErasure?(ns: Namespace, input: BeginErasureInput): Promise<{ record: ErasureRecord; created: boolean }>;
  /** Optional (with beginErasure): marks the erasure done with its counts. */
  finishErasure?(ns: Namespace, itemId: string, input: FinishErasureInput): Promise<void>;
  /** Optional (with beginErasure): which of these ids (at most 1000) have a tombstone. */
  erasedIds?(ns: Namespace, itemIds: readonly string[]): Promise<string[]>;
  /** Optional (with beginErasure): erasure records of a namespace, keyset by itemId. */
  listErasures?(ns: Namespace, q: { afterId?: string; limit: number }): Promise<ErasureRecord[]>;
  /**
   * Optional (devShadow shrink): removes the head's shadow when the head is still at `ov`.
   * Returns whether it removed one. Reads then GET the payload.
   */
  clearShadow?(ns: Namespace, itemId: string, ov: number): Promise<boolean>;
  /** Optional (maintenance scheduling): the newest generation of a lease in database `dbName`, or null. */
  getLease?(dbName: string, name: string): Promise<LeaseDoc | null>;
  /**
   * Optional (with getLease): writes generation `lease.gen`, which must be the newest
   * generation read + 1 (1 when none). Exactly one of concurrent puts of one generation
   * returns true; the others false.
   */
  putLease?(dbName: string, lease: LeaseDoc): Promise<boolean>;
  /**
   * Optional (erasure): makes rows deleted so far unreadable from the store's own files (an
   * embedded database's free pages and write-ahead log). False when it could not.
   */
  scrub?(): Promise<boolean>;
  /** Cheap liveness probe. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------
// BlobStore
// ---------------------------------------------------------------------------

export type BucketRole = 'json' | 'content' | 'backups';

/**
 * What a BlobStore declares about itself. Every flag is read: by callers (core, adapters)
 * and by the testkit, which skips the tests of a capability that is off.
 */
export interface BlobCapabilities {
  /** put with `ifNoneMatch` is enforced atomically (else `ifNoneMatch` is best effort). */
  conditionalWrite: boolean;
  /** `presign` exists and returns URLs that GET the object (core's presignProperty and presigned reads check it). */
  presign: boolean;
}

export interface PutOptions {
  contentType?: string;
  /** Fail with OptimisticLockError when the key already exists (where `conditionalWrite`). */
  ifNoneMatch?: boolean;
}

export interface BlobHead {
  size: number;
  contentType?: string;
  lastModified?: Date;
}

export interface BlobListEntry {
  key: string;
  size: number;
  lastModified: Date;
}

/**
 * Three logical buckets: json (version payloads), content (externalized
 * binaries), backups (manifests).
 *
 * Contract (checked by the testkit): `put` is durable when it resolves and
 * atomic (a reader sees all the bytes or none); `get` of a missing key throws
 * `NotFoundError`; `head` of a missing key returns null; `delete` is
 * idempotent; keys are opaque strings of [A-Za-z0-9._/-] and can never escape
 * the store; every failure of the backend is a `StorageError`.
 */
export interface BlobStore {
  readonly capabilities: BlobCapabilities;
  /** Optional: see PayloadLink (the same object as its metadata store's). */
  readonly payloadLink?: PayloadLink | undefined;
  put(bucket: BucketRole, key: string, body: Uint8Array, opts?: PutOptions): Promise<void>;
  get(bucket: BucketRole, key: string): Promise<Uint8Array>;
  /**
   * Optional: `length` bytes of the object from byte `offset` (fewer at its end), in one request
   * (an HTTP Range GET on S3). Manifest reads use it to fetch one record's rows; without it they
   * GET the whole object. A missing key throws NotFoundError, like `get`.
   */
  getRange?(bucket: BucketRole, key: string, offset: number, length: number): Promise<Uint8Array>;
  head(bucket: BucketRole, key: string): Promise<BlobHead | null>;
  delete(bucket: BucketRole, key: string): Promise<void>;
  /** Keys under a prefix, in key order. */
  list(bucket: BucketRole, prefix: string): AsyncIterable<BlobListEntry>;
  /** A URL that GETs the object until it expires. Only where `capabilities.presign`. */
  presign?(bucket: BucketRole, key: string, ttlSeconds: number): Promise<string>;
  /**
   * Optional (erasure): deletes every object under `prefix` and every stored version of them
   * (with bucket versioning: noncurrent versions and delete markers), so no bytes of them stay
   * in the store. Returns how many objects and object versions went. Without it erasure lists
   * and deletes.
   */
  purgePrefix?(bucket: BucketRole, prefix: string): Promise<number>;
  /**
   * Optional (erasure): after deletes, makes the deleted bytes unreadable from the store's own
   * files (an embedded database's free pages and write-ahead log). Returns false when it could
   * not (say, another process held a read open): erasure reports it, never claims it.
   */
  scrub?(): Promise<boolean>;
  close(): Promise<void>;
}
