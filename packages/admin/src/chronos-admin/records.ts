/** Record maintenance: TTL marking, one record's state and orphan GC (erasure: erasure.ts). */
import { ITEM_STATES, NotFoundError, ValidationError, assertId, type GcOptions, type HeadDoc } from '@chronos-db/core';
import type { ContextInput } from '@chronos-db/router';
import { requireConfirm } from './confirm.js';
import { isResolved, placedTarget, type AdminRuntime, type AdminTarget } from './runtime.js';

const PAGE = 500;

/**
 * Marks every live record of the context whose LAST UPDATE (its newest
 * version's time) is older than `ttlHours`, and that is not yet processed,
 * as `processed`. A record updated within the window is left alone whatever
 * its creation time. `scanned` counts the heads read: with a store that has
 * `findHeadsByState` (both bundled ones) only the candidates, read from an
 * index on (state, last update); with one that lacks it, every live head.
 */
export async function markItemsAsProcessedByTTL(rt: AdminRuntime, ctx: AdminTarget, ttlHours: number, opts: { confirm?: boolean; dryRun?: boolean }) {
  rt.assertOpen();
  if (typeof ttlHours !== 'number' || !Number.isFinite(ttlHours) || ttlHours < 0) throw new ValidationError('ttlHours must be a non-negative number');
  requireConfirm(opts, 'markItemsAsProcessedByTTL');
  const r = await placedTarget(rt, ctx);
  const cutoff = Date.now() - ttlHours * 3600_000;
  let scanned = 0;
  let marked = 0;
  const mark = async (h: HeadDoc) => {
    marked++;
    if (!opts.dryRun) {
      rt.assertOpen();
      await r.meta.setState(r.ns, h.itemId, 'processed');
    }
  };
  if (r.meta.findHeadsByState) {
    for (const state of ITEM_STATES) {
      if (state === 'processed') continue;
      let after: { at: number; itemId: string } | undefined;
      for (;;) {
        const page = await r.meta.findHeadsByState(r.ns, { state, atOrBefore: cutoff, limit: PAGE, ...(after ? { after } : {}) });
        for (const h of page) {
          scanned++;
          await mark(h);
        }
        if (page.length < PAGE) break;
        const last = page[page.length - 1]!;
        after = { at: last.at, itemId: last.itemId };
      }
    }
    return { scanned, marked, dryRun: !!opts.dryRun };
  }
  let afterId: string | undefined;
  for (;;) {
    const page: HeadDoc[] = await r.meta.queryHeads(r.ns, { limit: PAGE, includeDeleted: false, ...(afterId ? { afterId } : {}) });
    if (!page.length) break;
    afterId = page[page.length - 1]!.itemId;
    for (const h of page) {
      scanned++;
      if (h.state !== 'processed' && h.at <= cutoff) await mark(h);
    }
    if (page.length < PAGE) break;
  }
  return { scanned, marked, dryRun: !!opts.dryRun };
}

export async function markItemAsProcessed(rt: AdminRuntime, ctx: ContextInput, id: string, opts: { confirm?: boolean }) {
  rt.assertOpen();
  assertId(id);
  requireConfirm(opts, 'markItemAsProcessed', false);
  const r = await rt.resolvePlaced(ctx);
  const ok = await r.meta.setState(r.ns, id, 'processed');
  if (!ok) throw new NotFoundError(`Record '${id}' not found`, { id });
  return { id, state: 'processed' as const };
}

/** Deletes unreferenced payload objects older than graceMs (orphans of failed or lost writes). */
export async function gc(rt: AdminRuntime, ctx: AdminTarget, opts: GcOptions & { confirm?: boolean } = {}) {
  rt.assertOpen();
  requireConfirm(opts, 'gc');
  return (isResolved(ctx) ? rt.engineOf(ctx) : rt.engine(ctx)).collectGarbage(opts);
}
