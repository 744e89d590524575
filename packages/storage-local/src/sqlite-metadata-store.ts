/**
 * MetadataStore and CounterStore on SQLite (better-sqlite3, synchronous;
 * results are wrapped in promises).
 *
 * One database file holds every namespace: each (db_name, tenant or '',
 * collection) has an integer id in `chronos_ns`, which also holds its cv
 * counter; rows are keyed by that id. A commit is one `BEGIN IMMEDIATE`
 * transaction that checks the head's ov, takes the next cv, inserts the
 * version (and, when a SqliteBlobStore is linked, its small payloads) and
 * moves the head. WAL mode and a busy timeout make several processes on the
 * same file safe.
 *
 * Layout 2 (`user_version` 2): a version document is stored once, in its
 * version row, without the fields its columns hold (itemId, ov, cv, at,
 * requestId); the head row holds only the record-level fields and its ov, and
 * head reads join the version row. A file of layout 1 (namespace names in
 * every row, the head holding a copy of the version document) is converted
 * in one transaction when it is opened: every process on a file must run
 * the same chronos-db version.
 *
 * Why one file of ~580 lines: every method is a few prepared statements on
 * the one connection and schema declared here; splitting them would scatter
 * the schema from the statements that depend on it. The counters part is the
 * first candidate to move out if it grows.
 */
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type Database from 'better-sqlite3';
import { openSqlite } from './sqlite-open.js';
import {
  OptimisticLockError,
  StorageError,
  TxnError,
  ValidationError,
  assertHeadsByState,
  assertId,
  assertRequestIds,
  assertOv,
  assertItemState,
  assertDbName,
  assertNamespace,
  deleteVersionGroups,
  newestVersionError,
  erasedError,
  isChronosError,
  isErasedError,
  isOp,
  keyPrefix,
  type BeginErasureInput,
  type ChangesInput,
  type ChangesPage,
  type CommitInput,
  type CommitManyResult,
  type CommitResult,
  type CounterIncrement,
  type CounterRecount,
  type CounterScope,
  type CounterStore,
  type CounterTotals,
  type CounterTriple,
  type ErasureRecord,
  type FinishErasureInput,
  type LeaseDoc,
  type HeadDoc,
  type HeadsByStateInput,
  type ItemState,
  type ListVersionsOptions,
  type MetadataCapabilities,
  type MetadataStore,
  type Namespace,
  type QueryInput,
  type VersionDoc,
  type VersionSelector,
} from '@chronos-db/core';
import { filterToSql, strcmp } from './sql-filter.js';
import type { SqliteBlobStore } from './sqlite-blob-store.js';
import { LIFECYCLE_SCHEMA, createLifecycleOps, scrubSqlite } from './sqlite-lifecycle.js';

export type LocalMetadataStoreOptions = { basePath: string; busyTimeoutMs?: number } | { filename: string; busyTimeoutMs?: number };

/** File name used under `basePath`. */
export const METADATA_FILE = 'chronos-metadata.sqlite';

const FIELDS = ['created', 'updated', 'deleted'] as const;
const MAX_LIMIT = 100_000;
const STMT_CACHE = 200;

/** Layout 1, as created before: only ever created here to convert a file of that layout. */
const SCHEMA_V1 = `
CREATE TABLE IF NOT EXISTS chronos_heads (
  db_name TEXT NOT NULL, tenant TEXT NOT NULL, collection TEXT NOT NULL, item_id TEXT NOT NULL,
  ov INTEGER NOT NULL, deleted INTEGER NOT NULL, created_at INTEGER NOT NULL, state TEXT NOT NULL,
  doc TEXT NOT NULL, shadow TEXT,
  PRIMARY KEY (db_name, tenant, collection, item_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS chronos_versions (
  db_name TEXT NOT NULL, tenant TEXT NOT NULL, collection TEXT NOT NULL, item_id TEXT NOT NULL,
  ov INTEGER NOT NULL, cv INTEGER NOT NULL, at INTEGER NOT NULL, request_id TEXT,
  doc TEXT NOT NULL,
  PRIMARY KEY (db_name, tenant, collection, item_id, ov)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS chronos_cv (
  db_name TEXT NOT NULL, tenant TEXT NOT NULL, collection TEXT NOT NULL, cv INTEGER NOT NULL,
  PRIMARY KEY (db_name, tenant, collection)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS chronos_counters (
  db_name TEXT NOT NULL, tenant TEXT NOT NULL, collection TEXT NOT NULL, rule TEXT NOT NULL,
  created INTEGER NOT NULL DEFAULT 0, updated INTEGER NOT NULL DEFAULT 0, deleted INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (db_name, tenant, collection, rule)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS chronos_counted (
  db_name TEXT NOT NULL, tenant TEXT NOT NULL, collection TEXT NOT NULL, cv INTEGER NOT NULL,
  PRIMARY KEY (db_name, tenant, collection, cv)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS chronos_counter_base (
  db_name TEXT NOT NULL, tenant TEXT NOT NULL, collection TEXT NOT NULL, cv INTEGER NOT NULL,
  PRIMARY KEY (db_name, tenant, collection)
) WITHOUT ROWID;
`;

export const LAYOUT_VERSION = 2;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS chronos_ns (
  id INTEGER PRIMARY KEY, db_name TEXT NOT NULL, tenant TEXT NOT NULL, collection TEXT NOT NULL,
  cv INTEGER NOT NULL DEFAULT 0, counter_base INTEGER,
  UNIQUE (db_name, tenant, collection)
);
CREATE TABLE IF NOT EXISTS chronos_heads_v2 (
  ns INTEGER NOT NULL, item_id TEXT NOT NULL, ov INTEGER NOT NULL, deleted INTEGER NOT NULL,
  created_at INTEGER NOT NULL, at INTEGER NOT NULL, state TEXT NOT NULL, shadow TEXT,
  PRIMARY KEY (ns, item_id)
) WITHOUT ROWID;
-- findHeadsByState (TTL marking): the live heads of one state by last update, in keyset order
CREATE INDEX IF NOT EXISTS chronos_heads_v2_state_at ON chronos_heads_v2 (ns, state, deleted, at, item_id);
CREATE TABLE IF NOT EXISTS chronos_versions_v2 (
  ns INTEGER NOT NULL, item_id TEXT NOT NULL, ov INTEGER NOT NULL, cv INTEGER NOT NULL, at INTEGER NOT NULL,
  request_id TEXT, doc TEXT NOT NULL,
  PRIMARY KEY (ns, item_id, ov)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS chronos_versions_v2_at ON chronos_versions_v2 (ns, item_id, at, ov);
CREATE INDEX IF NOT EXISTS chronos_versions_v2_cv ON chronos_versions_v2 (ns, item_id, cv);
CREATE INDEX IF NOT EXISTS chronos_versions_v2_feed ON chronos_versions_v2 (ns, cv);
CREATE INDEX IF NOT EXISTS chronos_versions_v2_req ON chronos_versions_v2 (ns, request_id) WHERE request_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS chronos_counters_v2 (
  ns INTEGER NOT NULL, rule TEXT NOT NULL,
  created INTEGER NOT NULL DEFAULT 0, updated INTEGER NOT NULL DEFAULT 0, deleted INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (ns, rule)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS chronos_counted_v2 (
  ns INTEGER NOT NULL, cv INTEGER NOT NULL,
  PRIMARY KEY (ns, cv)
) WITHOUT ROWID;
`;

const V1_NS = (t: string) => `JOIN chronos_ns n ON n.db_name = ${t}.db_name AND n.tenant = ${t}.tenant AND n.collection = ${t}.collection`;
/** Converts the tables of layout 1 (run inside the open transaction, after SCHEMA). */
const MIGRATE_V1 = `
INSERT OR IGNORE INTO chronos_ns (db_name, tenant, collection)
  SELECT db_name, tenant, collection FROM chronos_cv UNION SELECT db_name, tenant, collection FROM chronos_heads
  UNION SELECT db_name, tenant, collection FROM chronos_versions UNION SELECT db_name, tenant, collection FROM chronos_counters
  UNION SELECT db_name, tenant, collection FROM chronos_counted UNION SELECT db_name, tenant, collection FROM chronos_counter_base;
UPDATE chronos_ns SET
  cv = MAX(cv, COALESCE((SELECT c.cv FROM chronos_cv c WHERE c.db_name = chronos_ns.db_name AND c.tenant = chronos_ns.tenant AND c.collection = chronos_ns.collection), 0)),
  counter_base = COALESCE((SELECT b.cv FROM chronos_counter_base b WHERE b.db_name = chronos_ns.db_name AND b.tenant = chronos_ns.tenant AND b.collection = chronos_ns.collection), counter_base);
INSERT INTO chronos_versions_v2 (ns, item_id, ov, cv, at, request_id, doc)
  SELECT n.id, v.item_id, v.ov, v.cv, v.at, v.request_id, json_remove(v.doc, '$.itemId', '$.ov', '$.cv', '$.at', '$.requestId')
  FROM chronos_versions v ${V1_NS('v')};
INSERT INTO chronos_heads_v2 (ns, item_id, ov, deleted, created_at, at, state, shadow)
  SELECT n.id, h.item_id, h.ov, h.deleted, h.created_at, json_extract(h.doc, '$.at'), h.state, h.shadow FROM chronos_heads h ${V1_NS('h')};
INSERT INTO chronos_counters_v2 (ns, rule, created, updated, deleted)
  SELECT n.id, c.rule, c.created, c.updated, c.deleted FROM chronos_counters c ${V1_NS('c')};
INSERT INTO chronos_counted_v2 (ns, cv) SELECT n.id, c.cv FROM chronos_counted c ${V1_NS('c')};
DROP TABLE chronos_heads; DROP TABLE chronos_versions; DROP TABLE chronos_cv;
DROP TABLE chronos_counters; DROP TABLE chronos_counted; DROP TABLE chronos_counter_base;
`;

const NS = 'ns = ?';
/** The columns a VersionDoc is read from (`v`: the version table). */
const VCOLS = 'v.item_id, v.ov, v.cv, v.at, v.request_id, v.doc';
const HEAD_FROM = 'chronos_heads_v2 h JOIN chronos_versions_v2 v ON v.ns = h.ns AND v.item_id = h.item_id AND v.ov = h.ov';
const HCOLS = `${VCOLS}, h.state, h.created_at, h.shadow`;

type Row = { item_id: string; ov: number; cv: number; at: number; request_id: string | null; doc: string };
type HeadRow = Row & { state: string; created_at: number; shadow: string | null };
type Key = [number];
/** A validated namespace of the store (see `nsEntry`). */
interface NsEntry {
  readonly key: [string, string, string];
  readonly prefix: string;
  id: number | undefined;
}
const ITEM_JSON = '/item.json';
const ATTEMPT_RE = /^[A-Za-z0-9_-]+$/;

/** The (db_name, tenant, collection) key of a namespace, validated. */
function nsKey(ns: Namespace): [string, string, string] {
  if (!ns || typeof ns !== 'object') throw new ValidationError('Namespace required');
  assertNamespace(ns);
  return [ns.dbName, ns.tenant ?? '', ns.collection];
}

function finiteInt(v: unknown, name: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new ValidationError(`${name} must be a non-negative integer`);
  return v;
}

function checkVersion(v: CommitInput['version']): void {
  if (!v || typeof v !== 'object') throw new ValidationError('commit needs a version');
  assertId(v.itemId);
  finiteInt(v.ov, 'version.ov');
  if (typeof v.at !== 'number' || !Number.isFinite(v.at)) throw new ValidationError('version.at must be a finite number (epoch ms)');
  if (!isOp(v.op)) throw new ValidationError('version.op is not a known operation');
  if (typeof v.jsonKey !== 'string') throw new ValidationError('version.jsonKey must be a string');
  if (typeof v.deleted !== 'boolean') throw new ValidationError('version.deleted must be a boolean');
  if (!v.metaIndexed || typeof v.metaIndexed !== 'object' || Array.isArray(v.metaIndexed)) throw new ValidationError('version.metaIndexed must be an object');
  if (v.requestId !== undefined && typeof v.requestId !== 'string') throw new ValidationError('version.requestId must be a string');
}

function checkState(s: unknown): asserts s is ItemState {
  assertItemState(s);
}

/**
 * The stored document of a version: what its columns do not hold. `deleted` only when true;
 * a payload key of the canonical form `<keyPrefix(ns)><itemId>/v<ov>/<attempt>/item.json` (the
 * engine's jsonKey of this very version) as `~<attempt>` ('~' is never part of a key).
 */
/** Version fields its row's columns hold (or that packVersion writes itself). */
const PACKED_OUT = new Set(['itemId', 'ov', 'at', 'requestId', 'deleted', 'jsonKey']);

function packVersion(prefix: string, v: CommitInput['version']): string {
  const { itemId, ov, deleted, jsonKey } = v;
  const doc: Record<string, unknown> = {};
  const src = v as unknown as Record<string, unknown>;
  for (const k in src) if (!PACKED_OUT.has(k) && Object.hasOwn(src, k)) doc[k] = src[k];
  const own = `${prefix}${itemId}/v${ov}/`;
  const attempt = jsonKey.startsWith(own) && jsonKey.endsWith(ITEM_JSON) ? jsonKey.slice(own.length, -ITEM_JSON.length) : '';
  doc.jsonKey = ATTEMPT_RE.test(attempt) ? `~${attempt}` : jsonKey;
  if (deleted) doc.deleted = true;
  return JSON.stringify(doc);
}

function toVersion(prefix: string, r: Row): VersionDoc {
  const d = JSON.parse(r.doc) as VersionDoc;
  d.itemId = r.item_id;
  d.ov = r.ov;
  d.cv = r.cv;
  d.at = r.at;
  if (r.request_id !== null) d.requestId = r.request_id;
  if (d.jsonKey.startsWith('~')) d.jsonKey = `${prefix}${r.item_id}/v${r.ov}/${d.jsonKey.slice(1)}${ITEM_JSON}`;
  d.deleted = d.deleted === true;
  return d;
}

function toHead(prefix: string, r: HeadRow): HeadDoc {
  const h = toVersion(prefix, r) as HeadDoc;
  h.createdAt = r.created_at;
  h.state = r.state as ItemState;
  if (r.shadow !== null) h.shadow = JSON.parse(r.shadow) as HeadDoc['shadow'] & object;
  return h;
}

function mapError(e: unknown, op: string): Error {
  if (isChronosError(e)) return e;
  const code = (e as { code?: unknown } | undefined)?.code;
  const msg = e instanceof Error ? e.message : String(e);
  if (typeof code === 'string' && (code === 'SQLITE_BUSY' || code.startsWith('SQLITE_BUSY_') || code === 'SQLITE_LOCKED')) {
    return op === 'commit'
      ? new TxnError(`SQLite was busy; the commit was not applied (${code})`, { code }, { cause: e })
      : new StorageError(`SQLite was busy during ${op} (${code})`, { code }, { cause: e });
  }
  if (typeof code === 'string' && code.startsWith('SQLITE_CONSTRAINT') && op === 'commit') {
    return new OptimisticLockError('A concurrent writer committed this version first', { code });
  }
  return new StorageError(`SQLite ${op} failed: ${msg}`, typeof code === 'string' ? { code } : undefined, { cause: e });
}

/** Creates the tables of layout 2 and converts a file of layout 1 (inside the open transaction). */
function openLayout(db: Database.Database): void {
  db.exec(SCHEMA);
  const v1 = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name IN ('chronos_heads', 'chronos_versions', 'chronos_cv')").get();
  if (v1) {
    db.exec(SCHEMA_V1); // the tables it may lack, so that one statement converts every file of that layout
    db.exec(MIGRATE_V1);
  }
  if ((db.pragma('user_version', { simple: true }) as number) < LAYOUT_VERSION) db.pragma(`user_version = ${LAYOUT_VERSION}`);
}

export class SqliteMetadataStore implements MetadataStore, CounterStore {
  readonly capabilities: MetadataCapabilities = { transactions: true };
  readonly filename: string;
  /** Set when a SqliteBlobStore on this connection is linked (the same object there): commits then take `payloads`. */
  payloadLink?: { readonly maxBytes: number };
  private payloads: SqliteBlobStore | undefined;
  private readonly db: Database.Database;
  private readonly cache = new Map<string, Database.Statement>();
  private readonly nsEntries = new Map<string, NsEntry>();
  private readonly s: Record<string, Database.Statement>;
  private readonly commitTx: Database.Transaction<(input: CommitInput) => number>;
  private readonly commitManyTx: Database.Transaction<(inputs: CommitInput[]) => CommitManyResult[]>;
  private readonly hardDeleteTx: Database.Transaction<(key: Key, itemId: string, prefix: string) => VersionDoc[]>;
  private readonly deleteVersionsTx: Database.Transaction<(key: Key, groups: Map<string, number[]>) => number>;
  private readonly incrementTx: Database.Transaction<(ns: Namespace, inc: CounterIncrement) => void>;
  private readonly feedTx: (key: Key, afterCv: number, limit: number, prefix: string) => ChangesPage;
  private readonly life: ReturnType<typeof createLifecycleOps>;

  constructor(opts: LocalMetadataStoreOptions) {
    if (!opts || typeof opts !== 'object') throw new ValidationError('createLocalMetadataStore needs { basePath } or { filename }');
    let filename: string;
    if ('filename' in opts && typeof opts.filename === 'string' && opts.filename.length > 0)
      filename = opts.filename === ':memory:' ? ':memory:' : resolve(opts.filename);
    else if ('basePath' in opts && typeof opts.basePath === 'string' && opts.basePath.length > 0) filename = join(resolve(opts.basePath), METADATA_FILE);
    else throw new ValidationError('createLocalMetadataStore needs { basePath } or { filename }');
    this.filename = filename;
    const busy = opts.busyTimeoutMs ?? 10_000;
    try {
      if (filename !== ':memory:') mkdirSync(dirname(filename), { recursive: true });
      this.db = openSqlite(filename, { timeout: busy });
      this.db.pragma(`busy_timeout = ${Math.max(0, Math.floor(busy))}`);
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = FULL');
      // erasure: deleted rows are overwritten with zeros, not left in free pages
      this.db.pragma('secure_delete = ON');
      this.db.function('chronos_strcmp', { deterministic: true }, strcmp);
      this.db
        .transaction(() => {
          openLayout(this.db);
          this.db.exec(LIFECYCLE_SCHEMA);
        })
        .immediate();
    } catch (e) {
      throw mapError(e, 'open');
    }
    const db = this.db;
    const p = (sql: string) => db.prepare(sql);
    this.s = {
      nsGet: p('SELECT id FROM chronos_ns WHERE db_name = ? AND tenant = ? AND collection = ?'),
      nsAdd: p('INSERT OR IGNORE INTO chronos_ns (db_name, tenant, collection) VALUES (?, ?, ?)'),
      // what a commit checks first, in one statement: the record's tombstone (chronos_erasures, sqlite-lifecycle.ts) and its head's ov
      commitCheck: p(`SELECT EXISTS (SELECT 1 FROM chronos_erasures WHERE db_name = ? AND tenant = ? AND collection = ? AND item_id = ?) AS erased,
                      (SELECT ov FROM chronos_heads_v2 WHERE ${NS} AND item_id = ?) AS ov`),
      // commitMany's checks of a whole batch, before its writes: the heads' ovs and the tombstones, two statements
      batchHeads: p('SELECT item_id, ov FROM chronos_heads_v2 WHERE ns = ? AND item_id IN (SELECT value FROM json_each(?))'),
      batchErased: p(
        'SELECT item_id FROM chronos_erasures WHERE db_name = ? AND tenant = ? AND collection = ? AND item_id IN (SELECT value FROM json_each(?))',
      ),
      head: p(`SELECT ${HCOLS} FROM ${HEAD_FROM} WHERE h.ns = ? AND h.item_id = ?`),
      bumpCv: p('UPDATE chronos_ns SET cv = cv + 1 WHERE id = ? RETURNING cv'),
      cv: p('SELECT cv FROM chronos_ns WHERE id = ?'),
      setCv: p('UPDATE chronos_ns SET cv = ? WHERE id = ?'),
      insVersion: p(`INSERT INTO chronos_versions_v2 (ns, item_id, ov, cv, at, request_id, doc) VALUES (?, ?, ?, ?, ?, ?, ?)`),
      insHead: p(`INSERT INTO chronos_heads_v2 (ns, item_id, ov, deleted, created_at, at, state, shadow) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
      updHead: p(`UPDATE chronos_heads_v2 SET ov = ?, deleted = ?, at = ?, state = COALESCE(?, state),
                  shadow = CASE WHEN ? THEN ? ELSE shadow END WHERE ${NS} AND item_id = ?`),
      verByOv: p(`SELECT ${VCOLS} FROM chronos_versions_v2 v WHERE ${NS} AND item_id = ? AND ov = ?`),
      verByAt: p(`SELECT ${VCOLS} FROM chronos_versions_v2 v WHERE ${NS} AND item_id = ? AND at <= ? ORDER BY at DESC, ov DESC LIMIT 1`),
      verByCv: p(`SELECT ${VCOLS} FROM chronos_versions_v2 v WHERE ${NS} AND item_id = ? AND cv <= ? ORDER BY cv DESC LIMIT 1`),
      list: p(`SELECT ${VCOLS} FROM chronos_versions_v2 v WHERE ${NS} AND item_id = ? AND ov > ? ORDER BY ov ASC LIMIT ?`),
      listAsc: p(`SELECT ${VCOLS} FROM chronos_versions_v2 v WHERE ${NS} AND item_id = ? AND ov > ? AND ov < ? ORDER BY ov ASC LIMIT ?`),
      listDesc: p(`SELECT ${VCOLS} FROM chronos_versions_v2 v WHERE ${NS} AND item_id = ? AND ov > ? AND ov < ? ORDER BY ov DESC LIMIT ?`),
      feed: p(`SELECT ${VCOLS} FROM chronos_versions_v2 v WHERE ${NS} AND cv > ? ORDER BY cv ASC LIMIT ?`),
      // INDEXED BY: left alone, the planner walks the feed index (ns, cv) to skip the sort: a scan of the namespace
      byReq: p(`SELECT ${VCOLS} FROM chronos_versions_v2 v INDEXED BY chronos_versions_v2_req WHERE ${NS} AND request_id = ? ORDER BY cv ASC LIMIT 1`),
      setState: p(`UPDATE chronos_heads_v2 SET state = ? WHERE ${NS} AND item_id = ?`),
      delVersions: p(`DELETE FROM chronos_versions_v2 WHERE ${NS} AND item_id = ?`),
      delVersion: p(`DELETE FROM chronos_versions_v2 WHERE ${NS} AND item_id = ? AND ov = ?`),
      maxOv: p(`SELECT MAX(ov) AS ov FROM chronos_versions_v2 WHERE ${NS} AND item_id = ?`),
      delHead: p(`DELETE FROM chronos_heads_v2 WHERE ${NS} AND item_id = ?`),
      counters: p(`SELECT rule, created, updated, deleted FROM chronos_counters_v2 WHERE ${NS}`),
      resetCounters: p(`DELETE FROM chronos_counters_v2 WHERE ${NS}`),
      // counted once per (namespace, cv): the ledger of counted versions, and the base of a recount
      counted: p('INSERT OR IGNORE INTO chronos_counted_v2 (ns, cv) VALUES (?, ?)'),
      counterBase: p('SELECT counter_base AS cv FROM chronos_ns WHERE id = ?'),
      setCounterBase: p('UPDATE chronos_ns SET counter_base = ? WHERE id = ?'),
      dropCounted: p(`DELETE FROM chronos_counted_v2 WHERE ${NS} AND cv <= ?`),
      setCounterRow: p('INSERT INTO chronos_counters_v2 (ns, rule, created, updated, deleted) VALUES (?, ?, ?, ?, ?)'),
      ping: p('SELECT 1 AS ok'),
    };
    const inc: Record<string, Database.Statement> = {};
    for (const f of FIELDS) {
      // f is one of three constants, never input.
      inc[f] = p(`INSERT INTO chronos_counters_v2 (ns, rule, ${f}) VALUES (?, ?, 1)
                  ON CONFLICT (ns, rule) DO UPDATE SET ${f} = ${f} + 1`);
    }

    const s = this.s;
    const life = createLifecycleOps(db);
    this.life = life;
    /** The writes of one commit; every check runs before the first write, so a refusal writes nothing. */
    /** The next cv of namespace `ns`, taken in the open transaction (commitMany passes its own, written once at its end). */
    const bumpCv = (ns: number): number => (s.bumpCv!.get(ns) as { cv: number }).cv;
    /** `pre`: the record's tombstone and head ov when the caller read them in this transaction already (commitMany). */
    const commitOne = (input: CommitInput, takeCv: (ns: number) => number = bumpCv, pre?: { erased: number; ov: number | null }): number => {
      const e = this.nsEntry(input.ns);
      const ns = this.nsId(input.ns, true);
      const v = input.version;
      const chk = pre ?? (s.commitCheck!.get(...e.key, v.itemId, ns, v.itemId) as { erased: number; ov: number | null });
      // a tombstone refuses every commit of the record, in this transaction (serialized with beginErasure)
      if (chk.erased) throw erasedError(v.itemId);
      const cur = chk.ov === null ? undefined : { ov: chk.ov };
      if (input.expectedOv === null) {
        if (cur) throw new OptimisticLockError(`Record '${v.itemId}' already exists`, { id: v.itemId, actualOv: cur.ov });
      } else if (!cur || cur.ov !== input.expectedOv) {
        throw new OptimisticLockError(cur ? `Record '${v.itemId}' is at ov ${cur.ov}, expected ${input.expectedOv}` : `Record '${v.itemId}' does not exist`, {
          id: v.itemId,
          expectedOv: input.expectedOv,
          ...(cur ? { actualOv: cur.ov } : {}),
        });
      }
      if (input.payloads?.length) {
        const refused = this.payloads!.writeInCommit(input.payloads);
        if (refused) throw refused;
      }
      const cv = takeCv(ns);
      s.insVersion!.run(ns, v.itemId, v.ov, cv, v.at, v.requestId ?? null, packVersion(e.prefix, v));
      const h = input.head ?? {};
      const shadow = h.shadow === undefined || h.shadow === null ? null : JSON.stringify(h.shadow);
      if (input.expectedOv === null) {
        s.insHead!.run(ns, v.itemId, v.ov, v.deleted ? 1 : 0, h.createdAt, v.at, h.state ?? 'new-not-synched', shadow);
      } else {
        s.updHead!.run(v.ov, v.deleted ? 1 : 0, v.at, h.state ?? null, h.shadow === undefined ? 0 : 1, shadow, ns, v.itemId);
      }
      return cv;
    };
    this.commitTx = db.transaction((input: CommitInput) => commitOne(input));
    // No savepoint per entry: a refused entry is refused by its checks, before it writes anything.
    // The namespace's cv is read once and written once (the transaction is IMMEDIATE: no other writer in between).
    this.commitManyTx = db.transaction((inputs: CommitInput[]): CommitManyResult[] => {
      let last: number | undefined;
      let nsOf = -1;
      const takeCv = (ns: number): number => {
        if (last === undefined) {
          nsOf = ns;
          last = (s.cv!.get(ns) as { cv: number } | undefined)?.cv ?? 0;
        }
        return ++last;
      };
      // every entry's record is distinct (commitMany checks) and the transaction is IMMEDIATE: what the batch reads
      // here is what each entry would read before its own writes
      const e = this.nsEntry(inputs[0]!.ns);
      const ids = JSON.stringify(inputs.map((i) => i.version.itemId));
      const ovs = new Map<string, number>();
      for (const r of s.batchHeads!.all(this.nsId(inputs[0]!.ns, true), ids) as Array<{ item_id: string; ov: number }>) ovs.set(r.item_id, r.ov);
      const erased = new Set((s.batchErased!.all(...e.key, ids) as Array<{ item_id: string }>).map((r) => r.item_id));
      const out = inputs.map((input): CommitManyResult => {
        const id = input.version.itemId;
        try {
          return { ok: true, cv: commitOne(input, takeCv, { erased: erased.has(id) ? 1 : 0, ov: ovs.get(id) ?? null }) };
        } catch (e) {
          if (e instanceof OptimisticLockError || isErasedError(e)) return { ok: false, error: e as Error };
          throw e;
        }
      });
      if (last !== undefined) s.setCv!.run(last, nsOf);
      return out;
    });
    // One transaction: all the rows go, or none (a crash cannot leave a hole in a chain).
    this.deleteVersionsTx = db.transaction((key: Key, groups: Map<string, number[]>): number => {
      for (const [itemId, ovs] of groups) {
        const newest = (s.maxOv!.get(...key, itemId) as { ov: number | null } | undefined)?.ov;
        const top = ovs[ovs.length - 1]!;
        if (newest !== null && newest !== undefined && top >= newest) throw newestVersionError(itemId, top);
      }
      let n = 0;
      for (const [itemId, ovs] of groups) for (const ov of ovs) n += s.delVersion!.run(...key, itemId, ov).changes;
      return n;
    });
    this.hardDeleteTx = db.transaction((key: Key, itemId: string, prefix: string): VersionDoc[] => {
      const rows = s.list!.all(...key, itemId, -1, -1) as Row[];
      s.delVersions!.run(...key, itemId);
      s.delHead!.run(...key, itemId);
      return rows.map((r) => toVersion(prefix, r));
    });
    const feedRead = db.transaction((key: Key, afterCv: number, limit: number, prefix: string): ChangesPage => {
      const versions = (s.feed!.all(...key, afterCv, limit) as Row[]).map((r) => toVersion(prefix, r));
      if (versions.length === limit) return { versions, nextCv: versions[versions.length - 1]!.cv };
      const cur = s.cv!.get(...key) as { cv: number } | undefined;
      return { versions, nextCv: Math.max(afterCv, cur ? cur.cv : 0) };
    });
    this.feedTx = (key, afterCv, limit, prefix) => feedRead.deferred(key, afterCv, limit, prefix);
    this.incrementTx = db.transaction((scope: Namespace, i: CounterIncrement) => {
      const ns = this.nsId(scope, true);
      if (i.cv !== undefined) {
        const base = s.counterBase!.get(ns) as { cv: number | null } | undefined;
        if (base && base.cv !== null && i.cv <= base.cv) return; // a recount covers this version
        if (s.counted!.run(ns, i.cv).changes === 0) return; // counted already
      }
      const stmt = inc[i.field]!;
      stmt.run(ns, '');
      for (const rule of new Set(i.rules)) stmt.run(ns, rule);
    });
  }

  /** The connection (a linked SqliteBlobStore shares it). */
  get connection(): Database.Database {
    return this.db;
  }

  /** Called by a SqliteBlobStore created with `{ metadata: this }`: commits may then carry its small payloads. */
  linkPayloads(blobs: SqliteBlobStore): void {
    this.payloads = blobs;
    this.payloadLink = blobs.payloadLink;
  }

  /**
   * The namespace's id (validated). `create`: add it when missing (inside a write); else a
   * namespace never written reads as the id -1, which no row has. Only found ids are cached.
   */
  private nsId(ns: Namespace, create: boolean): number {
    const e = this.nsEntry(ns);
    if (e.id !== undefined) return e.id;
    let r = this.s.nsGet!.get(...e.key) as { id: number } | undefined;
    if (!r && create) {
      this.s.nsAdd!.run(...e.key);
      r = this.s.nsGet!.get(...e.key) as { id: number } | undefined;
    }
    if (!r) return -1;
    e.id = r.id;
    return r.id;
  }

  /**
   * A namespace validated once: its key, its object-key prefix and (once found) its id. Only
   * names that passed validation are remembered, so a hit needs no check again.
   */
  private nsEntry(ns: Namespace): NsEntry {
    const t = ns?.tenant;
    if (ns && typeof ns.dbName === 'string' && typeof ns.collection === 'string' && (t === undefined || (typeof t === 'string' && t !== ''))) {
      const name = `${ns.dbName}\u0000${t ?? ''}\u0000${ns.collection}`;
      let e = this.nsEntries.get(name);
      if (!e) {
        e = { key: nsKey(ns), prefix: keyPrefix(ns), id: undefined };
        this.nsEntries.set(name, e);
      }
      return e;
    }
    nsKey(ns); // throws the ValidationError naming what is wrong
    throw new ValidationError('Invalid namespace');
  }

  private key(ns: Namespace): Key {
    return [this.nsId(ns, false)];
  }

  private run<T>(op: string, fn: () => T): Promise<T> {
    try {
      return Promise.resolve(fn());
    } catch (e) {
      return Promise.reject(mapError(e, op));
    }
  }

  private stmt(sql: string): Database.Statement {
    let st = this.cache.get(sql);
    if (st) {
      this.cache.delete(sql);
      this.cache.set(sql, st);
      return st;
    }
    st = this.db.prepare(sql);
    this.cache.set(sql, st);
    if (this.cache.size > STMT_CACHE) this.cache.delete(this.cache.keys().next().value!);
    return st;
  }

  ensureNamespace(ns: Namespace): Promise<void> {
    return this.run('ensureNamespace', () => {
      this.nsId(ns, true); // tables are shared by every namespace and created on open; this names it
    });
  }

  /**
   * Commits of distinct records of one namespace in one transaction (one
   * fsync): each entry runs in its own savepoint and succeeds or fails alone,
   * exactly as `commit` would.
   */
  commitMany(inputs: CommitInput[]): Promise<CommitManyResult[]> {
    return this.run('commit', () => {
      if (!Array.isArray(inputs)) throw new ValidationError('commitMany needs an array of commits');
      if (inputs.length === 0) return [];
      inputs.forEach((i) => this.checkCommit(i));
      const first = this.nsEntry(inputs[0]!.ns);
      const seen = new Set<string>();
      for (const i of inputs) {
        if (this.nsEntry(i.ns) !== first) throw new ValidationError('commitMany takes commits of one namespace');
        if (seen.has(i.version.itemId)) throw new ValidationError(`commitMany takes one commit per record ('${i.version.itemId}' twice)`);
        seen.add(i.version.itemId);
      }
      try {
        return this.commitManyTx.immediate(inputs);
      } catch (e) {
        // a constraint no check foresaw (a payload key written by another process between checks cannot be: the
        // transaction is IMMEDIATE); each entry alone, so that only the entry it belongs to fails
        if (!String((e as { code?: unknown }).code ?? '').startsWith('SQLITE_CONSTRAINT')) throw e;
        return inputs.map((i): CommitManyResult => {
          try {
            return { ok: true, cv: this.commitTx.immediate(i) };
          } catch (err) {
            const m = mapError(err, 'commit');
            if (m instanceof OptimisticLockError) return { ok: false, error: m };
            throw m;
          }
        });
      }
    });
  }

  private checkCommit(input: CommitInput): void {
    if (!input || typeof input !== 'object') throw new ValidationError('commit needs an input');
    this.nsEntry(input.ns);
    checkVersion(input.version);
    const expected = input.expectedOv;
    if (expected !== null) finiteInt(expected, 'expectedOv');
    const wantOv = expected === null ? 0 : expected + 1;
    if (input.version.ov !== wantOv) throw new ValidationError(`version.ov must be ${wantOv} for expectedOv ${String(expected)}, got ${input.version.ov}`);
    const h = input.head ?? {};
    if (expected === null && (typeof h.createdAt !== 'number' || !Number.isFinite(h.createdAt)))
      throw new ValidationError('head.createdAt is required for a create');
    if (h.state !== undefined) checkState(h.state);
    if (h.shadow !== undefined && h.shadow !== null && (typeof h.shadow.json !== 'string' || typeof h.shadow.expiresAt !== 'number')) {
      throw new ValidationError('head.shadow must be { json: string, expiresAt: number } or null');
    }
    if (input.payloads !== undefined) {
      // refused, never ignored: only a store with a linked blob store writes payloads
      if (!this.payloads) throw new ValidationError('this metadata store has no linked blob store: commit payloads are not accepted');
      this.payloads.checkInline(input.payloads);
    }
  }

  commit(input: CommitInput): Promise<CommitResult> {
    return this.run('commit', () => {
      this.checkCommit(input);
      return { cv: this.commitTx.immediate(input) };
    });
  }

  getHead(ns: Namespace, itemId: string): Promise<HeadDoc | null> {
    return this.run('getHead', () => {
      const key = this.key(ns);
      assertId(itemId);
      const r = this.s.head!.get(...key, itemId) as HeadRow | undefined;
      return r ? toHead(keyPrefix(ns), r) : null;
    });
  }

  getVersion(ns: Namespace, itemId: string, sel: VersionSelector): Promise<VersionDoc | null> {
    return this.run('getVersion', () => {
      const key = this.key(ns);
      assertId(itemId);
      if (!sel || typeof sel !== 'object') throw new ValidationError('getVersion needs { ov } | { at } | { cv }');
      let r: Row | undefined;
      if ('ov' in sel) r = this.s.verByOv!.get(...key, itemId, finiteInt(sel.ov, 'ov')) as Row | undefined;
      else if ('at' in sel) {
        if (typeof sel.at !== 'number' || Number.isNaN(sel.at)) throw new ValidationError('at must be a number (epoch ms)');
        r = this.s.verByAt!.get(...key, itemId, sel.at) as Row | undefined;
      } else if ('cv' in sel) {
        if (typeof sel.cv !== 'number' || Number.isNaN(sel.cv)) throw new ValidationError('cv must be a number');
        r = this.s.verByCv!.get(...key, itemId, sel.cv) as Row | undefined;
      } else throw new ValidationError('getVersion needs { ov } | { at } | { cv }');
      return r ? toVersion(keyPrefix(ns), r) : null;
    });
  }

  /** Batched lookup by (itemId, ov) for collectGarbage: one primary-key read each, in one call. */
  findVersions(ns: Namespace, refs: ReadonlyArray<{ itemId: string; ov: number }>): Promise<VersionDoc[]> {
    return this.run('findVersions', () => {
      const key = this.key(ns);
      if (!Array.isArray(refs) || refs.length > 1000) throw new ValidationError('findVersions takes an array of at most 1000 { itemId, ov }');
      const out: VersionDoc[] = [];
      for (const r of refs) {
        assertId(r?.itemId);
        const row = this.s.verByOv!.get(...key, r.itemId, finiteInt(r.ov, 'ov')) as Row | undefined;
        if (row) out.push(toVersion(keyPrefix(ns), row));
      }
      return out;
    });
  }

  listVersions(ns: Namespace, itemId: string, opts: ListVersionsOptions = {}): Promise<VersionDoc[]> {
    return this.run('listVersions', () => {
      const key = this.key(ns);
      assertId(itemId);
      if (!opts || typeof opts !== 'object') throw new ValidationError('listVersions options must be an object');
      const after = opts.afterOv === undefined ? -1 : finiteInt(opts.afterOv, 'afterOv');
      const before = opts.beforeOv === undefined ? Number.MAX_SAFE_INTEGER : finiteInt(opts.beforeOv, 'beforeOv');
      const limit = opts.limit === undefined ? -1 : finiteInt(opts.limit, 'limit');
      const dir = opts.dir ?? 1;
      if (dir !== 1 && dir !== -1) throw new ValidationError('dir must be 1 or -1');
      // a range of the primary key (.., item_id, ov): constant cost per page whatever the chain's length
      return ((dir === 1 ? this.s.listAsc! : this.s.listDesc!).all(...key, itemId, after, before, limit) as Row[]).map((r) => toVersion(keyPrefix(ns), r));
    });
  }

  /**
   * The change feed. Commits are serialized (BEGIN IMMEDIATE) and take their cv inside the
   * transaction, so what a reader sees is always every cv up to the current one: a gap (a
   * hard-deleted version) can never fill, and nothing commits below a cv already visible.
   * The page and the current cv are read in one snapshot.
   */
  changesAfter(ns: Namespace, q: ChangesInput): Promise<ChangesPage> {
    return this.run('changesAfter', () => {
      const key = this.key(ns);
      if (!q || typeof q !== 'object') throw new ValidationError('changesAfter needs { afterCv, limit }');
      const afterCv = finiteInt(q.afterCv, 'afterCv');
      const limit = finiteInt(q.limit, 'limit');
      if (limit < 1 || limit > MAX_LIMIT) throw new ValidationError(`limit must be from 1 to ${MAX_LIMIT}`);
      return this.feedTx(key, afterCv, limit, keyPrefix(ns));
    });
  }

  findByRequestId(ns: Namespace, requestId: string): Promise<VersionDoc | null> {
    return this.run('findByRequestId', () => {
      const key = this.key(ns);
      if (typeof requestId !== 'string' || requestId.length === 0) throw new ValidationError('requestId must be a non-empty string');
      const r = this.s.byReq!.get(...key, requestId) as Row | undefined;
      return r ? toVersion(keyPrefix(ns), r) : null;
    });
  }

  /** findByRequestId for a batch: one index seek per requestId, in one call. */
  findByRequestIds(ns: Namespace, requestIds: readonly string[]): Promise<VersionDoc[]> {
    return this.run('findByRequestIds', () => {
      const key = this.key(ns);
      assertRequestIds(requestIds);
      const out: VersionDoc[] = [];
      for (const r of new Set(requestIds)) {
        const row = this.s.byReq!.get(...key, r) as Row | undefined;
        if (row) out.push(toVersion(keyPrefix(ns), row));
      }
      return out;
    });
  }

  queryHeads(ns: Namespace, q: QueryInput): Promise<HeadDoc[]> {
    return this.run('queryHeads', () => {
      const key = this.key(ns);
      if (!q || typeof q !== 'object') throw new ValidationError('queryHeads needs a query');
      const limit = finiteInt(q.limit, 'limit');
      if (limit < 1 || limit > MAX_LIMIT) throw new ValidationError(`limit must be from 1 to ${MAX_LIMIT}`);
      const dir = q.dir ?? 1;
      if (dir !== 1 && dir !== -1) throw new ValidationError('dir must be 1 or -1');
      const where = ['h.ns = ?'];
      const params: unknown[] = [...key];
      if (q.afterId !== undefined) {
        if (typeof q.afterId !== 'string') throw new ValidationError('afterId must be a string');
        where.push(dir === 1 ? 'h.item_id > ?' : 'h.item_id < ?');
        params.push(q.afterId);
      }
      if (!q.includeDeleted) where.push('h.deleted = 0');
      if (q.filter) {
        const f = filterToSql(q.filter, 'v.doc', 'metaIndexed');
        where.push(f.sql);
        params.push(...f.params);
      }
      params.push(limit);
      const sql = `SELECT ${HCOLS} FROM ${HEAD_FROM} WHERE ${where.join(' AND ')} ORDER BY h.item_id ${dir === 1 ? 'ASC' : 'DESC'} LIMIT ?`;
      return (this.stmt(sql).all(...params) as HeadRow[]).map((r) => toHead(keyPrefix(ns), r));
    });
  }

  /** One range of the index chronos_heads_v2_state_at: (state, deleted, at, item_id), keyset by row value. */
  findHeadsByState(ns: Namespace, q: HeadsByStateInput): Promise<HeadDoc[]> {
    return this.run('findHeadsByState', () => {
      const key = this.key(ns);
      assertHeadsByState(q);
      const after = q.after ? ' AND (h.at, h.item_id) > (?, ?)' : '';
      const sql = `SELECT ${HCOLS} FROM ${HEAD_FROM} WHERE h.ns = ? AND h.state = ? AND h.deleted = 0 AND h.at <= ?${after}
                   ORDER BY h.at, h.item_id LIMIT ?`;
      const params: unknown[] = [...key, q.state, q.atOrBefore, ...(q.after ? [q.after.at, q.after.itemId] : []), q.limit];
      return (this.stmt(sql).all(...params) as HeadRow[]).map((r) => toHead(keyPrefix(ns), r));
    });
  }

  currentCv(ns: Namespace): Promise<number> {
    return this.run('currentCv', () => {
      const r = this.s.cv!.get(...this.key(ns)) as { cv: number } | undefined;
      return r ? r.cv : 0;
    });
  }

  setState(ns: Namespace, itemId: string, state: ItemState): Promise<boolean> {
    return this.run('setState', () => {
      const key = this.key(ns);
      assertId(itemId);
      checkState(state);
      return this.s.setState!.run(state, ...key, itemId).changes > 0;
    });
  }

  /** Removes version rows (pruneNow): one transaction, never a record's newest version. */
  deleteVersions(ns: Namespace, refs: ReadonlyArray<{ itemId: string; ov: number }>): Promise<number> {
    return this.run('deleteVersions', () => {
      nsKey(ns);
      const groups = deleteVersionGroups(refs);
      const key = this.key(ns);
      return groups.size ? this.deleteVersionsTx.immediate(key, groups) : 0;
    });
  }

  /** Every namespace of the file (chronos_ns names each one ensured or written), optionally of some databases only. */
  listNamespaces(q?: { dbNames?: readonly string[] }): Promise<Namespace[]> {
    return this.run('listNamespaces', () => {
      if (q?.dbNames !== undefined) for (const d of q.dbNames) assertDbName(d);
      const only = q?.dbNames !== undefined ? new Set(q.dbNames) : undefined;
      const rows = this.stmt('SELECT db_name, tenant, collection FROM chronos_ns ORDER BY db_name, tenant, collection').all() as Array<{
        db_name: string;
        tenant: string;
        collection: string;
      }>;
      return rows
        .filter((r) => !only || only.has(r.db_name))
        .map((r): Namespace => ({ dbName: r.db_name, collection: r.collection, ...(r.tenant !== '' ? { tenant: r.tenant } : {}) }));
    });
  }

  hardDelete(ns: Namespace, itemId: string): Promise<VersionDoc[]> {
    return this.run('hardDelete', () => {
      const key = this.key(ns);
      assertId(itemId);
      return this.hardDeleteTx.immediate(key, itemId, keyPrefix(ns));
    });
  }

  beginErasure(ns: Namespace, input: BeginErasureInput): Promise<{ record: ErasureRecord; created: boolean }> {
    return this.run('beginErasure', () => this.life.beginErasure(nsKey(ns), input));
  }

  finishErasure(ns: Namespace, itemId: string, input: FinishErasureInput): Promise<void> {
    return this.run('finishErasure', () => this.life.finishErasure(nsKey(ns), itemId, input));
  }

  erasedIds(ns: Namespace, itemIds: readonly string[]): Promise<string[]> {
    return this.run('erasedIds', () => this.life.erasedIds(nsKey(ns), itemIds));
  }

  listErasures(ns: Namespace, q: { afterId?: string; limit: number }): Promise<ErasureRecord[]> {
    return this.run('listErasures', () => this.life.listErasures(nsKey(ns), q));
  }

  clearShadow(ns: Namespace, itemId: string, ov: number): Promise<boolean> {
    return this.run('clearShadow', () => {
      nsKey(ns);
      assertId(itemId);
      assertOv(ov, 'ov');
      const r = this.stmt('UPDATE chronos_heads_v2 SET shadow = NULL WHERE ns = ? AND item_id = ? AND ov = ? AND shadow IS NOT NULL').run(
        this.nsId(ns, false),
        itemId,
        ov,
      );
      return r.changes > 0;
    });
  }

  getLease(dbName: string, name: string): Promise<LeaseDoc | null> {
    return this.run('getLease', () => {
      assertDbName(dbName);
      return this.life.getLease(dbName, name);
    });
  }

  putLease(dbName: string, lease: LeaseDoc): Promise<boolean> {
    return this.run('putLease', () => {
      assertDbName(dbName);
      return this.life.putLease(dbName, lease);
    });
  }

  /** Checkpoints and truncates the write-ahead log (with secure_delete on, deleted rows leave the files). */
  async scrub(): Promise<boolean> {
    try {
      return await scrubSqlite(this.db);
    } catch (e) {
      throw mapError(e, 'scrub');
    }
  }

  incrementCounters(scope: CounterScope, inc: CounterIncrement): Promise<void> {
    return this.run('incrementCounters', () => {
      nsKey(scope);
      if (!inc || !FIELDS.includes(inc.field)) throw new ValidationError('counter field must be created, updated or deleted');
      if (!Array.isArray(inc.rules) || inc.rules.some((r) => typeof r !== 'string' || r.length === 0 || r.length > 128)) {
        throw new ValidationError('counter rules must be non-empty names');
      }
      if (inc.cv !== undefined && (!Number.isSafeInteger(inc.cv) || inc.cv < 0)) throw new ValidationError('counter cv must be a non-negative integer');
      // Without an fsync of its own (synchronous = NORMAL for this transaction only): the totals are derived
      // from committed versions (recount rebuilds them), the version itself was made durable by its commit,
      // and the next commit's fsync of the shared write-ahead log makes this increment durable too. A killed
      // process loses nothing (the log is written); a power loss may drop the increments since the last
      // fsync, as it may drop one made between a commit and its count today.
      // (db.pragma prepares the statement each time: SQLite applies `synchronous` when it compiles it, so a
      // statement prepared once and run again may not switch the level)
      this.db.pragma('synchronous = NORMAL');
      try {
        this.incrementTx.immediate(scope, inc);
      } finally {
        this.db.pragma('synchronous = FULL');
      }
    });
  }

  /** Replaces the totals with the count of `source.events` (see CounterStore.recountCounters): one transaction. */
  async recountCounters(scope: CounterScope, source: CounterRecount): Promise<CounterTotals> {
    await this.run('recountCounters', () => nsKey(scope));
    if (!source || typeof source !== 'object' || !Number.isSafeInteger(source.upToCv) || source.upToCv < 0) {
      throw new ValidationError('recount needs { events, upToCv } with a non-negative integer upToCv');
    }
    const rows = new Map<string, { created: number; updated: number; deleted: number }>([['', { created: 0, updated: 0, deleted: 0 }]]);
    for await (const inc of source.events as AsyncIterable<CounterIncrement>) {
      if (!inc || !FIELDS.includes(inc.field)) throw new ValidationError('counter field must be created, updated or deleted');
      if (inc.cv !== undefined && inc.cv > source.upToCv) continue;
      for (const rule of ['', ...new Set(Array.isArray(inc.rules) ? inc.rules : [])]) {
        const r = rows.get(rule) ?? { created: 0, updated: 0, deleted: 0 };
        r[inc.field] += 1;
        rows.set(rule, r);
      }
    }
    const s = this.s;
    await this.run('recountCounters', () =>
      this.db
        .transaction(() => {
          const ns = this.nsId(scope, true);
          s.resetCounters!.run(ns);
          for (const [rule, r] of rows) s.setCounterRow!.run(ns, rule, r.created, r.updated, r.deleted);
          s.setCounterBase!.run(source.upToCv, ns);
          s.dropCounted!.run(ns, source.upToCv);
        })
        .immediate(),
    );
    return this.getCounters(scope);
  }

  getCounters(scope: CounterScope): Promise<CounterTotals> {
    return this.run('getCounters', () => {
      const rows = this.s.counters!.all(...this.key(scope)) as Array<{ rule: string; created: number; updated: number; deleted: number }>;
      const out: CounterTotals = { created: 0, updated: 0, deleted: 0, rules: {} };
      for (const r of rows) {
        if (r.rule === '') {
          out.created = r.created;
          out.updated = r.updated;
          out.deleted = r.deleted;
        } else {
          const t: CounterTriple = {};
          for (const f of FIELDS) if (r[f] !== 0) t[f] = r[f];
          out.rules[r.rule] = t;
        }
      }
      return out;
    });
  }

  resetCounters(scope: CounterScope): Promise<void> {
    return this.run('resetCounters', () => {
      this.s.resetCounters!.run(...this.key(scope));
    });
  }

  ping(): Promise<void> {
    return this.run('ping', () => {
      this.s.ping!.get();
    });
  }

  close(): Promise<void> {
    return this.run('close', () => {
      if (this.db.open) this.db.close();
    });
  }
}

export function createLocalMetadataStore(opts: LocalMetadataStoreOptions): SqliteMetadataStore {
  return new SqliteMetadataStore(opts);
}
