/**
 * MetadataStore and CounterStore on SQLite (better-sqlite3, synchronous;
 * results are wrapped in promises).
 *
 * One database file holds every namespace: rows are keyed by
 * (db_name, tenant or '', collection). A commit is one `BEGIN IMMEDIATE`
 * transaction that checks the head's ov, takes the next cv from the
 * namespace's counter row, inserts the version and moves the head. WAL mode
 * and a busy timeout make several processes on the same file safe.
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
  assertItemState,
  assertNamespace,
  isChronosError,
  isOp,
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

export type LocalMetadataStoreOptions = { basePath: string; busyTimeoutMs?: number } | { filename: string; busyTimeoutMs?: number };

/** File name used under `basePath`. */
export const METADATA_FILE = 'chronos-metadata.sqlite';

const FIELDS = ['created', 'updated', 'deleted'] as const;
const MAX_LIMIT = 100_000;
const STMT_CACHE = 200;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS chronos_heads (
  db_name TEXT NOT NULL, tenant TEXT NOT NULL, collection TEXT NOT NULL, item_id TEXT NOT NULL,
  ov INTEGER NOT NULL, deleted INTEGER NOT NULL, created_at INTEGER NOT NULL, state TEXT NOT NULL,
  doc TEXT NOT NULL, shadow TEXT,
  PRIMARY KEY (db_name, tenant, collection, item_id)
) WITHOUT ROWID;
-- findHeadsByState (TTL marking): the live heads of one state by last update, in keyset order
CREATE INDEX IF NOT EXISTS chronos_heads_state_at ON chronos_heads (db_name, tenant, collection, state, deleted, json_extract(doc, '$.at'), item_id);
CREATE TABLE IF NOT EXISTS chronos_versions (
  db_name TEXT NOT NULL, tenant TEXT NOT NULL, collection TEXT NOT NULL, item_id TEXT NOT NULL,
  ov INTEGER NOT NULL, cv INTEGER NOT NULL, at INTEGER NOT NULL, request_id TEXT,
  doc TEXT NOT NULL,
  PRIMARY KEY (db_name, tenant, collection, item_id, ov)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS chronos_versions_at ON chronos_versions (db_name, tenant, collection, item_id, at, ov);
CREATE INDEX IF NOT EXISTS chronos_versions_cv ON chronos_versions (db_name, tenant, collection, item_id, cv);
CREATE INDEX IF NOT EXISTS chronos_versions_feed ON chronos_versions (db_name, tenant, collection, cv);
CREATE INDEX IF NOT EXISTS chronos_versions_req ON chronos_versions (db_name, tenant, collection, request_id) WHERE request_id IS NOT NULL;
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

const NS = 'db_name = ? AND tenant = ? AND collection = ?';
/** A head's last update time, exactly as the index chronos_heads_state_at names it (so queries use it). */
const HEAD_AT = "json_extract(doc, '$.at')";

type Row = { doc: string };
type HeadRow = { doc: string; state: string; created_at: number; shadow: string | null };

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

function toHead(r: HeadRow): HeadDoc {
  const h = JSON.parse(r.doc) as HeadDoc;
  h.createdAt = r.created_at;
  h.state = r.state as ItemState;
  if (r.shadow !== null) h.shadow = JSON.parse(r.shadow) as HeadDoc['shadow'] & object;
  return h;
}

const toVersion = (r: Row): VersionDoc => JSON.parse(r.doc) as VersionDoc;

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

export class SqliteMetadataStore implements MetadataStore, CounterStore {
  readonly capabilities: MetadataCapabilities = { transactions: true };
  readonly filename: string;
  private readonly db: Database.Database;
  private readonly cache = new Map<string, Database.Statement>();
  private readonly s: Record<string, Database.Statement>;
  private readonly commitTx: Database.Transaction<(input: CommitInput) => number>;
  private readonly commitManyTx: Database.Transaction<(inputs: CommitInput[]) => CommitManyResult[]>;
  private readonly hardDeleteTx: Database.Transaction<(key: [string, string, string], itemId: string) => VersionDoc[]>;
  private readonly incrementTx: Database.Transaction<(key: [string, string, string], inc: CounterIncrement) => void>;
  private readonly feedTx: (key: [string, string, string], afterCv: number, limit: number) => ChangesPage;

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
      this.db.function('chronos_strcmp', { deterministic: true }, strcmp);
      this.db.transaction(() => this.db.exec(SCHEMA)).immediate();
    } catch (e) {
      throw mapError(e, 'open');
    }
    const db = this.db;
    const p = (sql: string) => db.prepare(sql);
    this.s = {
      headOv: p(`SELECT ov FROM chronos_heads WHERE ${NS} AND item_id = ?`),
      head: p(`SELECT doc, state, created_at, shadow FROM chronos_heads WHERE ${NS} AND item_id = ?`),
      bumpCv: p(`INSERT INTO chronos_cv (db_name, tenant, collection, cv) VALUES (?, ?, ?, 1)
                 ON CONFLICT (db_name, tenant, collection) DO UPDATE SET cv = cv + 1 RETURNING cv`),
      cv: p(`SELECT cv FROM chronos_cv WHERE ${NS}`),
      insVersion: p(`INSERT INTO chronos_versions (db_name, tenant, collection, item_id, ov, cv, at, request_id, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      insHead: p(
        `INSERT INTO chronos_heads (db_name, tenant, collection, item_id, ov, deleted, created_at, state, doc, shadow) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      updHead: p(`UPDATE chronos_heads SET ov = ?, deleted = ?, doc = ?, state = COALESCE(?, state),
                  shadow = CASE WHEN ? THEN ? ELSE shadow END WHERE ${NS} AND item_id = ?`),
      verByOv: p(`SELECT doc FROM chronos_versions WHERE ${NS} AND item_id = ? AND ov = ?`),
      verByAt: p(`SELECT doc FROM chronos_versions WHERE ${NS} AND item_id = ? AND at <= ? ORDER BY at DESC, ov DESC LIMIT 1`),
      verByCv: p(`SELECT doc FROM chronos_versions WHERE ${NS} AND item_id = ? AND cv <= ? ORDER BY cv DESC LIMIT 1`),
      list: p(`SELECT doc FROM chronos_versions WHERE ${NS} AND item_id = ? AND ov > ? ORDER BY ov ASC LIMIT ?`),
      listAsc: p(`SELECT doc FROM chronos_versions WHERE ${NS} AND item_id = ? AND ov > ? AND ov < ? ORDER BY ov ASC LIMIT ?`),
      listDesc: p(`SELECT doc FROM chronos_versions WHERE ${NS} AND item_id = ? AND ov > ? AND ov < ? ORDER BY ov DESC LIMIT ?`),
      feed: p(`SELECT doc FROM chronos_versions WHERE ${NS} AND cv > ? ORDER BY cv ASC LIMIT ?`),
      byReq: p(`SELECT doc FROM chronos_versions WHERE ${NS} AND request_id = ? ORDER BY cv ASC LIMIT 1`),
      setState: p(`UPDATE chronos_heads SET state = ? WHERE ${NS} AND item_id = ?`),
      delVersions: p(`DELETE FROM chronos_versions WHERE ${NS} AND item_id = ?`),
      delHead: p(`DELETE FROM chronos_heads WHERE ${NS} AND item_id = ?`),
      counters: p(`SELECT rule, created, updated, deleted FROM chronos_counters WHERE ${NS}`),
      resetCounters: p(`DELETE FROM chronos_counters WHERE ${NS}`),
      // counted once per (namespace, cv): the ledger of counted versions, and the base of a recount
      counted: p(`INSERT OR IGNORE INTO chronos_counted (db_name, tenant, collection, cv) VALUES (?, ?, ?, ?)`),
      counterBase: p(`SELECT cv FROM chronos_counter_base WHERE ${NS}`),
      setCounterBase: p(`INSERT INTO chronos_counter_base (db_name, tenant, collection, cv) VALUES (?, ?, ?, ?)
                         ON CONFLICT (db_name, tenant, collection) DO UPDATE SET cv = excluded.cv`),
      dropCounted: p(`DELETE FROM chronos_counted WHERE ${NS} AND cv <= ?`),
      setCounterRow: p(`INSERT INTO chronos_counters (db_name, tenant, collection, rule, created, updated, deleted) VALUES (?, ?, ?, ?, ?, ?, ?)`),
      ping: p('SELECT 1 AS ok'),
    };
    const inc: Record<string, Database.Statement> = {};
    for (const f of FIELDS) {
      // f is one of three constants, never input.
      inc[f] = p(`INSERT INTO chronos_counters (db_name, tenant, collection, rule, ${f}) VALUES (?, ?, ?, ?, 1)
                  ON CONFLICT (db_name, tenant, collection, rule) DO UPDATE SET ${f} = ${f} + 1`);
    }

    const s = this.s;
    this.commitTx = db.transaction((input: CommitInput): number => {
      const key = nsKey(input.ns);
      const v = input.version;
      const cur = s.headOv!.get(...key, v.itemId) as { ov: number } | undefined;
      if (input.expectedOv === null) {
        if (cur) throw new OptimisticLockError(`Record '${v.itemId}' already exists`, { id: v.itemId, actualOv: cur.ov });
      } else if (!cur || cur.ov !== input.expectedOv) {
        throw new OptimisticLockError(cur ? `Record '${v.itemId}' is at ov ${cur.ov}, expected ${input.expectedOv}` : `Record '${v.itemId}' does not exist`, {
          id: v.itemId,
          expectedOv: input.expectedOv,
          ...(cur ? { actualOv: cur.ov } : {}),
        });
      }
      const { cv } = s.bumpCv!.get(...key) as { cv: number };
      const doc = JSON.stringify({ ...v, cv });
      s.insVersion!.run(...key, v.itemId, v.ov, cv, v.at, v.requestId ?? null, doc);
      const h = input.head ?? {};
      const shadow = h.shadow === undefined || h.shadow === null ? null : JSON.stringify(h.shadow);
      if (input.expectedOv === null) {
        s.insHead!.run(...key, v.itemId, v.ov, v.deleted ? 1 : 0, h.createdAt, h.state ?? 'new-not-synched', doc, shadow);
      } else {
        s.updHead!.run(v.ov, v.deleted ? 1 : 0, doc, h.state ?? null, h.shadow === undefined ? 0 : 1, shadow, ...key, v.itemId);
      }
      return cv;
    });
    this.commitManyTx = db.transaction((inputs: CommitInput[]): CommitManyResult[] =>
      inputs.map((input): CommitManyResult => {
        try {
          return { ok: true, cv: this.commitTx(input) }; // nested: a savepoint
        } catch (e) {
          const err = mapError(e, 'commit');
          if (err instanceof OptimisticLockError) return { ok: false, error: err };
          throw err;
        }
      }),
    );
    this.hardDeleteTx = db.transaction((key: [string, string, string], itemId: string): VersionDoc[] => {
      const rows = s.list!.all(...key, itemId, -1, -1) as Row[];
      s.delVersions!.run(...key, itemId);
      s.delHead!.run(...key, itemId);
      return rows.map(toVersion);
    });
    const feedRead = db.transaction((key: [string, string, string], afterCv: number, limit: number): ChangesPage => {
      const versions = (s.feed!.all(...key, afterCv, limit) as Row[]).map(toVersion);
      if (versions.length === limit) return { versions, nextCv: versions[versions.length - 1]!.cv };
      const cur = s.cv!.get(...key) as { cv: number } | undefined;
      return { versions, nextCv: Math.max(afterCv, cur ? cur.cv : 0) };
    });
    this.feedTx = (key, afterCv, limit) => feedRead.deferred(key, afterCv, limit);
    this.incrementTx = db.transaction((key: [string, string, string], i: CounterIncrement) => {
      if (i.cv !== undefined) {
        const base = s.counterBase!.get(...key) as { cv: number } | undefined;
        if (base && i.cv <= base.cv) return; // a recount covers this version
        if (s.counted!.run(...key, i.cv).changes === 0) return; // counted already
      }
      const stmt = inc[i.field]!;
      stmt.run(...key, '');
      for (const rule of new Set(i.rules)) stmt.run(...key, rule);
    });
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
      nsKey(ns); // tables are shared by every namespace and created on open
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
      const key = nsKey(inputs[0]!.ns).join('\u0000');
      const seen = new Set<string>();
      for (const i of inputs) {
        if (nsKey(i.ns).join('\u0000') !== key) throw new ValidationError('commitMany takes commits of one namespace');
        if (seen.has(i.version.itemId)) throw new ValidationError(`commitMany takes one commit per record ('${i.version.itemId}' twice)`);
        seen.add(i.version.itemId);
      }
      return this.commitManyTx.immediate(inputs);
    });
  }

  private checkCommit(input: CommitInput): void {
    if (!input || typeof input !== 'object') throw new ValidationError('commit needs an input');
    nsKey(input.ns);
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
  }

  commit(input: CommitInput): Promise<CommitResult> {
    return this.run('commit', () => {
      this.checkCommit(input);
      return { cv: this.commitTx.immediate(input) };
    });
  }

  getHead(ns: Namespace, itemId: string): Promise<HeadDoc | null> {
    return this.run('getHead', () => {
      const key = nsKey(ns);
      assertId(itemId);
      const r = this.s.head!.get(...key, itemId) as HeadRow | undefined;
      return r ? toHead(r) : null;
    });
  }

  getVersion(ns: Namespace, itemId: string, sel: VersionSelector): Promise<VersionDoc | null> {
    return this.run('getVersion', () => {
      const key = nsKey(ns);
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
      return r ? toVersion(r) : null;
    });
  }

  /** Batched lookup by (itemId, ov) for collectGarbage: one primary-key read each, in one call. */
  findVersions(ns: Namespace, refs: ReadonlyArray<{ itemId: string; ov: number }>): Promise<VersionDoc[]> {
    return this.run('findVersions', () => {
      const key = nsKey(ns);
      if (!Array.isArray(refs) || refs.length > 1000) throw new ValidationError('findVersions takes an array of at most 1000 { itemId, ov }');
      const out: VersionDoc[] = [];
      for (const r of refs) {
        assertId(r?.itemId);
        const row = this.s.verByOv!.get(...key, r.itemId, finiteInt(r.ov, 'ov')) as Row | undefined;
        if (row) out.push(toVersion(row));
      }
      return out;
    });
  }

  listVersions(ns: Namespace, itemId: string, opts: ListVersionsOptions = {}): Promise<VersionDoc[]> {
    return this.run('listVersions', () => {
      const key = nsKey(ns);
      assertId(itemId);
      if (!opts || typeof opts !== 'object') throw new ValidationError('listVersions options must be an object');
      const after = opts.afterOv === undefined ? -1 : finiteInt(opts.afterOv, 'afterOv');
      const before = opts.beforeOv === undefined ? Number.MAX_SAFE_INTEGER : finiteInt(opts.beforeOv, 'beforeOv');
      const limit = opts.limit === undefined ? -1 : finiteInt(opts.limit, 'limit');
      const dir = opts.dir ?? 1;
      if (dir !== 1 && dir !== -1) throw new ValidationError('dir must be 1 or -1');
      // a range of the primary key (.., item_id, ov): constant cost per page whatever the chain's length
      return ((dir === 1 ? this.s.listAsc! : this.s.listDesc!).all(...key, itemId, after, before, limit) as Row[]).map(toVersion);
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
      const key = nsKey(ns);
      if (!q || typeof q !== 'object') throw new ValidationError('changesAfter needs { afterCv, limit }');
      const afterCv = finiteInt(q.afterCv, 'afterCv');
      const limit = finiteInt(q.limit, 'limit');
      if (limit < 1 || limit > MAX_LIMIT) throw new ValidationError(`limit must be from 1 to ${MAX_LIMIT}`);
      return this.feedTx(key, afterCv, limit);
    });
  }

  findByRequestId(ns: Namespace, requestId: string): Promise<VersionDoc | null> {
    return this.run('findByRequestId', () => {
      const key = nsKey(ns);
      if (typeof requestId !== 'string' || requestId.length === 0) throw new ValidationError('requestId must be a non-empty string');
      const r = this.s.byReq!.get(...key, requestId) as Row | undefined;
      return r ? toVersion(r) : null;
    });
  }

  queryHeads(ns: Namespace, q: QueryInput): Promise<HeadDoc[]> {
    return this.run('queryHeads', () => {
      const key = nsKey(ns);
      if (!q || typeof q !== 'object') throw new ValidationError('queryHeads needs a query');
      const limit = finiteInt(q.limit, 'limit');
      if (limit < 1 || limit > MAX_LIMIT) throw new ValidationError(`limit must be from 1 to ${MAX_LIMIT}`);
      const dir = q.dir ?? 1;
      if (dir !== 1 && dir !== -1) throw new ValidationError('dir must be 1 or -1');
      const where = [NS];
      const params: unknown[] = [...key];
      if (q.afterId !== undefined) {
        if (typeof q.afterId !== 'string') throw new ValidationError('afterId must be a string');
        where.push(dir === 1 ? 'item_id > ?' : 'item_id < ?');
        params.push(q.afterId);
      }
      if (!q.includeDeleted) where.push('deleted = 0');
      if (q.filter) {
        const f = filterToSql(q.filter, 'doc', 'metaIndexed');
        where.push(f.sql);
        params.push(...f.params);
      }
      params.push(limit);
      const sql = `SELECT doc, state, created_at, shadow FROM chronos_heads WHERE ${where.join(' AND ')} ORDER BY item_id ${dir === 1 ? 'ASC' : 'DESC'} LIMIT ?`;
      return (this.stmt(sql).all(...params) as HeadRow[]).map(toHead);
    });
  }

  /** One range of the expression index chronos_heads_state_at: (state, deleted, at, item_id), keyset by row value. */
  findHeadsByState(ns: Namespace, q: HeadsByStateInput): Promise<HeadDoc[]> {
    return this.run('findHeadsByState', () => {
      const key = nsKey(ns);
      assertHeadsByState(q);
      const after = q.after ? ` AND (${HEAD_AT}, item_id) > (?, ?)` : '';
      const sql = `SELECT doc, state, created_at, shadow FROM chronos_heads WHERE ${NS} AND state = ? AND deleted = 0 AND ${HEAD_AT} <= ?${after}
                   ORDER BY ${HEAD_AT}, item_id LIMIT ?`;
      const params: unknown[] = [...key, q.state, q.atOrBefore, ...(q.after ? [q.after.at, q.after.itemId] : []), q.limit];
      return (this.stmt(sql).all(...params) as HeadRow[]).map(toHead);
    });
  }

  currentCv(ns: Namespace): Promise<number> {
    return this.run('currentCv', () => {
      const r = this.s.cv!.get(...nsKey(ns)) as { cv: number } | undefined;
      return r ? r.cv : 0;
    });
  }

  setState(ns: Namespace, itemId: string, state: ItemState): Promise<boolean> {
    return this.run('setState', () => {
      const key = nsKey(ns);
      assertId(itemId);
      checkState(state);
      return this.s.setState!.run(state, ...key, itemId).changes > 0;
    });
  }

  hardDelete(ns: Namespace, itemId: string): Promise<VersionDoc[]> {
    return this.run('hardDelete', () => {
      const key = nsKey(ns);
      assertId(itemId);
      return this.hardDeleteTx.immediate(key, itemId);
    });
  }

  incrementCounters(scope: CounterScope, inc: CounterIncrement): Promise<void> {
    return this.run('incrementCounters', () => {
      const key = nsKey(scope);
      if (!inc || !FIELDS.includes(inc.field)) throw new ValidationError('counter field must be created, updated or deleted');
      if (!Array.isArray(inc.rules) || inc.rules.some((r) => typeof r !== 'string' || r.length === 0 || r.length > 128)) {
        throw new ValidationError('counter rules must be non-empty names');
      }
      if (inc.cv !== undefined && (!Number.isSafeInteger(inc.cv) || inc.cv < 0)) throw new ValidationError('counter cv must be a non-negative integer');
      this.incrementTx.immediate(key, inc);
    });
  }

  /** Replaces the totals with the count of `source.events` (see CounterStore.recountCounters): one transaction. */
  async recountCounters(scope: CounterScope, source: CounterRecount): Promise<CounterTotals> {
    const key = await this.run('recountCounters', () => nsKey(scope));
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
          s.resetCounters!.run(...key);
          for (const [rule, r] of rows) s.setCounterRow!.run(...key, rule, r.created, r.updated, r.deleted);
          s.setCounterBase!.run(...key, source.upToCv);
          s.dropCounted!.run(...key, source.upToCv);
        })
        .immediate(),
    );
    return this.getCounters(scope);
  }

  getCounters(scope: CounterScope): Promise<CounterTotals> {
    return this.run('getCounters', () => {
      const rows = this.s.counters!.all(...nsKey(scope)) as Array<{ rule: string; created: number; updated: number; deleted: number }>;
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
      this.s.resetCounters!.run(...nsKey(scope));
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
