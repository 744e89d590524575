/**
 * devShadow shrink: drops head shadows past `devShadow.ttlHours` (by their own expiry or by
 * the record's last update) or over `maxBytesPerDoc`, and every shadow when devShadow is off.
 * A read of a record without a shadow GETs its payload, so reads stay correct; a shadow is
 * cleared only while the head is still at the version it shadows (`clearShadow(ns, id, ov)`).
 */
import { ValidationError, type HeadDoc, type ShrinkShadowsResult } from '@chronos-db/core';
import { requireConfirm } from './confirm.js';
import { placedTarget, type AdminRuntime, type AdminTarget } from './runtime.js';

const PAGE = 500;

export type { ShrinkShadowsResult };

export async function shrinkShadows(rt: AdminRuntime, ctx: AdminTarget, opts: { confirm?: boolean; dryRun?: boolean }): Promise<ShrinkShadowsResult> {
  rt.assertOpen();
  requireConfirm(opts, 'shrinkShadows');
  const r = await placedTarget(rt, ctx);
  const clear = r.meta.clearShadow?.bind(r.meta);
  if (!clear) throw new ValidationError('shrinkShadows needs a metadata store with clearShadow; this one does not');
  const ds = rt.cfg.devShadow?.enabled ? rt.cfg.devShadow : undefined;
  const now = Date.now();
  const out: ShrinkShadowsResult = { scanned: 0, shadows: 0, dropped: 0, expired: 0, oversized: 0, disabled: 0, dryRun: opts.dryRun === true };
  const why = (h: HeadDoc): 'expired' | 'oversized' | 'disabled' | null => {
    const sh = h.shadow!;
    if (!ds) return 'disabled';
    if (sh.expiresAt <= now || h.at + ds.ttlHours * 3600_000 <= now) return 'expired';
    if (ds.maxBytesPerDoc !== undefined && Buffer.byteLength(sh.json) > ds.maxBytesPerDoc) return 'oversized';
    return null;
  };
  let afterId: string | undefined;
  for (;;) {
    rt.assertOpen();
    const page = await r.meta.queryHeads(r.ns, { limit: PAGE, includeDeleted: true, ...(afterId ? { afterId } : {}) });
    for (const h of page) {
      out.scanned++;
      if (!h.shadow) continue;
      out.shadows++;
      const reason = why(h);
      if (!reason) continue;
      if (!out.dryRun && !(await clear(r.ns, h.itemId, h.ov))) continue; // the head moved on: its new shadow is current
      out.dropped++;
      out[reason]++;
    }
    if (page.length < PAGE) break;
    afterId = page[page.length - 1]!.itemId;
  }
  return out;
}
