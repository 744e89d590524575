/**
 * The public type of `chronos.admin`, declared here (its option and result types
 * are core's, see core's admin-types.ts) so chronos-db's published declarations
 * never name a type of `@chronos-db/admin` or `@chronos-db/storage-s3`: their
 * declarations import the AWS SDK's, which need @types/node and the DOM lib and do not compile in a
 * strict consumer without `skipLibCheck` (test/dts-consumer.test.ts proves the
 * built .d.ts does). The admin object built in chronos.ts must be assignable
 * to `ChronosAdmin`, so tsc keeps the two in step.
 */
import type {
  CompactLocalResult,
  ConnectivityResult,
  EnsureBucketsOptions,
  EnsureBucketsResult,
  ErasureRecord,
  GcOptions,
  GcResult,
  HardDeleteOptions,
  HardDeleteResult,
  LifecycleReport,
  LifecycleRunOptions,
  MaintenanceOptions as CoreMaintenanceOptions,
  PruneResult,
  RollupResult,
  ShrinkShadowsResult,
  SpacesValidationResult,
  HealthReport,
  IndexReport,
} from '@chronos-db/core';
import type { BackendInfo, ContextInput } from '@chronos-db/router';
import type { RebalanceOptions, RebalancePlan, RebalancePlanOptions, RebalanceResult } from './rebalance.js';

/** `admin.startMaintenance` options with the router's context type (the option and report types live in core). */
export type MaintenanceOptions = CoreMaintenanceOptions<ContextInput>;

export interface ChronosAdmin {
  /** Per Mongo backend, storage connection and counters database: ok, latency, error. No secrets. */
  health(): Promise<HealthReport>;
  /** Every configured backend: key, type, tier, dbName, redacted URI. */
  listBackends(): BackendInfo[];
  /** Closes every client this instance opened; every later call throws `ChronosError` code 'CLOSED'. Idempotent. */
  shutdown(): Promise<void>;
  ensureBucketsExist(ctx: ContextInput, opts: EnsureBucketsOptions): Promise<EnsureBucketsResult>;
  testS3Connectivity(ctx: ContextInput): Promise<ConnectivityResult>;
  validateSpacesConfiguration(ctx: ContextInput): Promise<SpacesValidationResult>;
  /**
   * The context's indexes as its metadata store lists them (MongoDB: listIndexes of its version and
   * head collections) against those a first use makes, with the collection map's indexedProps.
   * Read-only: creates nothing. `checked: false` on the embedded store (its indexes come with its schema).
   */
  checkIndexes(ctx: ContextInput): Promise<IndexReport>;
  /**
   * The collections of a database (hashed contexts: `dbName`; or a backend `key`) and tenant that the
   * stores hold, written by any process (`MetadataStore.listNamespaces`), sorted. Creates nothing.
   */
  listCollections(ctx: { dbName: string; tenantId?: string } | { key: string; tenantId?: string }): Promise<string[]>;
  /** Marks every live record whose last update is older than ttlHours (and not yet processed) as `processed`. */
  markItemsAsProcessedByTTL(
    ctx: ContextInput,
    ttlHours: number,
    opts: { confirm?: boolean; dryRun?: boolean },
  ): Promise<{ scanned: number; marked: number; dryRun: boolean }>;
  markItemAsProcessed(ctx: ContextInput, id: string, opts: { confirm?: boolean }): Promise<{ id: string; state: 'processed' }>;
  /**
   * Erases one record for good: a tombstone first (writes and reads refuse the record from then
   * on, in every process), then payloads, content blobs and text renditions (every stored object
   * version where the bucket keeps them), versions and head, and its rows in every manifest.
   * Interrupted, a rerun finishes it. Needs `hardDeleteEnabled` and `{ confirm: true }`.
   */
  hardDelete(ctx: ContextInput, id: string, opts: HardDeleteOptions): Promise<HardDeleteResult>;
  /** The erasure records of a context, in id order: who, when, why, how many objects went; no content. */
  listErasures(ctx: ContextInput, opts?: { limit?: number; pageToken?: string }): Promise<{ items: ErasureRecord[]; pageToken?: string }>;
  /** Deletes unreferenced payload objects older than graceMs (orphans of failed or lost writes). */
  gc(ctx: ContextInput, opts?: GcOptions & { confirm?: boolean }): Promise<GcResult>;
  /**
   * Embedded store (localStorage): moves payload files of the older layout (one file per version under
   * `<basePath>/<role>/`) up to the inline limit into the SQLite file; larger files stay. Optional: reads
   * find payloads in either place. Needs `{ confirm: true }`, or `{ dryRun: true }` to only count.
   */
  compactLocal(opts: { confirm?: boolean; dryRun?: boolean }): Promise<CompactLocalResult>;
  /** Read-only: the hashed contexts whose data is not where the backend list (minus `drain`) places them, with record and version counts. */
  planRebalance(opts?: RebalancePlanOptions): Promise<RebalancePlan>;
  /** Moves those contexts online, one at a time (fence, copy, verify, flip, remove the source unless keepSource). Rerunnable. */
  rebalance(opts: RebalanceOptions): Promise<RebalanceResult>;
  /**
   * Writes the version-index rows that `retention` will remove into manifests in the backups
   * bucket (one context, or every context bound in this process). Idempotent.
   */
  rollupNow(ctx?: ContextInput, opts?: LifecycleRunOptions): Promise<LifecycleReport<RollupResult>>;
  /**
   * Removes from the version index the rows that manifests, read back and checked by hash, hold
   * and that retention lets go. Payloads stay; reads find those versions in the manifests.
   */
  pruneNow(ctx?: ContextInput, opts?: LifecycleRunOptions): Promise<LifecycleReport<PruneResult>>;
  /** devShadow shrink: drops head shadows past `ttlHours` or over `maxBytesPerDoc` (every shadow when devShadow is off); reads then GET the payload. */
  shrinkShadows(ctx: ContextInput, opts: { confirm?: boolean; dryRun?: boolean }): Promise<ShrinkShadowsResult>;
  /**
   * Runs rollup, prune, shrink, TTL marking, GC and unfinished erasures on a timer. Any number of
   * processes may call it: each pass runs in one of them (a lease in the metadata store).
   */
  startMaintenance(opts: MaintenanceOptions): void;
  /** Stops the timer and waits for a pass in progress. */
  stopMaintenance(): Promise<void>;
}
