/**
 * `findVersions`: the versions among a batch of (itemId, ov) pairs (collectGarbage checks a
 * batch of payload keys at once). Version documents have `_id: '<itemId>:<ov>'`, so this is
 * one `_id $in` query on MongoDB; on FerretDB, which answers only single `_id` equality with
 * an index seek, it is one `_id` seek per pair, 16 in flight. Bulk writes use it too: a rerun's
 * creates look for their (id, 0) versions here before any requestId query.
 */
import { ValidationError, assertId, assertOv, type Namespace, type VersionDoc } from '@chronos-db/core';
import type { StoreCtx } from './context.js';
import { toVersion, versionId, type StoredVersion } from './docs.js';
import { settleObserved } from './heads.js';

const MAX_REFS = 1000;
const SEEKS_IN_FLIGHT = 16;

export async function findVersions(ctx: StoreCtx, ns: Namespace, refs: ReadonlyArray<{ itemId: string; ov: number }>): Promise<VersionDoc[]> {
  const c = ctx.cols(ns);
  if (!Array.isArray(refs) || refs.length > MAX_REFS) throw new ValidationError(`findVersions takes an array of at most ${MAX_REFS} { itemId, ov }`);
  const ids: string[] = [];
  for (const r of refs) {
    assertId(r?.itemId);
    assertOv(r.ov, 'ov');
    ids.push(versionId(r.itemId, r.ov));
  }
  if (ids.length === 0) return [];
  await ctx.ensure(ns);
  return ctx.run('find versions', async () => {
    let docs: StoredVersion[];
    if (await ctx.idSeeks()) {
      docs = [];
      for (let i = 0; i < ids.length; i += SEEKS_IN_FLIGHT) {
        const found = await Promise.all(ids.slice(i, i + SEEKS_IN_FLIGHT).map((_id) => c.ver.findOne({ _id })));
        for (const d of found) if (d) docs.push(d);
      }
    } else docs = await c.ver.find({ _id: { $in: ids } }).toArray();
    // a version whose head write is unconfirmed gets its head first, as every read that returns a version (heads.ts)
    await settleObserved(ctx, c, docs);
    return docs.map((d) => toVersion(d));
  });
}
