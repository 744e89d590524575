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
import {
  MANIFEST_FORMAT_V1,
  blockLines,
  corrupt,
  decodeBlock,
  decodePage,
  linesOf,
  parseRow,
  getManifestObject,
  lastIndexLe,
  loadIndex,
  manifestRoot,
  readFooter,
  readSegment,
  rowKeyOf,
  sliceBlock,
  type AnyPartFooter,
  type EntryLines,
  type BlockEntry,
  type ManifestIndex,
  type PartEntry,
  type RowKey,
  type SegmentEntry,
} from './manifest-format.js';

/** Versions read from a manifest (render's `includeMeta` says so). */
const fromManifestSet = new WeakSet<object>();
export const isFromManifest = (v: object): boolean => fromManifestSet.has(v);

let indexCache = new WeakMap<BlobStore, Map<string, ManifestIndex>>();
const nsId = (ns: Namespace) => manifestRoot(ns);

/** A bounded map that forgets its least recently used entries (parts never change: their pieces are cached by key). */
class Lru<V> {
  readonly map = new Map<string, V>();
  constructor(private readonly max: number) {}
  get(k: string): V | undefined {
    const v = this.map.get(k);
    if (v !== undefined) {
      this.map.delete(k);
      this.map.set(k, v);
    }
    return v;
  }
  set(k: string, v: V): void {
    this.map.delete(k);
    this.map.set(k, v);
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value!);
  }
}
/** Parts' footers, pages and decoded blocks (one record's rows of a block), by part key and offset. */
const footerCache = new Lru<AnyPartFooter>(512);
const pageCache = new Lru<EntryLines<BlockEntry>>(4096);
const blockCache = new Lru<{ lines: string[] | null; parsed: Array<VersionDoc | undefined> }>(8192);

async function cachedIndex(blobs: BlobStore, ns: Namespace, refresh: boolean): Promise<ManifestIndex> {
  let m = indexCache.get(blobs);
  if (!m) indexCache.set(blobs, (m = new Map()));
  const hit = m.get(nsId(ns));
  if (hit && !refresh) return hit;
  const idx = await loadIndex(blobs, ns, { latest: !refresh });
  m.set(nsId(ns), idx);
  // parts the newer index no longer lists (an erasure replaced them): what this process cached of them goes
  if (hit && hit.gen !== idx.gen) {
    const now = new Set(idx.parts.map((p) => p.key));
    forgetParts(hit.parts.map((p) => p.key).filter((k) => !now.has(k)));
    dropRows(blobs, `${nsId(ns)}\u0000${hit.gen}\u0000`);
  }
  return idx;
}

/**
 * Forgets what this process cached of these parts (footer, pages, decoded blocks). Erasure
 * calls it for the parts it replaces; other processes when they next read a newer index (never
 * needed for correctness: a read reaches the manifests only for a record whose index rows say
 * it has pruned versions, and an erased record has none, and a tombstone read after it).
 */
export function forgetParts(keys: readonly string[]): void {
  if (!keys.length) return;
  const gone = new Set(keys);
  const partOf = (k: string) => {
    const at = k.lastIndexOf('@');
    return at < 0 ? k : k.slice(0, at);
  };
  for (const k of keys) footerCache.map.delete(k);
  for (const c of [pageCache, blockCache]) for (const k of [...c.map.keys()]) if (gone.has(partOf(k))) c.map.delete(k);
}

/** Forgets the cached manifest index of a namespace (rollup, prune and rewrites call it). */
export function forgetManifestIndex(blobs: BlobStore, ns: Namespace): void {
  indexCache.get(blobs)?.delete(nsId(ns));
  dropRows(blobs, `${nsId(ns)}\u0000`);
}

/** Forgets the cached rows whose key begins with `prefix`. */
function dropRows(blobs: BlobStore, prefix: string): void {
  const c = rowsCache.get(blobs);
  if (!c) return;
  for (const [k, v] of c.map) {
    if (!k.startsWith(prefix)) continue;
    c.map.delete(k);
    c.rows -= v.length;
  }
}

/**
 * Forgets what this process cached of manifests, so the next read is cold: indexes, footers,
 * pages, blocks and rows; with `keepIndexes`, the indexes and footers stay (the next read of a
 * record is its first in a process that has read others).
 */
export function clearManifestCaches(opts: { keepIndexes?: boolean } = {}): void {
  for (const m of [pageCache, blockCache]) m.map.clear();
  rowsCache = new WeakMap();
  lowCache = new WeakMap();
  if (opts.keepIndexes) return;
  footerCache.map.clear();
  indexCache = new WeakMap();
}

async function footerOf(blobs: BlobStore, part: PartEntry): Promise<AnyPartFooter> {
  const hit = footerCache.get(part.key);
  if (hit) return hit;
  const f = await readFooter(blobs, part);
  footerCache.set(part.key, f);
  return f;
}

/** The rows of one record held by one part: one ranged GET of the blocks (format 1) or segments (format 2) that hold it. */
export async function partRowsFor(blobs: BlobStore, part: PartEntry, itemId: string): Promise<VersionDoc[]> {
  if (itemId < part.first || itemId > part.last) return [];
  const f = await footerOf(blobs, part);
  const out: VersionDoc[] = [];
  if (f.format === MANIFEST_FORMAT_V1) {
    const blocks = f.blocks.filter((b) => b.first <= itemId && itemId <= b.last);
    if (!blocks.length) return [];
    const start = blocks[0]!.offset;
    const end = blocks[blocks.length - 1]!.offset + blocks[blocks.length - 1]!.length;
    const bytes = await getManifestObject(blobs, part.key, { offset: start, length: end - start });
    for (const b of blocks) for (const r of decodeBlock(part.key, b, sliceBlock(part.key, bytes, start, b), itemId)) if (r.itemId === itemId) out.push(r);
    return out;
  }
  // the segments that hold the record: from the first whose last row is not below it, while their first row is not above it
  const segs: SegmentEntry[] = [];
  for (let i = lastIndexLe(f.segments.length, (k) => f.segments.at(k).last[0] < itemId) + 1; i < f.segments.length && f.segments.at(i).first[0] <= itemId; i++)
    segs.push(f.segments.at(i));
  if (!segs.length) return [];
  const start = segs[0]!.offset;
  const last = segs[segs.length - 1]!;
  const bytes = await getManifestObject(blobs, part.key, { offset: start, length: last.offset + last.length - start });
  for (const seg of segs) {
    const blocks = decodePage(part.key, seg, sliceBlock(part.key, bytes, start, seg.page));
    pageCache.set(`${part.key}@${seg.offset}`, blocks);
    for (let i = lastIndexLe(blocks.length, (k) => blocks.at(k).last[0] < itemId) + 1; i < blocks.length && blocks.at(i).first[0] <= itemId; i++) {
      const b = blocks.at(i);
      for (const r of decodeBlock(part.key, b, sliceBlock(part.key, bytes, start, b), itemId)) if (r.itemId === itemId) out.push(r);
    }
  }
  return out;
}

/** Selector field of a RowKey: 1 ov, 2 at, 3 cv. */
type Field = 1 | 2 | 3;

/**
 * One part's answer for a point read of record `itemId` at `bound` (ov, at or cv by `f`): `hit`,
 * the record's last row in the part whose field is <= bound, and `next`, the key of the record's
 * first row after it in the part. `whole`: the part cannot answer a point read (format 1, or a
 * part whose rows are not ordered by time): the caller reads the record's rows whole.
 * Cost on a cold cache: the footer, then one ranged GET of the segment that holds the row (only
 * the block when the segment's page is cached), one block gunzipped.
 */
async function pointInPart(
  blobs: BlobStore,
  part: PartEntry,
  itemId: string,
  f: Field,
  bound: number,
): Promise<{ hit?: VersionDoc; next?: RowKey; whole?: true }> {
  const footer = await footerOf(blobs, part);
  if (footer.format === MANIFEST_FORMAT_V1 || footer.header.ordered !== true) return { whole: true };
  const le = (k: RowKey) => k[0] < itemId || (k[0] === itemId && k[f] <= bound);
  const segs = footer.segments;
  const si = lastIndexLe(segs.length, (i) => le(segs.at(i).first));
  if (si < 0) {
    const k = segs.length ? segs.at(0).first : undefined;
    return k && k[0] === itemId ? { next: k } : {};
  }
  const seg = segs.at(si);
  const pageKey = `${part.key}@${seg.offset}`;
  let blocks = pageCache.get(pageKey);
  let segBytes: Uint8Array | undefined;
  if (!blocks) {
    const r = await readSegment(blobs, part.key, seg);
    blocks = r.blocks;
    segBytes = r.bytes;
    pageCache.set(pageKey, blocks);
  }
  const page = blocks;
  const bi = lastIndexLe(page.length, (i) => le(page.at(i).first));
  if (bi < 0) throw corrupt(part.key, `page at byte ${seg.page.offset} does not begin where its footer entry says`);
  const b = page.at(bi);
  // the record's rows in the block, parsed only where a binary search looks (rows sorted by ov)
  const blockKey = `${part.key}@${b.offset}\u0000${itemId}`;
  let rows = blockCache.get(blockKey);
  if (!rows) {
    const bytes = segBytes ? sliceBlock(part.key, segBytes, seg.offset, b) : await getManifestObject(blobs, part.key, b);
    const lines = blockLines(part.key, b, bytes);
    const mine = linesOf(lines, itemId);
    rows = mine
      ? { lines: mine, parsed: new Array<VersionDoc | undefined>(mine.length) }
      : { lines: null, parsed: lines.map((l) => parseRow(part.key, b.offset, l)).filter((r) => r.itemId === itemId) };
    blockCache.set(blockKey, rows);
  }
  const { lines, parsed } = rows;
  const row = (i: number) => (parsed[i] ??= parseRow(part.key, b.offset, lines![i]!));
  const j = lastIndexLe(parsed.length, (i) => le(rowKeyOf(row(i))));
  const hit = j >= 0 ? row(j) : undefined;
  let next = j + 1 < parsed.length ? rowKeyOf(row(j + 1)) : undefined;
  if (!next) {
    const k = bi + 1 < page.length ? page.at(bi + 1).first : si + 1 < segs.length ? segs.at(si + 1).first : undefined;
    if (k && k[0] === itemId) next = k;
  }
  return { ...(hit ? { hit } : {}), ...(next ? { next } : {}) };
}

/**
 * A point read in the manifests: the record's newest pruned row whose ov / at / cv is <= bound
 * (for ov, the row with that ov), or null when none is. Undefined when the parts cannot settle
 * it alone (the caller reads the record's rows whole): the answer must be followed, in the
 * manifests, by the row just above it (or be the row just below the index's lowest, `low`), so a
 * lost part can never turn into a wrong answer.
 */
async function pointRead(blobs: BlobStore, idx: ManifestIndex, itemId: string, f: Field, bound: number, low: number): Promise<VersionDoc | null | undefined> {
  const holds = idx.parts.filter((p) => p.first <= itemId && itemId <= p.last);
  if (!holds.length) return undefined;
  // parts all of whose rows are above the bound hold no answer (they may hold the row after it)
  const mayHit = (p: PartEntry) => (f === 2 ? p.minAt <= bound : f === 3 ? p.minCv === undefined || p.minCv <= bound : true);
  let hit: VersionDoc | undefined;
  const nexts: RowKey[] = [];
  let whole = false;
  const take = (rs: Array<{ hit?: VersionDoc; next?: RowKey; whole?: true }>) => {
    for (const r of rs) {
      if (r.whole) whole = true;
      if (r.hit && (!hit || r.hit.ov > hit.ov)) hit = r.hit;
      if (r.next) nexts.push(r.next);
    }
  };
  take(await mapLimit(holds.filter(mayHit), 4, (p) => pointInPart(blobs, p, itemId, f, bound)));
  if (whole) return undefined;
  if (f === 1) return hit?.ov === bound ? hit : undefined;
  const settled = () => {
    const s = hit ? hit.ov + 1 : 0;
    return s === low || nexts.some((k) => k[1] === s);
  };
  if (!settled())
    take(
      await mapLimit(
        holds.filter((p) => !mayHit(p)),
        4,
        (p) => pointInPart(blobs, p, itemId, f, bound),
      ),
    );
  if (whole || !settled()) return undefined;
  return hit ?? null;
}

/**
 * The pruned row of a record a selector names (`belowOv`: the lowest ov the index holds), from
 * the manifests: one block per part that holds the record (see pointRead), else the record's
 * rows read whole. A missing or corrupt part: a ManifestError naming it.
 */
export async function prunedRowAt(blobs: BlobStore, ns: Namespace, itemId: string, sel: VersionSelector, belowOv: number): Promise<VersionDoc | null> {
  if ('ov' in sel && sel.ov >= belowOv) return null;
  const f: Field = 'ov' in sel ? 1 : 'at' in sel ? 2 : 3;
  const bound = 'ov' in sel ? sel.ov : 'at' in sel ? sel.at : (sel as { cv: number }).cv;
  for (const refresh of [false, true]) {
    const idx = await cachedIndex(blobs, ns, refresh);
    let got: VersionDoc | null | undefined;
    try {
      got = await pointRead(blobs, idx, itemId, f, bound, belowOv);
    } catch (e) {
      // a part replaced (erasure) since this process read the index: read the newest index
      if (!refresh && e instanceof ManifestError && e.details?.missing === true) continue;
      throw e;
    }
    if (got === undefined) break;
    if (got) fromManifestSet.add(got);
    return got;
  }
  const rows = await prunedRows(blobs, ns, itemId, belowOv);
  if (f === 1) return rows[bound] ?? null;
  const field = f === 2 ? 'at' : 'cv';
  for (let i = rows.length - 1; i >= 0; i--) if (rows[i]![field] <= bound) return rows[i]!;
  return null;
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
let rowsCache = new WeakMap<BlobStore, { rows: number; map: Map<string, VersionDoc[]> }>();

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
    try {
      rows = await manifestRowsOf(blobs, idx, itemId);
    } catch (e) {
      // a part replaced (erasure) since this process read the index: read the newest index
      if (!refresh && e instanceof ManifestError && e.details?.missing === true) continue;
      throw e;
    }
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

/**
 * Records' lowest indexed ov once above 0 (something pruned), per metadata store, by namespace
 * and record: a hint, checked at each use. A record's indexed rows are a run without holes
 * (prune removes a prefix of the chain, writes go on top), so L is the lowest exactly when row
 * L is indexed and row L - 1 is not: two point lookups (at once) instead of a range query.
 */
let lowCache = new WeakMap<object, Lru<number>>();

/** The lowest ov the index still holds for a record (0: nothing pruned), or null when it holds none. */
async function lowestOv(cx: EngineContext, itemId: string): Promise<number | null> {
  let lows = lowCache.get(cx.meta);
  if (!lows) lowCache.set(cx.meta, (lows = new Lru<number>(100_000)));
  const key = `${nsId(cx.ns)}\u0000${itemId}`;
  const known = lows.get(key);
  if (known !== undefined) {
    const [at, below] = await Promise.all([cx.meta.getVersion(cx.ns, itemId, { ov: known }), cx.meta.getVersion(cx.ns, itemId, { ov: known - 1 })]);
    if (at && !below) return known;
  }
  // the common case first, as a point lookup (an `_id` seek even where range queries scan)
  if (await cx.meta.getVersion(cx.ns, itemId, { ov: 0 })) return 0;
  const [first] = await cx.meta.listVersions(cx.ns, itemId, { limit: 1, dir: 1 });
  if (first && first.ov > 0) lows.set(key, first.ov);
  else lows.map.delete(key);
  return first ? first.ov : null;
}

/** `meta.getVersion`, falling back to the manifests for rows pruned from the index. */
export async function versionAt(cx: EngineContext, itemId: string, sel: VersionSelector): Promise<VersionDoc | null> {
  const v = await cx.meta.getVersion(cx.ns, itemId, sel);
  if (v) return v;
  const low = await lowestOv(cx, itemId);
  if (!low) return null; // nothing pruned (or no record)
  return prunedRowAt(cx.blobs, cx.ns, itemId, sel, low);
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
