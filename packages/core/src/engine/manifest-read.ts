/**
 * Reads through manifests: once pruneNow has moved a record's old version rows to the backups
 * bucket, getVersion, getAsOf, history, diff, listAsOf, restoreObject and restoreCollection
 * find them there, transparently.
 *
 * Pruning removes, per record, a prefix of its chain (ov 0..k-1; never the newest version), so
 * the index alone answers every read that lands on a row it still has: a row it returns for
 * `{ at }` / `{ cv }` is the newest qualifying one, as every removed row is older. Only a miss
 * needs more: when the record's lowest indexed ov is above 0, the rows below it are read from
 * the manifests (the index of manifests is cached per process, each part's footer too; one
 * ranged GET per part that holds the record), and they must be exactly ov 0..k-1, or the read
 * is a ManifestError naming what is missing: never a wrong answer, never a silent null.
 */
import { ManifestError } from '../errors.js';
import type { BlobStore, ListVersionsOptions, Namespace, VersionDoc, VersionSelector } from '../ports.js';
import { mapLimit } from './concurrency.js';
import type { EngineContext } from './context.js';
import { decodeBlock, getManifestObject, loadIndex, manifestRoot, readFooter, type ManifestIndex, type PartEntry, type PartFooter } from './manifest-format.js';

/** Versions read from a manifest (render's `includeMeta` says so). */
const fromManifestSet = new WeakSet<object>();
export const isFromManifest = (v: object): boolean => fromManifestSet.has(v);

const indexCache = new WeakMap<BlobStore, Map<string, ManifestIndex>>();
const FOOTERS_KEPT = 512;
const footerCache = new Map<string, PartFooter>();
const nsId = (ns: Namespace) => manifestRoot(ns);

async function cachedIndex(blobs: BlobStore, ns: Namespace, refresh: boolean): Promise<ManifestIndex> {
  let m = indexCache.get(blobs);
  if (!m) indexCache.set(blobs, (m = new Map()));
  const hit = m.get(nsId(ns));
  if (hit && !refresh) return hit;
  const idx = await loadIndex(blobs, ns);
  m.set(nsId(ns), idx);
  return idx;
}

/** Forgets the cached manifest index of a namespace (rollup, prune and rewrites call it). */
export function forgetManifestIndex(blobs: BlobStore, ns: Namespace): void {
  indexCache.get(blobs)?.delete(nsId(ns));
  const c = rowsCache.get(blobs);
  if (c) {
    for (const [k, v] of c.map) {
      if (!k.startsWith(`${nsId(ns)}\u0000`)) continue;
      c.map.delete(k);
      c.rows -= v.length;
    }
  }
}

async function footerOf(blobs: BlobStore, part: PartEntry): Promise<PartFooter> {
  const hit = footerCache.get(part.key);
  if (hit) return hit;
  const f = await readFooter(blobs, part);
  if (footerCache.size >= FOOTERS_KEPT) footerCache.delete(footerCache.keys().next().value!);
  footerCache.set(part.key, f);
  return f;
}

/** The rows of one record held by one part: one ranged GET of the blocks that hold it. */
export async function partRowsFor(blobs: BlobStore, part: PartEntry, itemId: string): Promise<VersionDoc[]> {
  if (itemId < part.first || itemId > part.last) return [];
  const f = await footerOf(blobs, part);
  const blocks = f.blocks.filter((b) => b.first <= itemId && itemId <= b.last);
  if (!blocks.length) return [];
  const start = blocks[0]!.offset;
  const end = blocks[blocks.length - 1]!.offset + blocks[blocks.length - 1]!.length;
  const bytes = await getManifestObject(blobs, part.key, { offset: start, length: end - start });
  const out: VersionDoc[] = [];
  for (const b of blocks) {
    if (b.offset - start + b.length > bytes.byteLength)
      throw new ManifestError(`Manifest '${part.key}' is shorter than its footer says`, { manifest: part.key });
    for (const r of decodeBlock(part.key, b, bytes.subarray(b.offset - start, b.offset - start + b.length), itemId)) if (r.itemId === itemId) out.push(r);
  }
  return out;
}

/** Every manifest row of one record (any part, pruned or not), by ov, deduplicated. */
async function manifestRowsOf(blobs: BlobStore, idx: ManifestIndex, itemId: string): Promise<Map<number, VersionDoc>> {
  const parts = idx.parts.filter((p) => p.first <= itemId && itemId <= p.last);
  const found = await mapLimit(parts, 4, (p) => partRowsFor(blobs, p, itemId));
  const byOv = new Map<number, VersionDoc>();
  for (const rows of found) for (const r of rows) byOv.set(r.ov, r);
  return byOv;
}

/**
 * Recently read records' pruned rows, per blob store (rows are immutable and a part never
 * changes: the key is the index generation and the record). Bounded by rows held.
 */
const ROWS_CACHED = 200_000;
const rowsCache = new WeakMap<BlobStore, { rows: number; map: Map<string, VersionDoc[]> }>();

function cacheOf(blobs: BlobStore) {
  let c = rowsCache.get(blobs);
  if (!c) rowsCache.set(blobs, (c = { rows: 0, map: new Map() }));
  return c;
}

/**
 * The pruned rows of a record: exactly ov 0..belowOv-1, from the manifests, oldest first.
 * Missing rows after a fresh read of the index: ManifestError naming the index and parts read.
 */
export async function prunedRows(blobs: BlobStore, ns: Namespace, itemId: string, belowOv: number): Promise<VersionDoc[]> {
  const idx = await cachedIndex(blobs, ns, false);
  const c = cacheOf(blobs);
  const key = `${nsId(ns)}\u0000${idx.gen}\u0000${itemId}`;
  const hit = c.map.get(key);
  if (hit && hit.length >= belowOv) {
    c.map.delete(key);
    c.map.set(key, hit);
    return hit.slice(0, belowOv);
  }
  const rows = await readPrunedRows(blobs, ns, itemId, belowOv);
  if (rows.length <= ROWS_CACHED / 4) {
    const gen = (await cachedIndex(blobs, ns, false)).gen;
    const k = `${nsId(ns)}\u0000${gen}\u0000${itemId}`;
    const old = c.map.get(k);
    if (old) c.rows -= old.length;
    c.map.set(k, rows);
    c.rows += rows.length;
    for (const [ek, ev] of c.map) {
      if (c.rows <= ROWS_CACHED) break;
      c.map.delete(ek);
      c.rows -= ev.length;
    }
  }
  return rows;
}

async function readPrunedRows(blobs: BlobStore, ns: Namespace, itemId: string, belowOv: number): Promise<VersionDoc[]> {
  let rows: Map<number, VersionDoc> | undefined;
  let idx: ManifestIndex | undefined;
  for (const refresh of [false, true]) {
    idx = await cachedIndex(blobs, ns, refresh);
    rows = await manifestRowsOf(blobs, idx, itemId);
    let complete = true;
    for (let ov = 0; ov < belowOv && complete; ov++) complete = rows.has(ov);
    if (complete) break;
    rows = undefined;
  }
  if (!rows) {
    const parts = idx!.parts.filter((p) => p.first <= itemId && itemId <= p.last).map((p) => p.key);
    throw new ManifestError(
      `Versions 0..${belowOv - 1} of record '${itemId}' are neither in the version index nor in the manifests of ${manifestRoot(ns)} (index generation ${idx!.gen}${parts.length ? `, parts read: ${parts.join(', ')}` : ', no part holds the record'})`,
      { id: itemId, manifest: parts[0] ?? `${manifestRoot(ns)}index/`, parts, gen: idx!.gen },
    );
  }
  const out: VersionDoc[] = [];
  for (let ov = 0; ov < belowOv; ov++) {
    const v = rows.get(ov)!;
    fromManifestSet.add(v);
    out.push(v);
  }
  return out;
}

/** The lowest ov the index still holds for a record (0: nothing pruned), or null when it holds none. */
async function lowestOv(cx: EngineContext, itemId: string): Promise<number | null> {
  // the common case first, as a point lookup (an `_id` seek even where range queries scan)
  if (await cx.meta.getVersion(cx.ns, itemId, { ov: 0 })) return 0;
  const [first] = await cx.meta.listVersions(cx.ns, itemId, { limit: 1, dir: 1 });
  return first ? first.ov : null;
}

/** `meta.getVersion`, falling back to the manifests for rows pruned from the index. */
export async function versionAt(cx: EngineContext, itemId: string, sel: VersionSelector): Promise<VersionDoc | null> {
  const v = await cx.meta.getVersion(cx.ns, itemId, sel);
  if (v) return v;
  const low = await lowestOv(cx, itemId);
  if (!low) return null; // nothing pruned (or no record)
  if ('ov' in sel && sel.ov >= low) return null;
  const rows = await prunedRows(cx.blobs, cx.ns, itemId, low);
  if ('ov' in sel) return rows[sel.ov] ?? null;
  const field: 'at' | 'cv' = 'at' in sel ? 'at' : 'cv';
  const bound = 'at' in sel ? sel.at : (sel as { cv: number }).cv;
  for (let i = rows.length - 1; i >= 0; i--) if (rows[i]![field] <= bound) return rows[i]!;
  return null;
}

/** `meta.listVersions` over the index and the manifests (same options, same order). */
export async function listVersionsAll(cx: EngineContext, itemId: string, opts: ListVersionsOptions): Promise<VersionDoc[]> {
  const lo = opts.afterOv ?? -1;
  const floor = await lowestOv(cx, itemId);
  if (!floor || lo + 1 >= floor) return cx.meta.listVersions(cx.ns, itemId, opts);
  const hi = opts.beforeOv ?? Number.POSITIVE_INFINITY;
  const pruned = (await prunedRows(cx.blobs, cx.ns, itemId, floor)).filter((r) => r.ov > lo && r.ov < hi);
  const limit = opts.limit ?? 1000;
  const dir = opts.dir ?? 1;
  if (dir === 1) {
    if (pruned.length >= limit) return pruned.slice(0, limit);
    return [...pruned, ...(hi > floor ? await cx.meta.listVersions(cx.ns, itemId, { ...opts, limit: limit - pruned.length }) : [])];
  }
  const indexed = hi > floor ? await cx.meta.listVersions(cx.ns, itemId, opts) : [];
  return [...indexed, ...pruned.reverse()].slice(0, limit);
}

/**
 * For garbage collection: the versions among (itemId, ov) refs that only the manifests still
 * hold (ov below the record's lowest indexed ov). A payload they name is not an orphan.
 */
export async function manifestVersions(cx: EngineContext, refs: ReadonlyArray<{ itemId: string; ov: number }>): Promise<VersionDoc[]> {
  if (refs.length === 0) return [];
  // No manifest at all (read fresh, after the caller's index lookups): nothing was ever pruned, so
  // there is nothing to find and no per-record lookup to make (GC asks for every orphan). Prune only
  // removes rows a manifest holds, so a prune that ran since then shows in this read. If the index
  // cannot be read, ask per record as below.
  const idx = await cachedIndex(cx.blobs, cx.ns, true).catch(() => null);
  if (idx && idx.parts.length === 0) return [];
  const byItem = new Map<string, number[]>();
  for (const r of refs) byItem.set(r.itemId, [...(byItem.get(r.itemId) ?? []), r.ov]);
  const out: VersionDoc[] = [];
  await mapLimit([...byItem], 4, async ([itemId, ovs]) => {
    const low = await lowestOv(cx, itemId);
    if (!low || !ovs.some((ov) => ov < low)) return;
    const rows = await prunedRows(cx.blobs, cx.ns, itemId, low);
    for (const ov of ovs) if (rows[ov]) out.push(rows[ov]!);
  });
  return out;
}
