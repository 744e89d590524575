/**
 * Rollup and prune of one namespace (admin.rollupNow / admin.pruneNow call these per namespace;
 * a maintenance pass may too: they are plain async functions of the stores and a clock).
 *
 * Retention: a version is due to leave the index when it is more than `maxVersions` behind its
 * record's newest, or older than `maxAge`; the newest version of a record (its head) never is.
 * As ov and commit time both grow along a chain, what is due is always a prefix ov 0..k-1.
 *
 * - rollupNamespace streams the due rows (heads in itemId order, each record's rows by ov) into
 *   manifest parts per period, skipping rows an unpruned part holds already (a merge with those
 *   parts, read a block at a time), then adds the new parts to the index. Memory: one part per
 *   period in flight. Rerun at once, it writes nothing; killed midway, the parts it wrote are
 *   content-addressed, so the rerun writes the same keys (or finds them) and lists them.
 * - pruneNamespace reads every unpruned part back (each block checked by sha256 against the
 *   footer, the footer against the index), and per record removes from the index, in ascending
 *   ov, the rows that are still due, that match the manifest's copy field for field, and that
 *   start at the record's lowest indexed ov (so a chain never gets a hole). A part none of whose
 *   rows is left in the index is marked pruned. Payloads stay.
 * - rewriteManifestsWithout rewrites every part holding one record without its rows (erasure).
 */
import { ManifestError, NotFoundError, ValidationError } from '../errors.js';
import type { ResolvedRetention } from '../config.js';
import type { BlobStore, HeadDoc, MetadataStore, Namespace, VersionDoc } from '../ports.js';
import { MAX_DELETE_VERSIONS } from '../port-rules.js';
import { sha256 } from './payload.js';
import { forgetManifestIndex, forgetParts, partRowsFor } from './manifest-read.js';
import {
  PartCursor,
  PartWriter,
  generationKey,
  generationPrefixesBelow,
  latestIndexKey,
  loadIndex,
  manifestRoot,
  olderGenerations,
  partRows,
  periodOf,
  updateIndex,
  type ManifestIndex,
  type ManifestPeriod,
  type PartEntry,
} from './manifest-format.js';

export interface LifecycleTarget {
  ns: Namespace;
  meta: MetadataStore;
  blobs: BlobStore;
  retention: ResolvedRetention;
  /** `rollup.manifestPeriod` (default 'monthly'). */
  period?: ManifestPeriod;
  /** Epoch ms now (tests step it). */
  now: number;
  /** Checked between records: throw to stop (an instance shut down). */
  checkOpen?: () => void;
  /**
   * rollupNamespace deletes the parts no index generation lists that are older than this (ms,
   * by the store's last-modified time; default UNLISTED_PART_AGE_MS): a rollup killed before
   * listing what it wrote, whose rerun wrote other parts. Younger ones may be a running rollup's.
   */
  unlistedPartAgeMs?: number;
}

/** Age after which a part no index generation lists is deleted by a rollup (a day: no rollup runs that long). */
export const UNLISTED_PART_AGE_MS = 24 * 3_600_000;

export interface RollupResult {
  /** Rows written into new manifest parts. */
  rows: number;
  /** Parts written (new objects). */
  parts: number;
  /** Bytes of the parts written. */
  bytes: number;
  /** Records examined. */
  records: number;
  /** Parts deleted that no index generation listed, older than `unlistedPartAgeMs` (left by a rollup killed before listing them). */
  unlistedPartsDeleted: number;
}

export interface PruneResult {
  /** Rows removed from the version index. */
  rows: number;
  /** Parts read back and verified. */
  partsVerified: number;
  /** Parts none of whose rows is left in the index (marked pruned). */
  partsPruned: number;
}

/** Options of `admin.rollupNow` / `admin.pruneNow`. */
export interface LifecycleRunOptions {
  /** The time retention is judged at (epoch ms or Date). Default: now. */
  now?: number | Date;
}

/** What `admin.rollupNow` / `admin.pruneNow` did in one namespace. */
export interface NamespaceReport<R> {
  dbName: string;
  collection: string;
  tenant?: string;
  /** Why nothing ran here (no retention for this collection). */
  skipped?: string;
  result?: R;
}

export interface LifecycleReport<R> {
  namespaces: Array<NamespaceReport<R>>;
}

const HEADS_PER_PAGE = 500;
const ROWS_PER_PAGE = 1000;

/** Whether version `v` of a record whose newest is `head` is due to leave the index. */
export function isDue(v: { ov: number; at: number }, head: { ov: number }, r: ResolvedRetention, now: number): boolean {
  if (v.ov >= head.ov) return false;
  if (r.maxVersions !== undefined && v.ov <= head.ov - r.maxVersions) return true;
  return r.maxAgeMs !== undefined && v.at < now - r.maxAgeMs;
}

function checkTarget(t: LifecycleTarget): void {
  const r = t.retention;
  if (!r || (r.maxAgeMs === undefined && r.maxVersions === undefined))
    throw new ValidationError('No version retention applies to this collection: nothing to roll up or prune');
  if (!Number.isFinite(t.now)) throw new ValidationError('now must be epoch ms');
}

async function* allHeads(meta: MetadataStore, ns: Namespace): AsyncGenerator<HeadDoc> {
  if (meta.scanHeads) {
    for await (const page of meta.scanHeads(ns, { includeDeleted: true, batchSize: HEADS_PER_PAGE })) yield* page;
    return;
  }
  let afterId: string | undefined;
  for (;;) {
    const page = await meta.queryHeads(ns, { limit: HEADS_PER_PAGE, includeDeleted: true, ...(afterId ? { afterId } : {}) });
    yield* page;
    if (page.length < HEADS_PER_PAGE) return;
    afterId = page[page.length - 1]!.itemId;
  }
}

/** The due rows of one record still in the index, oldest first, a page at a time. */
async function* dueRows(t: LifecycleTarget, head: HeadDoc): AsyncGenerator<VersionDoc> {
  const r = t.retention;
  // nothing can be due: too few versions and too young
  if ((r.maxVersions === undefined || head.ov < r.maxVersions) && (r.maxAgeMs === undefined || head.createdAt >= t.now - r.maxAgeMs)) return;
  let afterOv: number | undefined;
  for (;;) {
    const page = await t.meta.listVersions(t.ns, head.itemId, {
      ...(afterOv !== undefined ? { afterOv } : {}),
      beforeOv: head.ov,
      limit: ROWS_PER_PAGE,
      dir: 1,
    });
    for (const v of page) {
      if (!isDue(v, head, r, t.now)) return;
      yield v;
    }
    if (page.length < ROWS_PER_PAGE) return;
    afterOv = page[page.length - 1]!.ov;
  }
}

/** Writes the rows retention will remove into manifests (see the file comment). */
export async function rollupNamespace(t: LifecycleTarget): Promise<RollupResult> {
  checkTarget(t);
  await t.meta.ensureNamespace(t.ns);
  const period = t.period ?? 'monthly';
  const idx = await loadIndex(t.blobs, t.ns);
  const cursors = idx.parts.filter((p) => !p.pruned).map((p) => new PartCursor(t.blobs, p));
  const out: RollupResult = { rows: 0, parts: 0, bytes: 0, records: 0, unlistedPartsDeleted: 0 };
  const newParts: PartEntry[] = [];
  const written = new Set<string>();
  const writers = new Map<string, PartWriter>();
  const writerFor = (p: string) => {
    let w = writers.get(p);
    if (!w)
      writers.set(
        p,
        (w = new PartWriter(t.blobs, t.ns, p, (part, written) => {
          newParts.push(part);
          if (written) {
            out.parts++;
            out.bytes += part.bytes;
          }
        })),
      );
    return w;
  };
  for await (const head of allHeads(t.meta, t.ns)) {
    t.checkOpen?.();
    out.records++;
    let held: Set<number> | undefined;
    for await (const v of dueRows(t, head)) {
      held ??= new Set((await Promise.all(cursors.map((c) => c.rowsFor(head.itemId)))).flat().map((r) => r.ov));
      if (held.has(v.ov)) continue;
      await writerFor(periodOf(v.at, period)).add(v);
      written.add(head.itemId);
      out.rows++;
    }
  }
  for (const w of writers.values()) await w.flush();
  if (newParts.length) {
    await updateIndex(t.blobs, t.ns, (cur) => {
      const have = new Set(cur.parts.map((p) => p.key));
      const add = newParts.filter((p) => !have.has(p.key));
      return add.length ? [...cur.parts, ...add] : null;
    });
    forgetManifestIndex(t.blobs, t.ns);
    await afterErasures(t, newParts, [...written]);
  }
  out.unlistedPartsDeleted = await deleteUnlistedParts(t.blobs, t.ns, Date.now() - (t.unlistedPartAgeMs ?? UNLISTED_PART_AGE_MS));
  return out;
}

/** The keys of the parts some stored index generation lists (the newest and the older ones kept). */
async function listedParts(blobs: BlobStore, ns: Namespace): Promise<{ newest: ManifestIndex; older: ManifestIndex[]; keys: Set<string> }> {
  const newest = await loadIndex(blobs, ns);
  const older = await olderGenerations(blobs, ns, newest.gen);
  const keys = new Set<string>();
  for (const g of [newest, ...older]) for (const p of g.parts) keys.add(p.key);
  return { newest, older, keys };
}

/** Deletes the parts no index generation lists last modified before `before` (epoch ms), with their stored versions. */
async function deleteUnlistedParts(blobs: BlobStore, ns: Namespace, before: number): Promise<number> {
  const { keys } = await listedParts(blobs, ns);
  const stale: string[] = [];
  for await (const e of blobs.list('backups', `${manifestRoot(ns)}parts/`))
    if (!keys.has(e.key) && e.key.endsWith('.cmf') && e.lastModified.getTime() < before) stale.push(e.key);
  if (!stale.length) return 0;
  // listed since (a rollup that finished meanwhile): kept
  const { keys: now } = await listedParts(blobs, ns);
  let n = 0;
  for (const key of stale.filter((k) => !now.has(k))) {
    await purgeObject(blobs, key);
    n++;
  }
  forgetParts(stale);
  return n;
}

/** Deletes one object of the backups bucket, with its stored versions where the store keeps them; how many went. */
async function purgeObject(blobs: BlobStore, key: string): Promise<number> {
  if (blobs.purgePrefix) return blobs.purgePrefix('backups', key);
  await blobs.delete('backups', key);
  return 1;
}

/**
 * A rollup and an erasure that ran at the same time. The erasure may have removed, as an
 * orphan holding its record's rows, a part this rollup wrote before it listed it: the index then
 * names a missing part, which is dropped from it (its other rows are still in the version index:
 * only rows a listed part holds are pruned; the next rollup writes them again). And this rollup
 * may have read an erased record's rows before the erasure deleted them: an erasure writes its
 * tombstone before its manifest step, so either the tombstone is seen here, after the index lists
 * the new parts, and the record's rows are removed from the manifests here, or it came later, and
 * the erasure's own manifest step finds the parts in the index.
 */
async function afterErasures(t: LifecycleTarget, parts: PartEntry[], ids: string[]): Promise<void> {
  const missing = new Set<string>();
  for (const p of parts) if (!(await t.blobs.head('backups', p.key))) missing.add(p.key);
  if (missing.size) {
    await updateIndex(t.blobs, t.ns, (cur) => (cur.parts.some((p) => missing.has(p.key)) ? cur.parts.filter((p) => !missing.has(p.key)) : null));
    forgetManifestIndex(t.blobs, t.ns);
  }
  const erasedIds = t.meta.erasedIds?.bind(t.meta);
  if (!erasedIds) return;
  for (let i = 0; i < ids.length; i += 1000) for (const id of await erasedIds(t.ns, ids.slice(i, i + 1000))) await rewriteManifestsWithout(t.blobs, t.ns, id);
}

const sameRow = (a: VersionDoc, b: VersionDoc) =>
  a.itemId === b.itemId &&
  a.ov === b.ov &&
  a.cv === b.cv &&
  a.at === b.at &&
  a.jsonKey === b.jsonKey &&
  a.sha256 === b.sha256 &&
  a.op === b.op &&
  a.deleted === b.deleted;

/** Removes from the index the rows verified manifests hold (see the file comment). */
export async function pruneNamespace(t: LifecycleTarget): Promise<PruneResult> {
  checkTarget(t);
  const del = t.meta.deleteVersions?.bind(t.meta);
  if (!del) throw new ValidationError('This metadata store cannot remove version rows (no deleteVersions): pruning is not available on it');
  await t.meta.ensureNamespace(t.ns);
  const idx = await loadIndex(t.blobs, t.ns);
  const open = idx.parts.filter((p) => !p.pruned);
  const out: PruneResult = { rows: 0, partsVerified: 0, partsPruned: 0 };
  if (!open.length) return out;
  const cursors = open.map((p) => new PartCursor(t.blobs, p));
  // rows of a part still in the index after this run: the part stays unpruned
  const left = new Map<string, number>(open.map((p) => [p.key, 0]));
  let batch: Array<{ itemId: string; ov: number }> = [];
  const flush = async () => {
    if (batch.length) out.rows += await del(t.ns, batch);
    batch = [];
  };
  for (;;) {
    t.checkOpen?.();
    const ids = (await Promise.all(cursors.map((c) => c.nextId()))).filter((x): x is string => x !== undefined);
    if (!ids.length) break;
    const itemId = ids.sort()[0]!; // the smallest: cursors advance together, record by record
    const perPart = await Promise.all(cursors.map(async (c) => ({ key: c.part.key, rows: await c.rowsFor(itemId) })));
    const owner = new Map<number, string>();
    const rows = new Map<number, VersionDoc>();
    for (const { key, rows: rs } of perPart) {
      for (const r of rs) {
        if (rows.has(r.ov)) continue;
        rows.set(r.ov, r);
        owner.set(r.ov, key);
      }
    }
    const sorted = [...rows.values()].sort((a, b) => a.ov - b.ov);
    const keep = (ov: number) => left.set(owner.get(ov)!, left.get(owner.get(ov)!)! + 1);
    const head = await t.meta.getHead(t.ns, itemId);
    const inIndex = new Map<number, VersionDoc>();
    if (sorted.length) {
      const top = sorted[sorted.length - 1]!.ov;
      for (let after = sorted[0]!.ov - 1; ; ) {
        const page = await t.meta.listVersions(t.ns, itemId, { ...(after >= 0 ? { afterOv: after } : {}), beforeOv: top + 1, limit: ROWS_PER_PAGE, dir: 1 });
        for (const v of page) inIndex.set(v.ov, v);
        if (page.length < ROWS_PER_PAGE) break;
        after = page[page.length - 1]!.ov;
      }
    }
    const [lowest] = head ? await t.meta.listVersions(t.ns, itemId, { limit: 1, dir: 1 }) : [];
    // the contiguous run from the record's lowest indexed ov upwards that is due and matches
    let expect = lowest?.ov;
    let stopped = !head || expect === undefined;
    for (const m of sorted) {
      const cur = inIndex.get(m.ov);
      if (!cur) continue; // gone already (an earlier prune)
      if (stopped || m.ov !== expect || !sameRow(cur, m) || !isDue(cur, head!, t.retention, t.now)) {
        stopped = true;
        keep(m.ov);
        continue;
      }
      batch.push({ itemId, ov: m.ov });
      expect = m.ov + 1;
      if (batch.length >= MAX_DELETE_VERSIONS) await flush();
    }
  }
  await flush();
  out.partsVerified = open.length;
  const done = new Set(open.filter((p) => left.get(p.key) === 0).map((p) => p.key));
  out.partsPruned = done.size;
  if (done.size) {
    await updateIndex(t.blobs, t.ns, (cur) =>
      cur.parts.some((p) => done.has(p.key) && !p.pruned) ? cur.parts.map((p) => (done.has(p.key) ? { ...p, pruned: true } : p)) : null,
    );
    forgetManifestIndex(t.blobs, t.ns);
  }
  return out;
}

/**
 * Rewrites every manifest part of a namespace that holds rows of record `itemId` without them
 * (new content-addressed parts, a new index generation), then deletes the old parts. For
 * erasure: after it returns no manifest object of the namespace holds a row of that record, and
 * where the store keeps object versions (BlobStore.purgePrefix) no stored version does either:
 * the old parts go with every version, and so do the older index generations (they list the old
 * parts and may name the record as a part's first or last id). Idempotent; interrupted, a rerun
 * finishes it: the old parts stay listed until the new index generation names their
 * replacements, and a part an older generation lists that the newest does not is one a rewrite
 * replaced, deleted by the rerun.
 */
export async function rewriteManifestsWithout(
  blobs: BlobStore,
  ns: Namespace,
  itemId: string,
): Promise<{ partsRewritten: number; rowsRemoved: number; objectsDeleted: number }> {
  const idx = await loadIndex(blobs, ns);
  const out = { partsRewritten: 0, rowsRemoved: 0, objectsDeleted: 0 };
  const replaced = new Map<string, PartEntry[]>();
  for (const part of idx.parts) {
    if (!(await partRowsFor(blobs, part, itemId)).length) continue;
    const fresh: PartEntry[] = [];
    const w = new PartWriter(blobs, ns, part.period, (p) => fresh.push(part.pruned ? { ...p, pruned: true } : p));
    for await (const r of partRows(blobs, part)) {
      if (r.itemId === itemId) out.rowsRemoved++;
      else await w.add(r);
    }
    await w.flush();
    replaced.set(part.key, fresh);
    out.partsRewritten++;
  }
  let newest = idx;
  if (replaced.size) {
    newest = (await updateIndex(blobs, ns, (cur) => cur.parts.flatMap((p) => replaced.get(p.key) ?? [p]))) ?? idx;
    forgetManifestIndex(blobs, ns);
  }
  // the parts to delete: those just replaced, and those an older generation still lists that the
  // newest does not (replaced by an earlier run that stopped before deleting them)
  const listed = new Set(newest.parts.map((p) => p.key));
  const stale = new Set(replaced.keys());
  const older = await olderGenerations(blobs, ns, newest.gen);
  const inOlder = new Set<string>();
  for (const g of older)
    for (const p of g.parts) {
      inOlder.add(p.key);
      if (!listed.has(p.key)) stale.add(p.key);
    }
  // orphans: parts no generation lists (a rollup killed after writing them, before listing them)
  for await (const e of blobs.list('backups', `${manifestRoot(ns)}parts/`))
    if (!listed.has(e.key) && !inOlder.has(e.key) && (await orphanHolds(blobs, e.key, itemId))) stale.add(e.key);
  if (!stale.size) return out;
  forgetParts([...stale]);
  for (const key of stale) if (!listed.has(key)) out.objectsDeleted += await purgeObject(blobs, key);
  // every older generation, with its stored versions: one purge per decimal prefix below the newest
  if (blobs.purgePrefix)
    for (const p of generationPrefixesBelow(newest.gen)) out.objectsDeleted += await blobs.purgePrefix('backups', `${manifestRoot(ns)}index/${p}`);
  else for (const g of older) await blobs.delete('backups', generationKey(ns, g.gen));
  // the copy of the newest generation: its stored versions are copies of older ones
  if (blobs.purgePrefix) {
    out.objectsDeleted += await blobs.purgePrefix('backups', latestIndexKey(ns));
    await blobs.put('backups', latestIndexKey(ns), Buffer.from(JSON.stringify(newest), 'utf8'), { contentType: 'application/json' });
  }
  return out;
}

const FOOTER_HEAD = Buffer.from('{"format":"chronos-manifest/');

/**
 * Whether a part no index lists (an orphan) may hold rows of `itemId`: read whole, its footer
 * found from its end (the last header line of a footer, either format) and the part checked
 * against the sha256 its key carries. A part that cannot be read so (not a part of the format,
 * or bytes that fail their hash) counts as holding them: nothing reads it, and it may.
 */
async function orphanHolds(blobs: BlobStore, key: string, itemId: string): Promise<boolean> {
  if (!key.endsWith('.cmf')) return false;
  let bytes: Buffer;
  try {
    bytes = Buffer.from(await blobs.get('backups', key));
  } catch (e) {
    if (e instanceof NotFoundError) return false; // gone meanwhile
    throw e;
  }
  const hash = key.slice(key.lastIndexOf('/') + 1, -'.cmf'.length);
  const at = bytes.lastIndexOf(FOOTER_HEAD);
  if (at < 0 || sha256(bytes) !== hash) return true;
  const footer = bytes.subarray(at);
  const entry: PartEntry = {
    key,
    sha256: hash,
    period: '',
    bytes: bytes.byteLength,
    rows: 0,
    first: itemId,
    last: itemId,
    minAt: 0,
    maxAt: 0,
    footer: { offset: at, length: footer.byteLength, sha256: sha256(footer) },
  };
  const inMemory: BlobStore = Object.create(blobs) as BlobStore;
  inMemory.getRange = async (_b, _k, offset, length) => bytes.subarray(offset, offset + length);
  try {
    return (await partRowsFor(inMemory, entry, itemId)).length > 0;
  } catch (e) {
    if (e instanceof ManifestError) return true;
    throw e;
  }
}
