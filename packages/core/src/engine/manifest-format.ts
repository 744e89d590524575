/**
 * The manifest format: version-index rows moved to the backups bucket (rollupNow) before the
 * index drops them (pruneNow). Documented for readers in docs/MANIFESTS.md; in short:
 *
 *   manifests/<dbName>/[t.<tenant>/]<collection>/parts/<period>/<sha256>.cmf   one part
 *   manifests/<dbName>/[t.<tenant>/]<collection>/index/<generation>.json      the index
 *
 * A part is a run of gzip blocks followed by a JSON footer. Each block holds NDJSON rows (one
 * VersionDoc per line) sorted by (itemId, ov); the footer lists every block's first and last
 * itemId, byte offset, length, row count and sha256. The part's key carries the sha256 of all
 * its bytes (content-addressed: the same rows give the same key). The index, rewritten as a new
 * generation (never overwritten: put if-none-match), lists every part with its sha256, period,
 * itemId range and footer position and sha256, so a reader holding the index fetches one
 * record's rows with one ranged GET of the blocks that hold them, each byte checked by a hash
 * that chains up to the index's own checksum.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { ManifestError, NotFoundError, OptimisticLockError } from '../errors.js';
import { keyPrefix } from '../names.js';
import type { BlobStore, Namespace, VersionDoc } from '../ports.js';
import { sha256 } from './payload.js';

export const MANIFEST_FORMAT = 'chronos-manifest/1';
export const INDEX_FORMAT = 'chronos-manifest-index/1';
/** Uncompressed bytes per block (a block is the unit of a ranged read). */
export const BLOCK_BYTES = 64 * 1024;
/** Compressed bytes after which a part is closed and the next one begun (memory per open part). */
export const PART_BYTES = 4 * 1024 * 1024;
/** Index generations kept: the newest and the one before (a reader may still hold it). */
const GENERATIONS_KEPT = 2;

export type ManifestPeriod = 'daily' | 'weekly' | 'monthly';

export interface BlockEntry {
  /** First and last itemId of the block's rows. */
  first: string;
  last: string;
  /** Byte offset and length of the gzip block inside the part. */
  offset: number;
  length: number;
  rows: number;
  /** sha256 (hex) of the block's compressed bytes. */
  sha256: string;
}

export interface PartFooter {
  format: typeof MANIFEST_FORMAT;
  ns: Namespace;
  period: string;
  rows: number;
  blocks: BlockEntry[];
}

export interface PartEntry {
  key: string;
  /** sha256 (hex) of the whole part; also in its key. */
  sha256: string;
  period: string;
  bytes: number;
  rows: number;
  /** itemId range of its rows. */
  first: string;
  last: string;
  /** Smallest and largest commit time of its rows (epoch ms). */
  minAt: number;
  maxAt: number;
  footer: { offset: number; length: number; sha256: string };
  /** Set by pruneNow once none of its rows is left in the version index. */
  pruned?: boolean;
}

export interface ManifestIndex {
  format: typeof INDEX_FORMAT;
  ns: Namespace;
  gen: number;
  parts: PartEntry[];
  /** sha256 of JSON.stringify(parts). */
  checksum: string;
}

export const manifestRoot = (ns: Namespace): string => `manifests/${keyPrefix(ns)}`;
const indexKey = (ns: Namespace, gen: number) => `${manifestRoot(ns)}index/${String(gen).padStart(12, '0')}.json`;

/** The period of a commit time, UTC: '2026-11-30' (daily), '2026-W48' (ISO week), '2026-11' (monthly). */
export function periodOf(at: number, p: ManifestPeriod): string {
  const d = new Date(at);
  const iso = d.toISOString();
  if (p === 'daily') return iso.slice(0, 10);
  if (p === 'monthly') return iso.slice(0, 7);
  // ISO week: the week (Monday first) holding the Thursday of this date's week
  const t = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
  const day = t.getUTCDay() || 7;
  t.setUTCDate(t.getUTCDate() + 4 - day);
  const yearStart = Date.UTC(t.getUTCFullYear(), 0, 1);
  const week = Math.ceil(((t.getTime() - yearStart) / 86_400_000 + 1) / 7);
  return `${t.getUTCFullYear()}-W${String(week).padStart(2, '0')}`;
}

const corrupt = (key: string, why: string, extra: Record<string, unknown> = {}) =>
  new ManifestError(`Manifest '${key}' is corrupt (${why}): the rows it holds cannot be read; restore it from a copy of the backups bucket`, {
    manifest: key,
    ...extra,
  });

/** GET of a manifest object, its absence a ManifestError naming it. */
export async function getManifestObject(blobs: BlobStore, key: string, range?: { offset: number; length: number }): Promise<Uint8Array> {
  try {
    if (!range) return await blobs.get('backups', key);
    if (blobs.getRange) return await blobs.getRange('backups', key, range.offset, range.length);
    return (await blobs.get('backups', key)).subarray(range.offset, range.offset + range.length);
  } catch (e) {
    if (e instanceof NotFoundError)
      throw new ManifestError(`Manifest '${key}' is missing from the backups bucket: the version rows it holds cannot be read`, { manifest: key });
    throw e;
  }
}

/** Decodes one block (checked against its footer entry) into its rows; with `itemId`, only that record's rows are parsed. */
export function decodeBlock(key: string, b: BlockEntry, bytes: Uint8Array, itemId?: string): VersionDoc[] {
  if (bytes.byteLength !== b.length || sha256(bytes) !== b.sha256) throw corrupt(key, `block at byte ${b.offset} fails its sha256`, { offset: b.offset });
  let text: string;
  try {
    text = gunzipSync(bytes).toString('utf8');
  } catch {
    throw corrupt(key, `block at byte ${b.offset} does not decompress`, { offset: b.offset });
  }
  const rows = text.split('\n').filter((l) => l.length > 0);
  if (rows.length !== b.rows) throw corrupt(key, `block at byte ${b.offset} holds ${rows.length} rows, its footer says ${b.rows}`);
  // rows are written with itemId first (JSON.stringify of { itemId, ...rest }): a prefix test skips other records unparsed
  let mine = itemId === undefined ? rows : rows.filter((l) => l.startsWith(`{"itemId":${JSON.stringify(itemId)},`));
  if (itemId !== undefined && mine.length === 0) mine = rows; // a writer that put itemId elsewhere: parse all (the caller filters)
  try {
    return mine.map((l) => JSON.parse(l) as VersionDoc);
  } catch {
    throw corrupt(key, `block at byte ${b.offset} holds a line that is not JSON`);
  }
}

/** Reads and checks a part's footer (its sha256 is in the index entry). */
export async function readFooter(blobs: BlobStore, part: PartEntry): Promise<PartFooter> {
  const bytes = await getManifestObject(blobs, part.key, { offset: part.footer.offset, length: part.footer.length });
  if (bytes.byteLength !== part.footer.length || sha256(bytes) !== part.footer.sha256) throw corrupt(part.key, 'its footer fails the sha256 the index gives');
  try {
    const f = JSON.parse(Buffer.from(bytes).toString('utf8')) as PartFooter;
    if (f.format !== MANIFEST_FORMAT || !Array.isArray(f.blocks)) throw new Error('format');
    return f;
  } catch {
    throw corrupt(part.key, 'its footer is not a chronos-manifest/1 footer');
  }
}

/** Builds the parts of one period as rows arrive in (itemId, ov) order; memory: one part. */
export class PartWriter {
  private lines: string[] = [];
  private lineBytes = 0;
  private blockRows: VersionDoc[] = [];
  private chunks: Buffer[] = [];
  private blocks: BlockEntry[] = [];
  private offset = 0;
  private rows = 0;
  private minAt = Infinity;
  private maxAt = -Infinity;

  constructor(
    private readonly blobs: BlobStore,
    private readonly ns: Namespace,
    readonly period: string,
    private readonly onPart: (p: PartEntry, written: boolean) => void,
  ) {}

  async add(v: VersionDoc): Promise<void> {
    const { itemId, ...rest } = v;
    const line = JSON.stringify({ itemId, ...rest });
    this.lines.push(line);
    this.blockRows.push(v);
    this.lineBytes += line.length + 1;
    this.rows++;
    this.minAt = Math.min(this.minAt, v.at);
    this.maxAt = Math.max(this.maxAt, v.at);
    if (this.lineBytes >= BLOCK_BYTES) {
      this.closeBlock();
      if (this.offset >= PART_BYTES) await this.flush();
    }
  }

  private closeBlock(): void {
    if (!this.lines.length) return;
    const z = gzipSync(`${this.lines.join('\n')}\n`, { level: 6 });
    this.blocks.push({
      first: this.blockRows[0]!.itemId,
      last: this.blockRows[this.blockRows.length - 1]!.itemId,
      offset: this.offset,
      length: z.byteLength,
      rows: this.lines.length,
      sha256: sha256(z),
    });
    this.chunks.push(z);
    this.offset += z.byteLength;
    this.lines = [];
    this.blockRows = [];
    this.lineBytes = 0;
  }

  /** Writes the part built so far (if any rows) and starts a new one. */
  async flush(): Promise<void> {
    this.closeBlock();
    if (!this.blocks.length) return;
    const footer: PartFooter = { format: MANIFEST_FORMAT, ns: this.ns, period: this.period, rows: this.rows, blocks: this.blocks };
    const fbytes = Buffer.from(JSON.stringify(footer), 'utf8');
    const body = Buffer.concat([...this.chunks, fbytes]);
    const hash = sha256(body);
    const key = `${manifestRoot(this.ns)}parts/${this.period}/${hash}.cmf`;
    let written = true;
    try {
      await this.blobs.put('backups', key, body, { contentType: 'application/octet-stream', ifNoneMatch: true });
    } catch (e) {
      // content-addressed: the key existing means these very bytes are there already
      if (!(e instanceof OptimisticLockError)) throw e;
      written = false;
    }
    this.onPart(
      {
        key,
        sha256: hash,
        period: this.period,
        bytes: body.byteLength,
        rows: this.rows,
        first: this.blocks[0]!.first,
        last: this.blocks[this.blocks.length - 1]!.last,
        minAt: this.minAt,
        maxAt: this.maxAt,
        footer: { offset: this.offset, length: fbytes.byteLength, sha256: sha256(fbytes) },
      },
      written,
    );
    this.chunks = [];
    this.blocks = [];
    this.offset = 0;
    this.rows = 0;
    this.minAt = Infinity;
    this.maxAt = -Infinity;
  }
}

/**
 * Reads the rows of one part in (itemId, ov) order, a block at a time (one ranged GET per
 * block, each checked by its sha256 against the footer, itself checked against the index).
 */
export class PartCursor {
  private footer: PartFooter | undefined;
  private block = 0;
  private rows: VersionDoc[] = [];
  private pos = 0;

  constructor(
    private readonly blobs: BlobStore,
    readonly part: PartEntry,
  ) {}

  private async peek(): Promise<VersionDoc | undefined> {
    this.footer ??= await readFooter(this.blobs, this.part);
    while (this.pos >= this.rows.length) {
      const b = this.footer.blocks[this.block];
      if (!b) return undefined;
      this.block++;
      this.rows = decodeBlock(this.part.key, b, await getManifestObject(this.blobs, this.part.key, { offset: b.offset, length: b.length }));
      this.pos = 0;
    }
    return this.rows[this.pos];
  }

  /** The rows of `itemId` (skipping rows of records before it); call with ascending ids. */
  async rowsFor(itemId: string): Promise<VersionDoc[]> {
    const out: VersionDoc[] = [];
    for (let r = await this.peek(); r && r.itemId <= itemId; r = await this.peek()) {
      if (r.itemId === itemId) out.push(r);
      this.pos++;
    }
    return out;
  }

  /** The itemId of the next row, or undefined at the end. */
  async nextId(): Promise<string | undefined> {
    return (await this.peek())?.itemId;
  }
}

/** The newest index generation of a namespace, checked; an empty one (gen 0) when none exists. */
export async function loadIndex(blobs: BlobStore, ns: Namespace): Promise<ManifestIndex> {
  for (let attempt = 0; ; attempt++) {
    let last: string | undefined;
    for await (const e of blobs.list('backups', `${manifestRoot(ns)}index/`)) if (e.key.endsWith('.json')) last = e.key;
    if (!last) return { format: INDEX_FORMAT, ns, gen: 0, parts: [], checksum: sha256(JSON.stringify([])) };
    let bytes: Uint8Array;
    try {
      bytes = await blobs.get('backups', last);
    } catch (e) {
      // removed by a newer generation's cleanup between the list and the get: list again
      if (e instanceof NotFoundError && attempt < 3) continue;
      throw e instanceof NotFoundError ? new ManifestError(`Manifest index '${last}' vanished while read`, { manifest: last }) : e;
    }
    let idx: ManifestIndex;
    try {
      idx = JSON.parse(Buffer.from(bytes).toString('utf8')) as ManifestIndex;
    } catch {
      throw corrupt(last, 'not JSON');
    }
    if (idx.format !== INDEX_FORMAT || !Array.isArray(idx.parts) || sha256(JSON.stringify(idx.parts)) !== idx.checksum)
      throw corrupt(last, 'its checksum fails');
    return idx;
  }
}

/**
 * Writes the next index generation: `change` maps the newest one to the new parts list (or
 * null: nothing to write). Put if-none-match, so two writers never both win a generation; the
 * loser reads the new newest and applies its change again. Older generations beyond the last
 * GENERATIONS_KEPT are then removed.
 */
export async function updateIndex(blobs: BlobStore, ns: Namespace, change: (cur: ManifestIndex) => PartEntry[] | null): Promise<ManifestIndex | null> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const cur = await loadIndex(blobs, ns);
    const parts = change(cur);
    if (!parts) return null;
    const next: ManifestIndex = { format: INDEX_FORMAT, ns, gen: cur.gen + 1, parts, checksum: sha256(JSON.stringify(parts)) };
    try {
      await blobs.put('backups', indexKey(ns, next.gen), Buffer.from(JSON.stringify(next), 'utf8'), { contentType: 'application/json', ifNoneMatch: true });
    } catch (e) {
      if (e instanceof OptimisticLockError) continue;
      throw e;
    }
    for (let g = next.gen - GENERATIONS_KEPT; g >= 1; g--) {
      if (!(await blobs.head('backups', indexKey(ns, g)))) break;
      await blobs.delete('backups', indexKey(ns, g));
    }
    return next;
  }
  throw new OptimisticLockError(`Manifest index of ${manifestRoot(ns)} kept changing: run again`);
}
