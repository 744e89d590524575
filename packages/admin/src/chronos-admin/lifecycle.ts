/**
 * `admin.rollupNow(ctx?)` and `admin.pruneNow(ctx?)`: version retention over an AdminRuntime.
 * Plain async functions of the runtime (a maintenance pass calls them as they are).
 *
 * With a context: that namespace. Without: every namespace of every configured backend (the
 * runtime's `allNamespaces`: what each store lists, written by any process), one after the other.
 * A namespace whose collection has no retention is skipped (reported with `skipped`).
 */
import {
  ValidationError,
  pruneNamespace,
  rollupNamespace,
  versionRetentionOf,
  type LifecycleReport,
  type LifecycleRunOptions,
  type ManifestPeriod,
  type NamespaceReport,
  type PruneResult,
  type RollupResult,
} from '@chronos-db/core';
import { isResolved, type AdminResolved, type AdminRuntime, type AdminTarget } from './runtime.js';

export type { LifecycleReport, LifecycleRunOptions, NamespaceReport };

async function targets(rt: AdminRuntime, ctx: AdminTarget | undefined): Promise<AdminResolved[]> {
  rt.assertOpen();
  if (rt.cfg.rollup?.enabled === false) throw new ValidationError('rollup is disabled (rollup.enabled: false): nothing is rolled up or pruned');
  if (ctx === undefined) return rt.allNamespaces();
  return [isResolved(ctx) ? ctx : await rt.resolvePlaced(ctx)];
}

function nowOf(opts: LifecycleRunOptions | undefined): number {
  const n = opts?.now;
  if (n === undefined) return Date.now();
  const ms = n instanceof Date ? n.getTime() : n;
  if (typeof ms !== 'number' || !Number.isFinite(ms)) throw new ValidationError('now must be epoch ms or a valid Date');
  return ms;
}

async function run<R>(
  rt: AdminRuntime,
  ctx: AdminTarget | undefined,
  opts: LifecycleRunOptions | undefined,
  fn: typeof rollupNamespace | typeof pruneNamespace,
): Promise<LifecycleReport<R>> {
  const now = nowOf(opts);
  const out: LifecycleReport<R> = { namespaces: [] };
  for (const r of await targets(rt, ctx)) {
    const rep: NamespaceReport<R> = { dbName: r.ns.dbName, collection: r.ns.collection, ...(r.ns.tenant !== undefined ? { tenant: r.ns.tenant } : {}) };
    out.namespaces.push(rep);
    const retention = versionRetentionOf(rt.cfg, r.ns.collection);
    if (!retention) {
      rep.skipped = 'no version retention configured for this collection';
      continue;
    }
    rep.result = (await fn({
      ns: r.ns,
      meta: r.meta,
      blobs: r.blobs,
      retention,
      period: (rt.cfg.rollup?.manifestPeriod ?? 'monthly') as ManifestPeriod,
      now,
      checkOpen: () => rt.assertOpen(),
    })) as R;
  }
  return out;
}

/** Writes the version rows retention will remove into manifests in the backups bucket. Idempotent. */
export function rollupNow(rt: AdminRuntime, ctx?: AdminTarget, opts?: LifecycleRunOptions): Promise<LifecycleReport<RollupResult>> {
  return run<RollupResult>(rt, ctx, opts, rollupNamespace);
}

/** Removes from the version index the rows that verified manifests hold (retention applied). Payloads stay. */
export function pruneNow(rt: AdminRuntime, ctx?: AdminTarget, opts?: LifecycleRunOptions): Promise<LifecycleReport<PruneResult>> {
  return run<PruneResult>(rt, ctx, opts, pruneNamespace);
}
