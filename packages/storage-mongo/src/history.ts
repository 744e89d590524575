/**
 * One record's versions in pages (`listVersions`): a keyset range on (itemId, ov).
 *
 * MongoDB: `{ itemId, ov: { $gt, $lt } }` sorted by ov is a range scan of the unique
 * (itemId, ov) index, so a page costs the same at ov 10 or ov 100,000.
 * FerretDB (1.x) pushes down only `{ _id: value }`: any other filter scans the whole version
 * collection. There the page is read with `_id` seeks instead: ov is gapless and versions have
 * `_id: '<itemId>:<ov>'`, so the checked head (seekHead) bounds the chain and each version of
 * the page is one seek (in parallel, SEEK_PARALLEL at a time). A missing version (a chain that
 * is not plain) falls back to the query.
 */
import { ValidationError, assertOv, type ListVersionsOptions, type MetadataStore, type Namespace, type VersionDoc } from '@chronos-db/core';
import type { Cols, StoreCtx } from './context.js';
import { toVersion, versionId, type StoredVersion } from './docs.js';
import { settleObserved } from './heads.js';
import { checkItem } from './queries.js';
import { seekHead } from './seeks.js';

/** Default page when the caller gives no limit (the port lets a store cap it). */
const DEFAULT_LIMIT = 1000;
const MAX_LIMIT = 100_000;
/** Largest page read by seeks on FerretDB; a larger one is one query. */
const MAX_SEEK_PAGE = 1000;
const SEEK_PARALLEL = 25;

interface Range {
  after: number;
  before: number;
  limit: number;
  dir: 1 | -1;
}

const checkRange = (o: ListVersionsOptions): Range => {
  if (!o || typeof o !== 'object') throw new ValidationError('listVersions options must be an object');
  const after = o.afterOv ?? -1;
  if (after !== -1) assertOv(after, 'afterOv');
  const before = o.beforeOv ?? Number.MAX_SAFE_INTEGER;
  if (o.beforeOv !== undefined) assertOv(before, 'beforeOv');
  const limit = o.limit ?? DEFAULT_LIMIT;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_LIMIT) throw new ValidationError(`limit must be an integer from 1 to ${MAX_LIMIT}`);
  const dir = o.dir ?? 1;
  if (dir !== 1 && dir !== -1) throw new ValidationError('dir must be 1 or -1');
  return { after, before, limit, dir };
};

const query = async (ctx: StoreCtx, c: Cols, itemId: string, r: Range): Promise<VersionDoc[]> => {
  const ov: Record<string, number> = { $gt: r.after };
  if (r.before !== Number.MAX_SAFE_INTEGER) ov.$lt = r.before;
  const vs = await c.ver.find({ itemId, ov }).sort({ ov: r.dir }).limit(r.limit).toArray();
  await settleObserved(ctx, c, vs);
  return vs.map((v) => toVersion(v));
};

/** The page by `_id` seeks, or undefined when the chain is not plain (the caller queries). */
const seekPage = async (ctx: StoreCtx, c: Cols, itemId: string, r: Range): Promise<VersionDoc[] | undefined> => {
  const head = await seekHead(ctx, c, itemId);
  if (head === undefined) return undefined;
  if (head === null) return [];
  const lo = r.after + 1;
  const hi = Math.min(r.before - 1, head.ov);
  if (hi < lo) return [];
  const n = Math.min(r.limit, hi - lo + 1);
  const ovs = Array.from({ length: n }, (_, i) => (r.dir === 1 ? lo + i : hi - i));
  const out: Array<StoredVersion | null> = new Array(n);
  for (let i = 0; i < n; i += SEEK_PARALLEL) {
    const part = ovs.slice(i, i + SEEK_PARALLEL);
    const docs = await Promise.all(part.map((ov) => c.ver.findOne({ _id: versionId(itemId, ov) })));
    docs.forEach((d, k) => (out[i + k] = d));
    if (docs.some((d) => !d)) return undefined;
  }
  return out.map((d) => toVersion(d!));
};

export const listVersions = async (ctx: StoreCtx, ns: Namespace, itemId: string, o: ListVersionsOptions = {}): ReturnType<MetadataStore['listVersions']> => {
  const c = checkItem(ctx, ns, itemId);
  const r = checkRange(o);
  return ctx.run('list versions', async () => {
    if (r.limit <= MAX_SEEK_PAGE && (await ctx.idSeeks())) {
      const page = await seekPage(ctx, c, itemId, r);
      if (page !== undefined) return page;
    }
    return query(ctx, c, itemId, r);
  });
};
