/**
 * The manifest format: version-index rows moved to the backups bucket (rollupNow) before the
 * index drops them (pruneNow). Documented for readers in docs/MANIFESTS.md; in short:
 *
 *   manifests/<dbName>/[t.<tenant>/]<collection>/parts/<period>/<sha256>.cmf   one part
 *   manifests/<dbName>/[t.<tenant>/]<collection>/index/<generation>.json      the index
 *
 * A part (chronos-manifest/2) is a run of segments followed by a JSON footer. A segment is up
 * to SEGMENT_BLOCKS gzip blocks (each at most BLOCK_ROWS rows of NDJSON, one VersionDoc per
 * line, sorted by (itemId, ov); a record's rows may span blocks) followed by its page: the
 * JSON list of its blocks, each with the key (itemId, ov, at, cv) of its first and last row,
 * byte offset, length, row count and sha256. The footer lists the segments the same way, with
 * the position and sha256 of each page. Along a record's chain ov, at and cv all grow, so the
 * keys order the blocks for any selector: a reader picks the one block that holds a record's
 * row for a given ov, time or cv from the footer and one page, and fetches it with one ranged
 * GET (the whole segment when the page is not cached yet). Every byte is checked by a hash that
 * chains up to the index's checksum. The part's key carries the sha256 of all its bytes
 * (content-addressed: the same rows give the same key). The index, rewritten as a new
 * generation (never overwritten: put if-none-match), lists every part with its sha256, period,
 * itemId, time and cv ranges and footer position and sha256.
 *
 * Parts of the first format (chronos-manifest/1: one footer listing every 64 KiB block, with
 * the first and last itemId of each) still read: a record's rows are its blocks, decoded whole.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { ManifestError, NotFoundError, OptimisticLockError } from '../errors.js';
import { keyPrefix } from '../names.js';
import type { BlobStore, Namespace, VersionDoc } from '../ports.js';
import { sha256 } from './payload.js';

/** The part format written; parts of MANIFEST_FORMAT_V1 are still read. */
export const MANIFEST_FORMAT = 'chronos-manifest/2';
export const MANIFEST_FORMAT_V1 = 'chronos-manifest/1';
export const INDEX_FORMAT = 'chronos-manifest-index/1';
/** Rows per block at most (a block is the unit a point read decodes). */
export const BLOCK_ROWS = 64;
/** Uncompressed bytes after which a block is closed even below BLOCK_ROWS. */
export const BLOCK_BYTES = 16 * 1024;
/** Blocks per segment (the blocks one page lists; the unit of a ranged read with its page). */
export const SEGMENT_BLOCKS = 32;
/** Compressed bytes after which a part is closed and the next one begun (memory per open part). */
export const PART_BYTES = 4 * 1024 * 1024;
/** Index generations kept: the newest and the one before (a reader may still hold it). */
const GENERATIONS_KEPT = 2;

export type ManifestPeriod = 'daily' | 'weekly' | 'monthly';

/** Where a row sorts: [itemId, ov, at, cv]. Along one record's rows ov grows, at and cv never fall. */
export type RowKey = [itemId: string, ov: number, at: number, cv: number];
export const rowKeyOf = (v: VersionDoc): RowKey => [v.itemId, v.ov, v.at, v.cv];

/** A gzip block of a part (format 2): listed in its segment's page. */
export interface BlockEntry {
  /** Keys of its first and last row. */
  first: RowKey;
  last: RowKey;
  /** Byte offset (in the part) and length of the gzip block. */
  offset: number;
  length: number;
  rows: number;
  /** sha256 (hex) of the block's compressed bytes. */
  sha256: string;
}

/** A segment of a part (format 2): its blocks, then its page (the JSON array of their BlockEntry). */
export interface SegmentEntry {
  first: RowKey;
  last: RowKey;
  /** Byte offset (in the part) and length of the whole segment, blocks and page. */
  offset: number;
  length: number;
  blocks: number;
  rows: number;
  /** The page: byte offset (in the part), length, sha256 (hex). */
  page: { offset: number; length: number; sha256: string };
}

/**
 * The footer of a format-2 part: this header on its first line, then one SegmentEntry per line
 * (JSON, one value per line, so a reader parses only the lines a binary search looks at).
 */
export interface PartFooter {
  format: typeof MANIFEST_FORMAT;
  ns: Namespace;
  period: string;
  rows: number;
  blocks: number;
  /** How many segment lines follow. */
  segments: number;
  /** False when some record's at or cv fell along its rows in this part (then reads decode the record's blocks whole). */
  ordered: boolean;
}

/** A block of a format-1 part: first and last itemId only. */
export interface BlockEntryV1 {
  first: string;
  last: string;
  offset: number;
  length: number;
  rows: number;
  sha256: string;
}

export interface PartFooterV1 {
  format: typeof MANIFEST_FORMAT_V1;
  ns: Namespace;
  period: string;
  rows: number;
  blocks: BlockEntryV1[];
}

/** A footer as read: format 1 whole, format 2 as its header and its segment lines. */
export type AnyPartFooter = PartFooterV1 | { format: typeof MANIFEST_FORMAT; header: PartFooter; segments: EntryLines<SegmentEntry> };

/** Entries of a format-2 footer or page, one JSON value per line, each parsed (and checked) when first looked at. */
export class EntryLines<T> {
  private readonly parsed: Array<T | undefined>;
  constructor(
    private readonly key: string,
    private readonly what: string,
    private readonly lines: string[],
    private readonly check: (x: unknown) => boolean,
  ) {
    this.parsed = new Array<T | undefined>(lines.length);
  }
  get length(): number {
    return this.lines.length;
  }
  at(i: number): T {
    const hit = this.parsed[i];
    if (hit !== undefined) return hit;
    let v: unknown;
    try {
      v = JSON.parse(this.lines[i]!);
    } catch {
      v = undefined;
    }
    if (!this.check(v)) throw corrupt(this.key, `${this.what}, line ${i + 1}, is not an entry of the format`);
    return (this.parsed[i] = v as T);
  }
  all(): T[] {
    return this.lines.map((_, i) => this.at(i));
  }
}

/** The last i in 0..n-1 with le(i), where le holds for a prefix of 0..n-1; -1 when for none. */
export function lastIndexLe(n: number, le: (i: number) => boolean): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (le(mid)) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
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
  /** Smallest and largest cv of its rows (format-2 parts). */
  minCv?: number;
  maxCv?: number;
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
const GEN_DIGITS = 12;
const GEN_KEY_RE = /\/index\/\d{12}\.json$/;
export const generationKey = (ns: Namespace, gen: number) => `${manifestRoot(ns)}index/${String(gen).padStart(GEN_DIGITS, '0')}.json`;

/**
 * Key prefixes (below `index/`) that together cover every generation below `gen` and no other:
 * one per lower digit at each position (at most 9 per digit), so a store can purge them all,
 * stored versions included, with a few prefix listings whatever the number of generations.
 */
export function generationPrefixesBelow(gen: number): string[] {
  const d = String(gen).padStart(GEN_DIGITS, '0');
  const out: string[] = [];
  for (let i = 0; i < d.length; i++) for (let c = 0; c < Number(d[i]); c++) out.push(`${d.slice(0, i)}${c}`);
  return out;
}

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

export const corrupt = (key: string, why: string, extra: Record<string, unknown> = {}) =>
  new ManifestError(`Manifest '${key}' is corrupt (${why}): the rows it holds cannot be read; restore it from a copy of the backups bucket`, {
    manifest: key,
    ...extra,
  });

/**
 * What manifest reads cost in this process (monotonic totals): GETs of manifest objects and
 * their bytes, blocks gunzipped, rows those blocks held and rows parsed. For tests and the bench.
 */
export const manifestReadStats = { gets: 0, bytes: 0, blocks: 0, rowsDecoded: 0, rowsParsed: 0 };

/** GET of a manifest object, its absence a ManifestError naming it. */
export async function getManifestObject(blobs: BlobStore, key: string, range?: { offset: number; length: number }): Promise<Uint8Array> {
  let bytes: Uint8Array;
  try {
    if (!range) bytes = await blobs.get('backups', key);
    else if (blobs.getRange) bytes = await blobs.getRange('backups', key, range.offset, range.length);
    else bytes = (await blobs.get('backups', key)).subarray(range.offset, range.offset + range.length);
  } catch (e) {
    if (e instanceof NotFoundError)
      throw new ManifestError(`Manifest '${key}' is missing from the backups bucket: the version rows it holds cannot be read`, {
        manifest: key,
        missing: true,
      });
    throw e;
  }
  manifestReadStats.gets++;
  manifestReadStats.bytes += bytes.byteLength;
  return bytes;
}

/** The lines (rows) of one block, checked against its entry: sha256, gzip, row count. */
export function blockLines(key: string, b: { offset: number; length: number; rows: number; sha256: string }, bytes: Uint8Array): string[] {
  if (bytes.byteLength !== b.length || sha256(bytes) !== b.sha256) throw corrupt(key, `block at byte ${b.offset} fails its sha256`, { offset: b.offset });
  let text: string;
  try {
    text = gunzipSync(bytes).toString('utf8');
  } catch {
    throw corrupt(key, `block at byte ${b.offset} does not decompress`, { offset: b.offset });
  }
  const rows = text.split('\n');
  if (rows[rows.length - 1] === '') rows.pop();
  if (rows.length !== b.rows) throw corrupt(key, `block at byte ${b.offset} holds ${rows.length} rows, its entry says ${b.rows}`);
  manifestReadStats.blocks++;
  manifestReadStats.rowsDecoded += rows.length;
  return rows;
}

/** Parses one row of a block. */
export function parseRow(key: string, offset: number, line: string): VersionDoc {
  manifestReadStats.rowsParsed++;
  try {
    return JSON.parse(line) as VersionDoc;
  } catch {
    throw corrupt(key, `block at byte ${offset} holds a line that is not JSON`);
  }
}

/**
 * The lines of `itemId` among a block's lines, unparsed. Rows are written with itemId first
 * (JSON.stringify of { itemId, ...rest }), so a prefix test finds them; null when some line does
 * not have that shape (a writer that put itemId elsewhere: the caller parses all).
 */
export function linesOf(lines: string[], itemId: string): string[] | null {
  const prefix = `{"itemId":${JSON.stringify(itemId)},`;
  const mine = lines.filter((l) => l.startsWith(prefix));
  return mine.length || lines.every((l) => l.startsWith('{"itemId":"')) ? mine : null;
}

/** Decodes one block (checked against its entry) into its rows; with `itemId`, only that record's rows are parsed. */
export function decodeBlock(
  key: string,
  b: { offset: number; length: number; rows: number; sha256: string },
  bytes: Uint8Array,
  itemId?: string,
): VersionDoc[] {
  const lines = blockLines(key, b, bytes);
  const mine = (itemId !== undefined && linesOf(lines, itemId)) || lines;
  return mine.map((l) => parseRow(key, b.offset, l));
}

const isKey = (k: unknown): k is RowKey =>
  Array.isArray(k) && k.length === 4 && typeof k[0] === 'string' && typeof k[1] === 'number' && typeof k[2] === 'number' && typeof k[3] === 'number';

const isBlock = (b: unknown): boolean => {
  const x = b as BlockEntry;
  return (
    isKey(x?.first) &&
    isKey(x.last) &&
    Number.isSafeInteger(x.offset) &&
    Number.isSafeInteger(x.length) &&
    Number.isSafeInteger(x.rows) &&
    typeof x.sha256 === 'string'
  );
};
const isSegment = (s: unknown): boolean => {
  const x = s as SegmentEntry;
  return (
    isKey(x?.first) &&
    isKey(x.last) &&
    Number.isSafeInteger(x.offset) &&
    Number.isSafeInteger(x.length) &&
    Number.isSafeInteger(x.blocks) &&
    typeof x.page?.sha256 === 'string'
  );
};

/** Reads and checks a part's footer (its sha256 is in the index entry), either format. */
export async function readFooter(blobs: BlobStore, part: PartEntry): Promise<AnyPartFooter> {
  const bytes = await getManifestObject(blobs, part.key, { offset: part.footer.offset, length: part.footer.length });
  if (bytes.byteLength !== part.footer.length || sha256(bytes) !== part.footer.sha256) throw corrupt(part.key, 'its footer fails the sha256 the index gives');
  const lines = Buffer.from(bytes).toString('utf8').split('\n');
  let head: PartFooter | PartFooterV1;
  try {
    head = JSON.parse(lines[0]!) as PartFooter | PartFooterV1;
  } catch {
    throw corrupt(part.key, 'its footer is not JSON');
  }
  if (head?.format === MANIFEST_FORMAT && head.segments === lines.length - 1 && head.segments > 0)
    return { format: MANIFEST_FORMAT, header: head, segments: new EntryLines<SegmentEntry>(part.key, 'its footer', lines.slice(1), isSegment) };
  if (head?.format === MANIFEST_FORMAT_V1 && lines.length === 1 && Array.isArray(head.blocks)) return head;
  throw corrupt(part.key, `its footer is not a ${MANIFEST_FORMAT} or ${MANIFEST_FORMAT_V1} footer`);
}

/** Checks a segment's page (`bytes`: the page itself) and opens its lines. */
export function decodePage(key: string, seg: SegmentEntry, bytes: Uint8Array): EntryLines<BlockEntry> {
  if (bytes.byteLength !== seg.page.length || sha256(bytes) !== seg.page.sha256) throw corrupt(key, `page at byte ${seg.page.offset} fails its sha256`);
  const lines = Buffer.from(bytes).toString('utf8').split('\n');
  if (lines.length !== seg.blocks) throw corrupt(key, `page at byte ${seg.page.offset} does not list the ${seg.blocks} blocks its footer entry says`);
  return new EntryLines<BlockEntry>(key, `page at byte ${seg.page.offset}`, lines, isBlock);
}

/** One ranged GET of a whole segment: its page (checked) and the bytes of its blocks. */
export async function readSegment(blobs: BlobStore, key: string, seg: SegmentEntry): Promise<{ blocks: EntryLines<BlockEntry>; bytes: Uint8Array }> {
  const bytes = await getManifestObject(blobs, key, { offset: seg.offset, length: seg.length });
  if (bytes.byteLength !== seg.length) throw corrupt(key, `segment at byte ${seg.offset} is shorter than its footer says`);
  const at = seg.page.offset - seg.offset;
  return { blocks: decodePage(key, seg, bytes.subarray(at, at + seg.page.length)), bytes };
}

/** The bytes of block `b` inside a fetched range that starts at part offset `start`. */
export function sliceBlock(key: string, bytes: Uint8Array, start: number, b: { offset: number; length: number }): Uint8Array {
  const from = b.offset - start;
  if (from < 0 || from + b.length > bytes.byteLength) throw corrupt(key, `block at byte ${b.offset} lies outside its segment`);
  return bytes.subarray(from, from + b.length);
}

/** Every row of a part in (itemId, ov) order, either format; memory: one segment (one block for format 1). */
export async function* partRows(blobs: BlobStore, part: PartEntry, footer?: AnyPartFooter): AsyncGenerator<VersionDoc> {
  const f = footer ?? (await readFooter(blobs, part));
  if (f.format === MANIFEST_FORMAT_V1) {
    for (const b of f.blocks) yield* decodeBlock(part.key, b, await getManifestObject(blobs, part.key, { offset: b.offset, length: b.length }));
    return;
  }
  for (const seg of f.segments.all()) {
    const { blocks, bytes } = await readSegment(blobs, part.key, seg);
    for (const b of blocks.all()) yield* decodeBlock(part.key, b, sliceBlock(part.key, bytes, seg.offset, b));
  }
}

/** Builds the parts of one period as rows arrive in (itemId, ov) order; memory: one part. */
export class PartWriter {
  private lines: string[] = [];
  private lineBytes = 0;
  private blockFirst: VersionDoc | undefined;
  private prev: VersionDoc | undefined;
  private segBlocks: BlockEntry[] = [];
  private segStart = 0;
  private segments: SegmentEntry[] = [];
  private chunks: Buffer[] = [];
  private offset = 0;
  private rows = 0;
  private blocks = 0;
  private ordered = true;
  private minAt = Infinity;
  private maxAt = -Infinity;
  private minCv = Infinity;
  private maxCv = -Infinity;

  constructor(
    private readonly blobs: BlobStore,
    private readonly ns: Namespace,
    readonly period: string,
    private readonly onPart: (p: PartEntry, written: boolean) => void,
  ) {}

  async add(v: VersionDoc): Promise<void> {
    const { itemId, ...rest } = v;
    const line = JSON.stringify({ itemId, ...rest });
    const p = this.prev;
    if (p && p.itemId === v.itemId && (v.ov <= p.ov || v.at < p.at || v.cv < p.cv)) this.ordered = false;
    this.blockFirst ??= v;
    this.prev = v;
    this.lines.push(line);
    this.lineBytes += line.length + 1;
    this.rows++;
    this.minAt = Math.min(this.minAt, v.at);
    this.maxAt = Math.max(this.maxAt, v.at);
    this.minCv = Math.min(this.minCv, v.cv);
    this.maxCv = Math.max(this.maxCv, v.cv);
    if (this.lines.length >= BLOCK_ROWS || this.lineBytes >= BLOCK_BYTES) {
      this.closeBlock();
      if (this.segBlocks.length >= SEGMENT_BLOCKS) this.closeSegment();
      if (this.offset >= PART_BYTES) await this.flush();
    }
  }

  private push(b: Buffer): void {
    this.chunks.push(b);
    this.offset += b.byteLength;
  }

  private closeBlock(): void {
    if (!this.lines.length) return;
    const z = gzipSync(`${this.lines.join('\n')}\n`, { level: 6 });
    this.segBlocks.push({
      first: rowKeyOf(this.blockFirst!),
      last: rowKeyOf(this.prev!),
      offset: this.offset,
      length: z.byteLength,
      rows: this.lines.length,
      sha256: sha256(z),
    });
    this.push(z);
    this.blocks++;
    this.lines = [];
    this.lineBytes = 0;
    this.blockFirst = undefined;
  }

  private closeSegment(): void {
    const bs = this.segBlocks;
    if (!bs.length) return;
    const page = Buffer.from(bs.map((b) => JSON.stringify(b)).join('\n'), 'utf8');
    const pageAt = this.offset;
    this.push(page);
    this.segments.push({
      first: bs[0]!.first,
      last: bs[bs.length - 1]!.last,
      offset: this.segStart,
      length: this.offset - this.segStart,
      blocks: bs.length,
      rows: bs.reduce((n, b) => n + b.rows, 0),
      page: { offset: pageAt, length: page.byteLength, sha256: sha256(page) },
    });
    this.segBlocks = [];
    this.segStart = this.offset;
  }

  /** Writes the part built so far (if any rows) and starts a new one. */
  async flush(): Promise<void> {
    this.closeBlock();
    this.closeSegment();
    if (!this.segments.length) return;
    const header: PartFooter = {
      format: MANIFEST_FORMAT,
      ns: this.ns,
      period: this.period,
      rows: this.rows,
      blocks: this.blocks,
      segments: this.segments.length,
      ordered: this.ordered,
    };
    const fbytes = Buffer.from([header, ...this.segments].map((x) => JSON.stringify(x)).join('\n'), 'utf8');
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
        first: this.segments[0]!.first[0],
        last: this.segments[this.segments.length - 1]!.last[0],
        minAt: this.minAt,
        maxAt: this.maxAt,
        minCv: this.minCv,
        maxCv: this.maxCv,
        footer: { offset: this.offset, length: fbytes.byteLength, sha256: sha256(fbytes) },
      },
      written,
    );
    this.chunks = [];
    this.segments = [];
    this.segStart = 0;
    this.offset = 0;
    this.rows = 0;
    this.blocks = 0;
    this.ordered = true;
    this.prev = undefined;
    this.minAt = Infinity;
    this.maxAt = -Infinity;
    this.minCv = Infinity;
    this.maxCv = -Infinity;
  }
}

/** Reads the rows of one part in (itemId, ov) order, a segment at a time (see partRows). */
export class PartCursor {
  private rows: AsyncGenerator<VersionDoc> | undefined;
  private cur: VersionDoc | undefined;
  private done = false;

  constructor(
    private readonly blobs: BlobStore,
    readonly part: PartEntry,
  ) {}

  private async peek(): Promise<VersionDoc | undefined> {
    if (this.cur || this.done) return this.cur;
    this.rows ??= partRows(this.blobs, this.part);
    const n = await this.rows.next();
    if (n.done) this.done = true;
    else this.cur = n.value;
    return this.cur;
  }

  /** The rows of `itemId` (skipping rows of records before it); call with ascending ids. */
  async rowsFor(itemId: string): Promise<VersionDoc[]> {
    const out: VersionDoc[] = [];
    for (let r = await this.peek(); r && r.itemId <= itemId; r = await this.peek()) {
      if (r.itemId === itemId) out.push(r);
      this.cur = undefined;
    }
    return out;
  }

  /** The itemId of the next row, or undefined at the end. */
  async nextId(): Promise<string | undefined> {
    return (await this.peek())?.itemId;
  }
}

/** Every index generation below `gen` still stored, parsed (one that cannot be read is skipped: it lists nothing to keep). */
export async function olderGenerations(blobs: BlobStore, ns: Namespace, gen: number): Promise<ManifestIndex[]> {
  const out: ManifestIndex[] = [];
  for await (const e of blobs.list('backups', `${manifestRoot(ns)}index/`)) {
    if (!GEN_KEY_RE.test(e.key) || e.key >= generationKey(ns, gen)) continue;
    try {
      const idx = JSON.parse(Buffer.from(await blobs.get('backups', e.key)).toString('utf8')) as ManifestIndex;
      if (Array.isArray(idx?.parts)) out.push(idx);
    } catch {
      // removed meanwhile, or not an index: nothing of it to keep
    }
  }
  return out;
}

/** A copy of the newest generation, overwritten by each update: one GET instead of LIST + GET for a reader with nothing cached. */
export const latestIndexKey = (ns: Namespace) => `${manifestRoot(ns)}index/latest.json`;

function parseIndex(key: string, bytes: Uint8Array): ManifestIndex {
  let idx: ManifestIndex;
  try {
    idx = JSON.parse(Buffer.from(bytes).toString('utf8')) as ManifestIndex;
  } catch {
    throw corrupt(key, 'not JSON');
  }
  if (idx?.format !== INDEX_FORMAT || !Array.isArray(idx.parts) || sha256(JSON.stringify(idx.parts)) !== idx.checksum) throw corrupt(key, 'its checksum fails');
  return idx;
}

/**
 * The newest index generation of a namespace, checked; an empty one (gen 0) when none exists.
 * `latest`: read the copy at `index/latest.json` first (a reader: it may lag a concurrent
 * update, and readers then read the listing, see manifest-read.ts); without it, or when the copy
 * is absent or unreadable, the newest generation in the listing (writers always list).
 */
export async function loadIndex(blobs: BlobStore, ns: Namespace, opts: { latest?: boolean } = {}): Promise<ManifestIndex> {
  if (opts.latest) {
    const key = latestIndexKey(ns);
    try {
      const idx = parseIndex(key, await blobs.get('backups', key));
      manifestReadStats.gets++;
      return idx;
    } catch (e) {
      if (!(e instanceof NotFoundError || e instanceof ManifestError)) throw e;
    }
  }
  for (let attempt = 0; ; attempt++) {
    let last: string | undefined;
    for await (const e of blobs.list('backups', `${manifestRoot(ns)}index/`)) if (GEN_KEY_RE.test(e.key)) last = e.key;
    if (!last) return { format: INDEX_FORMAT, ns, gen: 0, parts: [], checksum: sha256(JSON.stringify([])) };
    let bytes: Uint8Array;
    try {
      bytes = await blobs.get('backups', last);
    } catch (e) {
      // removed by a newer generation's cleanup between the list and the get: list again
      if (e instanceof NotFoundError && attempt < 3) continue;
      throw e instanceof NotFoundError ? new ManifestError(`Manifest index '${last}' vanished while read`, { manifest: last }) : e;
    }
    manifestReadStats.gets += 2;
    return parseIndex(last, bytes);
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
      await blobs.put('backups', generationKey(ns, next.gen), Buffer.from(JSON.stringify(next), 'utf8'), {
        contentType: 'application/json',
        ifNoneMatch: true,
      });
    } catch (e) {
      if (e instanceof OptimisticLockError) continue;
      throw e;
    }
    // the copy readers GET first; a lagging copy (two updates racing) only costs a reader a listing
    await blobs.put('backups', latestIndexKey(ns), Buffer.from(JSON.stringify(next), 'utf8'), { contentType: 'application/json' });
    for (let g = next.gen - GENERATIONS_KEPT; g >= 1; g--) {
      if (!(await blobs.head('backups', generationKey(ns, g)))) break;
      await blobs.delete('backups', generationKey(ns, g));
    }
    return next;
  }
  throw new OptimisticLockError(`Manifest index of ${manifestRoot(ns)} kept changing: run again`);
}
