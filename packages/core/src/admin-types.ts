/**
 * The option and result types of `chronos.admin`, declared once: @chronos-db/admin implements
 * them and chronos-db names them in its `ChronosAdmin` type (chronos-db must not name admin's
 * own declarations: they import the AWS SDK's, which do not compile in a strict consumer
 * without `skipLibCheck`; these import nothing). Types only: no code.
 *
 * `MaintenanceOptions` takes the context type as a parameter (core does not know the
 * router's `ContextInput`): admin and chronos-db use `MaintenanceOptions<ContextInput>`.
 */

// ---------------------------------------------------------------------------
// Scheduled maintenance (admin.startMaintenance)
// ---------------------------------------------------------------------------

/** The steps of one maintenance pass, in the order they run. */
export const MAINTENANCE_STEPS = ['rollup', 'prune', 'shrink', 'ttl', 'gc', 'erasures'] as const;
export type MaintenanceStep = (typeof MAINTENANCE_STEPS)[number];

export interface MaintenanceStepReport {
  context: string;
  step: MaintenanceStep;
  status: 'done' | 'skipped' | 'failed';
  /** Why a step was skipped, or the error (redacted) of a failed one. */
  reason?: string;
  result?: unknown;
}

export interface MaintenanceReport {
  /** The pass number: floor(start time / everyMs) (not named `pass`: the redactor masks fields named like passwords). */
  round: number;
  /** This process's holder id. */
  holder: string;
  /** false: another process holds or finished this pass (or an earlier one still runs); `steps` is empty. */
  ran: boolean;
  startedAt: string;
  finishedAt: string;
  steps: MaintenanceStepReport[];
  /** The pass stopped early: the lease was lost (another process took it over) or maintenance was stopped. */
  aborted?: string;
}

/** Options of `admin.startMaintenance`; `C` is the context type (the router's `ContextInput`). */
export interface MaintenanceOptions<C = unknown> {
  /** Milliseconds between passes (at least 100). */
  everyMs: number;
  /** Called after every tick with what the pass did (or that it was another process's). */
  onReport?: (r: MaintenanceReport) => void;
  /**
   * The contexts to maintain. Default: every namespace of every configured backend, listed at each
   * pass by the stores (`listNamespaces`: what any process wrote), each on the backend holding it.
   */
  contexts?: C[];
  /** How long a pass's lease lasts without renewal. Default max(2 x everyMs, 60 s). */
  leaseMs?: number;
  /** TTL marking: records whose last update is older than this many hours become `processed`. Omitted: the step is skipped. */
  ttlHours?: number;
  /** GC grace period (default: gc's, 1 hour; at least 2 x operationTimeoutMs). */
  gcGraceMs?: number;
  /** Steps to leave out. */
  skip?: MaintenanceStep[];
}

// ---------------------------------------------------------------------------
// Maintenance steps run on their own
// ---------------------------------------------------------------------------

/** What `admin.shrinkShadows` did (devShadow shrink). */
export interface ShrinkShadowsResult {
  /** Heads read. */
  scanned: number;
  /** Heads that carried a shadow. */
  shadows: number;
  /** Shadows removed (with dryRun: that would be). */
  dropped: number;
  /** Of those: past ttlHours, over maxBytesPerDoc, or devShadow off. */
  expired: number;
  oversized: number;
  disabled: number;
  dryRun: boolean;
}

/** What `admin.compactLocal` did (the embedded store's older payload files moved into SQLite). */
export interface CompactLocalResult {
  /** Files moved into SQLite (with dryRun: that would move). */
  moved: number;
  movedBytes: number;
  /** Files over the inline limit, which stay files. */
  keptAsFiles: number;
  dryRun: boolean;
}

// ---------------------------------------------------------------------------
// Health and buckets
// ---------------------------------------------------------------------------

export interface ComponentHealth {
  name: string;
  ok: boolean;
  latencyMs: number;
  error?: string;
  [k: string]: unknown;
}

/** `admin.health()`: per backend, storage connection and the counters database. No secrets. */
export interface HealthReport {
  ok: boolean;
  backends: ComponentHealth[];
  storage: ComponentHealth[];
  counters?: ComponentHealth;
}

/** `admin.checkIndexes(ctx)`: the context's indexes as its metadata store lists them (read-only). */
export interface IndexReport {
  /** The backend holding the context. */
  backend: string;
  /** False when the store has no index listing (the embedded store: its indexes come with its schema at every open). */
  checked: boolean;
  /** False when the namespace has no collection yet (the first write or read makes them, with their indexes). */
  exists: boolean;
  /** Per physical collection: the index names `ensureNamespace` makes and those missing. */
  collections: Array<{ name: string; expected: string[]; missing: string[] }>;
}

export interface EnsureBucketsOptions {
  /** Required (true) unless `dryRun`: creating buckets is a change to your account. */
  confirm?: boolean;
  /** Create the buckets that do not exist. Default true. */
  createIfMissing?: boolean;
  /** Only report; create nothing. */
  dryRun?: boolean;
}

export interface BucketStatus {
  name: string;
  exists: boolean;
  accessible: boolean;
  created?: boolean;
  error?: string;
}

export interface EnsureBucketsResult {
  bucketsChecked: number;
  bucketsCreated: number;
  bucketStatuses: BucketStatus[];
}

export interface ConnectivityResult {
  /** Every configured bucket answered. */
  success: boolean;
  /** The configured buckets that are reachable with these credentials. */
  buckets: string[];
  error?: string;
  /**
   * Set to 'local' when the context has no S3 (the embedded store, localStorage): S3 connectivity
   * does not apply, and the result reports the local payload folders instead (see `note`).
   */
  storage?: 'local';
  /** Why the result is not an S3 check (only with `storage: 'local'`). */
  note?: string;
}

export interface SpacesValidationResult {
  valid: boolean;
  issues: string[];
  recommendations: string[];
}
