/**
 * `chronos.admin`: health, backends, shutdown, bucket checks, TTL state,
 * hard delete and orphan GC over an AdminRuntime (see runtime.ts). After
 * `shutdown()` every function throws `ChronosError` code 'CLOSED' before any
 * I/O. Every result is free of secrets.
 */
import type { GcOptions } from '@chronos-db/core';
import { describeBackends, type ContextInput } from '@chronos-db/router';
import type { EnsureBucketsOptions } from '../spaces/ensure-buckets.js';
import { ensureBucketsExist, testS3Connectivity, validateSpacesConfiguration } from './buckets.js';
import { compactLocal } from './compact.js';
import { checkIndexes, health, listCollections } from './health.js';
import type { HardDeleteOptions } from '@chronos-db/core';
import { finishErasures, hardDelete, listErasures } from './erasure.js';
import { createMaintenance, type MaintenanceOptions } from './maintenance.js';
import { shrinkShadows } from './shrink.js';
import { gc, markItemAsProcessed, markItemsAsProcessedByTTL } from './records.js';
import { pruneNow, rollupNow, type LifecycleRunOptions } from './lifecycle.js';
import type { AdminRuntime } from './runtime.js';

export type { AdminRuntime, AdminResolved } from './runtime.js';
export type { ComponentHealth, HealthReport } from './health.js';
export type { CompactLocalResult } from './compact.js';
export { requireConfirm } from './confirm.js';
export { rollupNow, pruneNow, type LifecycleRunOptions, type LifecycleReport, type NamespaceReport } from './lifecycle.js';

export type { MaintenanceOptions, MaintenanceReport, MaintenanceStep, MaintenanceStepReport } from './maintenance.js';
export type { ShrinkShadowsResult } from './shrink.js';

export function createChronosAdmin(rt: AdminRuntime) {
  const maintenance = createMaintenance(rt, () => ({
    rollup: (ctx) => rollupNow(rt, ctx),
    prune: (ctx) => pruneNow(rt, ctx),
    shrink: (ctx) => shrinkShadows(rt, ctx, { confirm: true }),
    ttl: (ctx, hours) => markItemsAsProcessedByTTL(rt, ctx, hours, { confirm: true }),
    gc: (ctx, graceMs) => gc(rt, ctx, { confirm: true, ...(graceMs !== undefined ? { graceMs } : {}) }),
    erasures: (ctx) => finishErasures(rt, ctx),
  }));
  return {
    /** Per Mongo backend, storage connection and counters database: ok, latency, error. No secrets. */
    health: () => health(rt),
    /** Every configured backend: key, type, tier, dbName, redacted URI. */
    listBackends() {
      rt.assertOpen();
      return rt.redactor.value(describeBackends(rt.topology));
    },
    /** Closes every client this instance opened; every later call is a `CLOSED` error. Idempotent. */
    shutdown: async () => {
      await maintenance.stop();
      return rt.shutdown();
    },
    ensureBucketsExist: (ctx: ContextInput, opts: EnsureBucketsOptions) => ensureBucketsExist(rt, ctx, opts),
    testS3Connectivity: (ctx: ContextInput) => testS3Connectivity(rt, ctx),
    validateSpacesConfiguration: (ctx: ContextInput) => validateSpacesConfiguration(rt, ctx),
    /** The context's indexes as its metadata store lists them (read-only: creates nothing). */
    checkIndexes: (ctx: ContextInput) => checkIndexes(rt, ctx),
    /** The collections of a context's database (or backend key) and tenant that hold data, from every process. */
    listCollections: (ctx: { dbName?: string; key?: string; tenantId?: string }) => listCollections(rt, ctx),
    /** Marks every live record whose last update is older than ttlHours (and not yet processed) as `processed`. */
    markItemsAsProcessedByTTL: (ctx: ContextInput, ttlHours: number, opts: { confirm?: boolean; dryRun?: boolean }) =>
      markItemsAsProcessedByTTL(rt, ctx, ttlHours, opts),
    markItemAsProcessed: (ctx: ContextInput, id: string, opts: { confirm?: boolean }) => markItemAsProcessed(rt, ctx, id, opts),
    /**
     * Erases one record for good (tombstone first, then payloads, blobs, versions, head, manifest
     * rows); rerun after an interruption, it finishes. Needs `hardDeleteEnabled` and `{ confirm: true }`.
     */
    hardDelete: (ctx: ContextInput, id: string, opts: HardDeleteOptions) => hardDelete(rt, ctx, id, opts),
    /** The erasure records of a context (who, when, why, how many objects went; no content), in pages. */
    listErasures: (ctx: ContextInput, opts?: { limit?: number; pageToken?: string }) => listErasures(rt, ctx, opts),
    /** Deletes unreferenced payload objects older than graceMs (orphans of failed or lost writes). */
    gc: (ctx: ContextInput, opts: GcOptions & { confirm?: boolean } = {}) => gc(rt, ctx, opts),
    /** Embedded store: moves payload files of the older layout (one file per version) into SQLite. Optional; `{ confirm }` or `{ dryRun }`. */
    compactLocal: (opts: { confirm?: boolean; dryRun?: boolean } = {}) => compactLocal(rt, opts),
    /** Writes the version rows retention will remove into manifests in the backups bucket (one context, or every bound one). */
    rollupNow: (ctx?: ContextInput, opts?: LifecycleRunOptions) => rollupNow(rt, ctx, opts),
    /** Removes from the version index the rows verified manifests hold; reads find them in the manifests. */
    pruneNow: (ctx?: ContextInput, opts?: LifecycleRunOptions) => pruneNow(rt, ctx, opts),
    /** devShadow shrink: drops shadows past ttlHours or over maxBytesPerDoc (all of them with devShadow off). `{ confirm }` or `{ dryRun }`. */
    shrinkShadows: (ctx: ContextInput, opts: { confirm?: boolean; dryRun?: boolean }) => shrinkShadows(rt, ctx, opts),
    /**
     * Runs rollup, prune, shrink, TTL marking, GC and unfinished erasures every `everyMs`; in many
     * processes at once, each pass runs in one of them (a lease in the metadata store).
     */
    startMaintenance: (opts: MaintenanceOptions) => maintenance.start(opts),
    /** Stops the timer and waits for a pass in progress. */
    stopMaintenance: () => maintenance.stop(),
  };
}

export type ChronosAdmin = ReturnType<typeof createChronosAdmin>;
