/**
 * export: the collection as it was at a time or cv (default: now), as NDJSON,
 * a page at a time (listAsOf), each externalized property's bytes inlined as
 * base64 so the dump is whole. import: NDJSON (validated first, so bad input
 * writes nothing), or a plain MongoDB collection (--from-mongo), streamed into
 * createManyStream with the record's own id and a requestId derived from it:
 * a rerun after an interruption replays what landed and writes the rest.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import type { BulkResult } from 'chronos-db';
import { CliError, EXIT, usage } from '../errors.js';
import type { Session } from '../session.js';

const ID_RE = /^[A-Za-z0-9_-]{1,128}$/;
const PAGE = 200;

/** fn over items, at most `limit` at once; results in order. */
async function mapLimit<T, R>(items: T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** A requestId of at most 128 characters, the same for the same id on every run. */
export function requestIdFor(prefix: string, id: string): string {
  return prefix.length + id.length <= 128 ? `${prefix}${id}` : `${prefix}h:${createHash('sha256').update(id).digest('hex')}`;
}

const getPath = (o: Record<string, unknown>, path: string): unknown =>
  path.split('.').reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined), o);
function setPath(o: Record<string, unknown>, path: string, value: unknown) {
  const keys = path.split('.');
  let cur = o;
  for (const k of keys.slice(0, -1)) cur = cur[k] as Record<string, unknown>;
  cur[keys[keys.length - 1]!] = value;
}

/** Externalized properties fetched at once while a page is written (memory: this many blobs). */
const CONTENT_PARALLEL = 8;
/** Bytes of NDJSON gathered before one write. */
const FLUSH_BYTES = 1 << 20;
const COLLECTION_RE = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/; // core's assertCollection

type ExportRec = Record<string, unknown> & { id: string; _meta?: { ov: number } & Record<string, unknown> };

/**
 * The collections to export: the one named (flag, variable, defaults), else those of the
 * config's collectionMaps (in their order) and every other the stores hold for the context's
 * database and tenant (admin.listCollections: written by any process), sorted.
 */
async function exportCollections(s: Session, o: { allCollections?: boolean }): Promise<string[]> {
  const { defaults, config, file } = await s.config();
  const named = s.explicitCollection();
  if (o.allCollections && named) throw usage('give --collection or --all-collections, not both');
  if (!o.allCollections && (named ?? defaults.collection)) return [(named ?? defaults.collection)!];
  const ctx = (await s.ctx({ collection: false })) as { dbName?: string; key?: string; tenantId?: string };
  const c = await s.open('read');
  const held = await c.admin.listCollections(
    ctx.key !== undefined
      ? { key: ctx.key, ...(ctx.tenantId ? { tenantId: ctx.tenantId } : {}) }
      : { dbName: ctx.dbName!, ...(ctx.tenantId ? { tenantId: ctx.tenantId } : {}) },
  );
  const names = [...new Set([...Object.keys(config.collectionMaps ?? {}), ...held])];
  if (names.length === 0) throw usage(`no collection given, and neither ${file}'s collectionMaps nor the store name one: give --collection <name>`);
  return names;
}

export async function exportCmd(s: Session, o: { at?: string; cv?: number; allCollections?: boolean }) {
  const names = await exportCollections(s, o);
  if (o.cv !== undefined && names.length > 1) throw usage('--cv is a version of one collection: give --collection, or --at for all of them');
  const c = await s.open('read');
  // one point in time for every collection
  const target = o.cv !== undefined ? { cv: o.cv } : { at: (o.at ?? new Date().toISOString()) as `${number}-${number}-${number}` };
  for (const name of names) {
    const ctx = await s.ctx({ collection: name });
    const col = c.with(ctx);
    const props = Object.keys(c.config.collectionMaps?.[name]?.base64Props ?? {});
    // each line names its collection (in _meta, which import sets aside), so a dump of several restores each
    const line = (rec: ExportRec) => {
      if (rec._meta) rec._meta.collection = name; // the library's fresh object, ours to change
      return JSON.stringify(rec);
    };
    let pageToken: string | undefined;
    let n = 0;
    do {
      const page = await col.listAsOf(target, { limit: PAGE, ...(pageToken ? { pageToken } : {}) }, { includeMeta: true });
      const recs = page.items as unknown as ExportRec[];
      if (props.length === 0) {
        // the page as one string, one write
        let text = '';
        for (const rec of recs) text += `${line(rec)}\n`;
        await s.out.text(text);
      } else {
        // the content of each externalized property inlined as base64, CONTENT_PARALLEL fetches in flight,
        // lines written in order and flushed every FLUSH_BYTES (a page of large blobs is never held whole)
        const inline = async (rec: ExportRec) => {
          for (const p of props) {
            const v = getPath(rec, p);
            if (v && typeof v === 'object' && 'ref' in v) {
              const bytes = await col.getPropertyContent(rec.id, p, rec._meta ? { ov: rec._meta.ov } : {});
              setPath(rec, p, Buffer.from(bytes).toString('base64'));
            }
          }
          return line(rec);
        };
        const inFlight: Promise<string>[] = [];
        let buf: string[] = [];
        let bytes = 0;
        const take = async () => {
          const l = await inFlight.shift()!;
          buf.push(l);
          bytes += l.length;
          if (bytes >= FLUSH_BYTES) {
            await s.out.lines(buf);
            buf = [];
            bytes = 0;
          }
        };
        for (const rec of recs) {
          const pr = inline(rec);
          pr.catch(() => {}); // awaited in order by take(); not an unhandled rejection meanwhile
          inFlight.push(pr);
          if (inFlight.length >= CONTENT_PARALLEL) await take();
        }
        while (inFlight.length) await take();
        await s.out.lines(buf);
      }
      n += recs.length;
      pageToken = page.pageToken;
    } while (pageToken);
    s.out.note(`exported ${n} record(s) of ${name} as of ${'cv' in target ? `cv ${target.cv}` : target.at}`);
  }
}

interface Item {
  id: string;
  data: Record<string, unknown>;
  requestId: string;
}

/** A stretch of consecutive lines of one collection. */
interface Run {
  collection: string;
  count: number;
}

/**
 * Input held parsed in memory while the check reads it (characters of NDJSON; the variable
 * CHRONOS_IMPORT_MEMORY_BYTES sets another): the records of the first this-much go to
 * createManyStream from memory after the check (one parse, no temp file); the records past it
 * are read and parsed again, from the file or from a temp file the check spools stdin's rest to.
 */
export const IMPORT_MEMORY_BYTES = 32 << 20;

function memoryBudget(env: NodeJS.ProcessEnv): number {
  const v = env.CHRONOS_IMPORT_MEMORY_BYTES;
  if (v === undefined || v === '') return IMPORT_MEMORY_BYTES;
  if (!/^\d{1,15}$/.test(v)) throw usage('CHRONOS_IMPORT_MEMORY_BYTES must be a whole number of bytes (0: read the input twice, holding none)');
  return Number(v);
}

/** The input, checked: the records of its first IMPORT_MEMORY_BYTES in memory, the rest in a file to read again. */
interface Checked {
  lines: number;
  runs: Run[];
  /** Each run's items held in memory: all of them when the whole input fit in IMPORT_MEMORY_BYTES, else a prefix. */
  held: Item[][];
  /** How many records `held` has in all (the rest, lines - heldCount, are read again from `path`). */
  heldCount: number;
  /** Where the records past the held ones are: the input file (skip its first `skip` records) or stdin's spool. */
  path: string;
  skip: number;
  cleanup: () => void;
}

/**
 * Checks every line first (bad input writes nothing). Each line goes to `--collection` (flag or
 * CHRONOS_COLLECTION), else the collection its `_meta.collection` names (an export writes it),
 * else the config's defaults.collection. The parsed items are kept while the input read so far
 * is at most `memoryBytes`; past that, the held ones stay and the lines from there on are read
 * again after the check (stdin's are spooled to a temp file), so only the part past the budget
 * is parsed twice.
 */
async function validateNdjson(s: Session, file: string | undefined, memoryBytes = IMPORT_MEMORY_BYTES): Promise<Checked> {
  const fromStdin = !file || file === '-';
  if (fromStdin && s.term.stdinTTY) throw usage('give an NDJSON file, or pipe it into stdin');
  const explicit = s.explicitCollection();
  const fallback = (await s.config()).defaults.collection;
  let path = file ?? '';
  let cleanup = () => {};
  let spool: ReturnType<typeof createWriteStream> | undefined;
  const write = async (text: string) => {
    if (!spool!.write(text)) await new Promise<void>((r) => spool!.once('drain', () => r()));
  };
  const input = fromStdin ? process.stdin : createReadStream(path);
  const opened = new Promise<void>((res, rej) => {
    input.once('error', rej);
    if (fromStdin) res();
    else (input as ReturnType<typeof createReadStream>).once('open', () => res());
  });
  try {
    await opened;
  } catch (e) {
    throw new CliError(
      `cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
      (e as NodeJS.ErrnoException).code === 'ENOENT' ? EXIT.notFound : EXIT.usage,
    );
  }
  let lines = 0;
  let lineNo = 0;
  const seen = new Set<string>();
  const runs: Run[] = [];
  const named = new Set<string>();
  // the parsed items of each run, while the input read so far is within memoryBytes (then the
  // held ones stay, and the lines from there on are read again: stdin's are spooled)
  const held: Item[][] = [];
  let heldCount = 0;
  let holding = true;
  let bytes = 0;
  try {
    for await (const line of createInterface({ input, crlfDelay: Infinity })) {
      lineNo++;
      if (holding) {
        bytes += line.length + 1;
        if (bytes > memoryBytes) {
          holding = false;
          if (fromStdin) {
            const dir = mkdtempSync(join(tmpdir(), 'chronos-import-'));
            path = join(dir, 'stdin.ndjson');
            cleanup = () => rmSync(dir, { recursive: true, force: true });
            spool = createWriteStream(path);
            spool.on('error', () => {}); // a failed spool write surfaces as the end() error below
          }
        }
      }
      if (spool) await write(`${line}\n`);
      if (line.trim() === '') continue;
      let v: unknown;
      try {
        v = JSON.parse(line);
      } catch {
        throw usage(`invalid JSON at line ${lineNo} of ${fromStdin ? 'stdin' : path}; nothing was imported`);
      }
      if (!v || typeof v !== 'object' || Array.isArray(v)) throw usage(`line ${lineNo}: not a JSON object; nothing was imported`);
      const { id, _meta } = v as { id?: unknown; _meta?: { collection?: unknown } };
      if (typeof id !== 'string' || !ID_RE.test(id)) throw usage(`line ${lineNo}: 'id' must be 1-128 letters, digits, '_' or '-'; nothing was imported`);
      const own = _meta && typeof _meta === 'object' ? _meta.collection : undefined;
      if (own !== undefined) {
        if (typeof own !== 'string' || !COLLECTION_RE.test(own) || own.toLowerCase().startsWith('system'))
          throw usage(`line ${lineNo}: _meta.collection is not a collection name; nothing was imported`);
        named.add(own);
        if (explicit && named.size > 1)
          throw usage(
            `the input holds more than one collection (${[...named].join(', ')}, ...): drop --collection to restore each to its own; nothing was imported`,
          );
      }
      const collection = explicit ?? (own as string | undefined) ?? fallback;
      if (!collection) throw usage(`line ${lineNo} names no collection (_meta.collection): give --collection <name>; nothing was imported`);
      if (seen.has(`${collection}\u0000${id}`)) throw usage(`line ${lineNo}: id '${id}' appears twice in ${collection}; nothing was imported`);
      seen.add(`${collection}\u0000${id}`);
      const last = runs[runs.length - 1];
      if (last?.collection === collection) last.count++;
      else {
        runs.push({ collection, count: 1 });
        held.push([]);
      }
      if (holding) {
        held[held.length - 1]!.push(toItem(v as Record<string, unknown> & { id: string }));
        heldCount++;
      }
      lines++;
    }
  } catch (e) {
    if (spool) await new Promise<void>((r) => spool!.end(() => r()));
    cleanup();
    throw e;
  }
  if (spool) await new Promise<void>((r, j) => spool!.end((e?: Error | null) => (e ? j(e) : r())));
  return { path, skip: fromStdin ? 0 : heldCount, lines, runs, held, heldCount, cleanup };
}

/** An NDJSON record as createManyStream takes it: its id, its data (without _system and _meta), a requestId from the id. */
function toItem(rec: Record<string, unknown> & { id: string }): Item {
  const { id, _system, _meta, ...data } = rec;
  void _system;
  void _meta;
  return { id, data, requestId: requestIdFor('import:', id) };
}

/**
 * The checked input's records, run by run: each run's items are the next `count` records of one
 * reader, which gives the held records first, then those of `path` past its first `skip`.
 */
function ndjsonRuns(v: Checked): Array<{ collection: string; items: AsyncIterable<Item> }> {
  const { path, runs, held, skip } = v;
  async function* records(): AsyncGenerator<Item> {
    for (const h of held) yield* h;
    let n = 0;
    for await (const line of createInterface({ input: createReadStream(path), crlfDelay: Infinity })) {
      if (line.trim() === '') continue;
      if (n++ < skip) continue;
      yield toItem(JSON.parse(line) as Record<string, unknown> & { id: string });
    }
  }
  const reader = records();
  return runs.map((r) => ({
    collection: r.collection,
    items: (async function* () {
      for (let i = 0; i < r.count; i++) {
        const next = await reader.next();
        if (next.done) return;
        yield next.value;
      }
    })(),
  }));
}

/**
 * Lands items through createManyStream, run by run (a run: one collection, the
 * context's when unnamed). `checkpoint(n)` is called (at most once a batch) with
 * n = the length of the prefix of items that all landed: a rerun may start after
 * it. `skipped` items landed in an earlier run (they count as imported).
 */
async function land(
  s: Session,
  runs: Array<{ collection?: string; items: Item[] | AsyncIterable<Item | { id?: string; bad: string }> }>,
  total: number,
  o: { batchSize: number; actor?: string; reason?: string },
  resume: { skipped: number; checkpoint?: (n: number) => Promise<void> } = { skipped: 0 },
) {
  const c = await s.open('write');
  const bar = await s.progress(total, 'records');
  const bad: Array<{ id?: string; error: string }> = [];
  let done = resume.skipped;
  let okPrefix = resume.skipped;
  let saved = okPrefix;
  let ok = resume.skipped;
  try {
    for (const run of runs) {
      const col = c.with(await s.ctx(run.collection !== undefined ? { collection: run.collection } : {}));
      // items the CLI itself cannot convert are reported, not sent
      const good = async function* (): AsyncGenerator<Item> {
        for await (const it of run.items as AsyncIterable<Item | { id?: string; bad: string }>) {
          if ('bad' in it) {
            bad.push({ ...(it.id ? { id: it.id } : {}), error: it.bad });
            done++;
            continue;
          }
          yield it;
        }
      };
      // an array (checked input held in memory) goes as it is: nothing in it is bad
      for await (const r of col.createManyStream(Array.isArray(run.items) ? run.items : good(), {
        batchSize: o.batchSize,
        ...(o.actor ? { actor: o.actor } : {}),
        ...(o.reason ? { reason: o.reason } : {}),
      }) as AsyncIterable<BulkResult>) {
        done++;
        if (r.ok) ok++;
        else bad.push({ ...(r.id ? { id: r.id } : {}), error: s.hide(`${r.error.name}: ${r.error.message}`) });
        if (bad.length === 0) okPrefix = done;
        if (done % 100 === 0) bar.update(done);
        if (resume.checkpoint && okPrefix - saved >= o.batchSize) {
          saved = okPrefix;
          await resume.checkpoint(okPrefix);
        }
      }
    }
  } finally {
    bar.update(done);
    bar.stop();
  }
  for (const b of bad.slice(0, 20)) s.out.note(`failed ${b.id ?? '?'}: ${b.error}`);
  if (bad.length > 20) s.out.note(`... and ${bad.length - 20} more`);
  const collections = runs.length > 1 ? { collections: [...new Set(runs.map((r) => r.collection))].length } : {};
  await s.out.json({ read: done, imported: ok, failed: bad.length, ...collections, ...(resume.skipped ? { resumedAfter: resume.skipped } : {}) });
  return bad.length ? EXIT.failed : EXIT.ok;
}

export async function importCmd(
  s: Session,
  file: string | undefined,
  o: { fromMongo?: string; sourceDb?: string; sourceCollection?: string; batchSize: number; actor?: string; reason?: string },
) {
  if (o.batchSize > 5000) throw usage('--batch-size must be at most 5000');
  if (o.fromMongo) {
    if (file) throw usage('give a file or --from-mongo, not both');
    return fromMongo(s, o.fromMongo, o);
  }
  if (o.sourceDb || o.sourceCollection) throw usage('--source-db and --source-collection go with --from-mongo');
  await s.ctx({ collection: false });
  const v = await validateNdjson(s, file, memoryBudget(s.env));
  try {
    const runs = v.heldCount === v.lines ? v.runs.map((r, i) => ({ collection: r.collection, items: v.held[i]! })) : ndjsonRuns(v);
    return await land(s, runs, v.lines, o);
  } finally {
    v.cleanup();
  }
}

function dbOfUri(uri: string): string | undefined {
  const m = /^mongodb(?:\+srv)?:\/\/[^/]+\/([^?]+)/.exec(uri);
  return m ? decodeURIComponent(m[1]!) : undefined;
}

async function fromMongo(s: Session, uri: string, o: { sourceDb?: string; sourceCollection?: string; batchSize: number; actor?: string; reason?: string }) {
  if (!/^mongodb(\+srv)?:\/\//.test(uri)) throw usage('--from-mongo must be a mongodb:// or mongodb+srv:// URI');
  const ctx = await s.ctx();
  const dbName = o.sourceDb ?? dbOfUri(uri) ?? ('dbName' in ctx ? ctx.dbName : undefined);
  if (!dbName) throw usage('give --source-db (the URI names no database)');
  const collName = o.sourceCollection ?? ctx.collection;
  const { MongoClient } = await import('mongodb');
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 10_000 });
  // the URI's password is a secret too
  const m = /^mongodb(?:\+srv)?:\/\/([^@/]+)@/.exec(uri);
  if (m && s.loaded) s.loaded.secrets.push(m[1]!, ...(m[1]!.split(':')[1] ? [m[1]!.split(':')[1]!] : []));
  try {
    const coll = client.db(dbName).collection(collName);
    const total = await coll.estimatedDocumentCount();
    const { BSON } = await import('mongodb');
    // the checkpoint: how many documents (in _id order) all landed, and the _id of the last one
    const loaded = await s.config();
    const key = createHash('sha256')
      .update(JSON.stringify([uri.replace(/\/\/[^@/]*@/, '//'), dbName, collName, ctx]))
      .digest('hex')
      .slice(0, 24);
    const cpFile = join(dirname(loaded.file), '.chronos', 'imports', `${key}.json`);
    let skip = 0;
    let lastId: string | undefined;
    const hadCheckpoint = existsSync(cpFile);
    if (hadCheckpoint) {
      try {
        const cp = JSON.parse(readFileSync(cpFile, 'utf8')) as { done: number; lastId: string };
        // resume only if the source still has the same document at that position (else replay it all: idempotent)
        const at = await coll
          .find({})
          .sort({ _id: 1 })
          .skip(cp.done - 1)
          .limit(1)
          .project({ _id: 1 })
          .toArray();
        if (cp.done > 0 && at[0] && BSON.EJSON.stringify(at[0]._id) === cp.lastId) skip = cp.done;
      } catch {}
    }
    // a document as an item: the record id its _id gives, or why it cannot be one
    const toItem = (doc: Record<string, unknown>): Item | { id?: string; bad: string } => {
      const { _id, ...rest } = doc;
      const id =
        typeof _id === 'string'
          ? _id
          : typeof _id === 'number' && Number.isSafeInteger(_id)
            ? String(_id)
            : _id && typeof (_id as { toHexString?: unknown }).toHexString === 'function'
              ? (_id as { toHexString(): string }).toHexString()
              : undefined;
      if (id === undefined || !ID_RE.test(id))
        return {
          ...(id ? { id: id.slice(0, 64) } : {}),
          bad: `_id of type ${(_id as object)?.constructor?.name ?? typeof _id} cannot be a record id (1-128 letters, digits, '_' or '-')`,
        };
      // BSON values become their JSON: ObjectId -> hex, Date -> ISO string
      return { id, data: JSON.parse(JSON.stringify(rest)) as Record<string, unknown>, requestId: requestIdFor('mongo:', id) };
    };
    if (hadCheckpoint) {
      // past the checkpoint, the batches an interrupted run committed after writing it: the documents
      // whose version 0 holds their data already landed (commits land in _id order, so they are a
      // prefix), found by version-0 reads (an _id seek each, also on FerretDB) and skipped, so the
      // rerun sends createManyStream no replay to look up
      const col = (await s.open('write')).with(ctx);
      const landed = async (doc: Record<string, unknown>): Promise<boolean> => {
        const it = toItem(doc);
        if ('bad' in it) return false;
        const v = (await col.getVersion(it.id, 0)) as Record<string, unknown> | null;
        if (!v) return false;
        const { id, _system, ...data } = v;
        void id;
        void _system;
        return JSON.stringify(data) === JSON.stringify(it.data);
      };
      const before = skip;
      for (;;) {
        const docs = await coll.find({}).sort({ _id: 1 }).skip(skip).limit(o.batchSize).toArray();
        // the first alone: where nothing landed, one read says so
        if (docs.length === 0 || !(await landed(docs[0]!))) break;
        const rest = await mapLimit(docs.slice(1), 16, landed);
        const n = 1 + (rest.indexOf(false) === -1 ? rest.length : rest.indexOf(false));
        skip += n;
        if (n < docs.length) break;
      }
      if (skip > before) s.out.note(`resuming after ${skip} document(s) imported by an earlier run (${before} by its checkpoint ${cpFile})`);
      else if (skip > 0) s.out.note(`resuming after ${skip} document(s) imported by an earlier run (${cpFile})`);
    }
    const ids: string[] = []; // EJSON of the _ids of the current window, to name the checkpoint's last one
    let base = skip;
    async function* items(): AsyncGenerator<Item | { id?: string; bad: string }> {
      // _id order, streamed in batches: memory holds one batch whatever the size
      for await (const doc of coll.find({}).sort({ _id: 1 }).skip(skip).batchSize(o.batchSize)) {
        ids.push(BSON.EJSON.stringify((doc as Record<string, unknown>)._id as never));
        yield toItem(doc as Record<string, unknown>);
      }
    }
    const checkpoint = async (n: number) => {
      lastId = ids[n - 1 - base];
      if (lastId === undefined) return;
      mkdirSync(dirname(cpFile), { recursive: true });
      // written beside, then renamed over: a run killed mid-write leaves the last checkpoint whole, never a torn one
      writeFileSync(`${cpFile}.tmp`, JSON.stringify({ done: n, lastId }));
      renameSync(`${cpFile}.tmp`, cpFile);
      ids.splice(0, n - base);
      base = n;
    };
    const code = await land(s, [{ items: items() }], total, o, { skipped: skip, checkpoint });
    if (code === EXIT.ok) {
      rmSync(cpFile, { force: true });
      rmSync(`${cpFile}.tmp`, { force: true });
    }
    return code;
  } finally {
    await client.close().catch(() => {});
  }
}
