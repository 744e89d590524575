/**
 * BlobStore of the embedded default: payloads up to `inlineMaxBytes`
 * (default 256 KiB) are rows of one SQLite table, larger ones are files
 * (`<basePath>/<bucketRole>/<key>`, the layout of LocalBlobStore). A small
 * payload costs its bytes plus a row, not three folders and a file, and no
 * fsync of its own when `deferSync` is set (see below).
 *
 * Folders written before (every payload a file) keep working: reads, heads,
 * lists and deletes look in both places (a row wins over a file of the same
 * key); `compact()` moves small files into the table, crash-safe (row
 * committed first, file removed after).
 *
 * Rows: payloads up to `SMALL_ROW_MAX` bytes are rows of `chronos_payloads`
 * (WITHOUT ROWID: the key is stored once, no rowid and no second index);
 * larger inline payloads are rows of `chronos_blobs` (a rowid table, whose
 * big bodies do not weigh on the key's B-tree). Reads look in both tables
 * and then the files, so folders written by every earlier layout read.
 *
 * `metadata`: the store shares the connection of a SqliteMetadataStore on the
 * same file (the embedded default) and links to it (`payloadLink`): the
 * engine then hands small payloads to the metadata commit, which writes them
 * in the commit's own transaction, so a create is one transaction and one
 * fsync, and a payload exists exactly when its version does.
 *
 * `deferSync` (a standalone store on the metadata file, without `metadata`):
 * puts commit with `synchronous = NORMAL` (no fsync) and the metadata commit
 * that follows each put makes both durable with its fsync of the shared WAL.
 * A process crash (SIGKILL) loses nothing either way; only a power loss before
 * the metadata commit can drop a payload no version names.
 */
import { mkdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type Database from 'better-sqlite3';
import {
  OptimisticLockError,
  StorageError,
  ValidationError,
  assertBlobKey,
  assertBucketRole,
  assertByteRange,
  blobPrefixParts,
  isChronosError,
  type BlobCapabilities,
  type BlobHead,
  type BlobListEntry,
  type BlobStore,
  type BucketRole,
  type PutOptions,
} from '@chronos-db/core';
import { openSqlite } from './sqlite-open.js';
import { scrubSqlite } from './sqlite-lifecycle.js';
import { LocalBlobStore, purgeListed } from './fs-blob-store.js';

/** Payloads up to this size (bytes) are kept inside SQLite by default; larger ones are files. */
export const INLINE_MAX_BYTES = 256 * 1024;
/** The SQLite file of a standalone blob store, under its basePath. */
export const BLOBS_FILE = 'chronos-blobs.sqlite';
/** Payloads up to this size are rows of the key-ordered `chronos_payloads` table (they fit a B-tree cell of a 4 KiB page). */
export const SMALL_ROW_MAX = 896;

/** A payload the metadata store writes inside a commit's transaction (see `SqliteBlobStore.writeInCommit`). */
export interface InlinePayload {
  role: BucketRole;
  key: string;
  body: Uint8Array;
}

/** The part of SqliteMetadataStore a linked blob store uses: its connection and the link. */
export interface PayloadHost {
  readonly connection: Database.Database;
  readonly filename: string;
  linkPayloads(writer: SqliteBlobStore): void;
}

const PAYLOADS_SCHEMA = `CREATE TABLE IF NOT EXISTS chronos_blobs (
  role TEXT NOT NULL, key TEXT NOT NULL, size INTEGER NOT NULL, mtime INTEGER NOT NULL, body BLOB NOT NULL,
  PRIMARY KEY (role, key));
CREATE TABLE IF NOT EXISTS chronos_payloads (
  role TEXT NOT NULL, key TEXT NOT NULL, size INTEGER NOT NULL, mtime INTEGER NOT NULL, body BLOB NOT NULL,
  PRIMARY KEY (role, key)) WITHOUT ROWID;`;

export interface SqliteBlobStoreOptions {
  /** Folder of the large payloads (and of every payload of the older, files-only layout). */
  basePath: string;
  /** SQLite file of the small payloads. Default `<basePath>/chronos-blobs.sqlite`. */
  filename?: string;
  /** Largest payload kept inside SQLite, in bytes (0: every payload a file). Default 256 KiB. */
  inlineMaxBytes?: number;
  /** Commit puts without an fsync: only when a metadata commit on the same SQLite file follows each put. */
  deferSync?: boolean;
  busyTimeoutMs?: number;
  /**
   * The metadata store of the same file (createLocalStorage and chronos-db's embedded store pass it):
   * the blob store uses its connection (`filename` and `deferSync` do not apply) and small payloads
   * of a commit are written in the commit's transaction.
   */
  metadata?: PayloadHost;
}

const LIST_PAGE = 500;

/** What a write with ifNoneMatch (or a commit's payload) gets for a key that exists. */
const alreadyExists = (role: BucketRole, key: string): OptimisticLockError =>
  new OptimisticLockError(`Object '${role}/${key}' already exists`, { bucket: role, key });

function mapError(op: string, role: string, key: string, e: unknown): Error {
  if (isChronosError(e)) return e;
  const code = (e as { code?: unknown } | undefined)?.code;
  return new StorageError(
    `SQLite ${op} of '${role}/${key}' failed${typeof code === 'string' ? ` (${code})` : ''}`,
    { bucket: role, key, ...(typeof code === 'string' ? { code } : {}) },
    { cause: e },
  );
}

export class SqliteBlobStore implements BlobStore {
  readonly capabilities: BlobCapabilities = { conditionalWrite: true, presign: false };
  readonly filename: string;
  readonly inlineMaxBytes: number;
  /** Set when linked to a metadata store (the same object there): the engine then passes small payloads to its commits. */
  readonly payloadLink?: { readonly maxBytes: number };
  private readonly files: LocalBlobStore;
  private readonly base: string;
  private readonly db: Database.Database;
  private readonly ownsDb: boolean;
  /** Roles whose folder existed at open or was written since: others cannot hold files of this store. */
  private readonly roleDirs = new Map<BucketRole, boolean>();
  private queue: Array<{ role: BucketRole; key: string; body: Uint8Array; ifNoneMatch: boolean; resolve: () => void; reject: (e: Error) => void }> = [];
  private readonly putTx: Database.Transaction<(q: SqliteBlobStore['queue']) => Array<Error | null>>;
  private readonly s: Record<
    | 'exists'
    | 'get'
    | 'getBig'
    | 'range'
    | 'rangeBig'
    | 'head'
    | 'headBig'
    | 'insert'
    | 'insertBig'
    | 'insertNew'
    | 'insertNewBig'
    | 'upsert'
    | 'upsertBig'
    | 'del'
    | 'delBig'
    | 'pageFirst'
    | 'pageNext'
    | 'pageFirstBig'
    | 'pageNextBig',
    Database.Statement
  >;

  constructor(opts: SqliteBlobStoreOptions) {
    if (!opts || typeof opts.basePath !== 'string' || opts.basePath.length === 0) throw new ValidationError('createSqliteBlobStore needs a basePath');
    const max = opts.inlineMaxBytes ?? INLINE_MAX_BYTES;
    if (!Number.isSafeInteger(max) || max < 0 || max > 64 * 1024 * 1024) throw new ValidationError('inlineMaxBytes must be an integer from 0 to 64 MiB');
    this.inlineMaxBytes = max;
    this.base = resolve(opts.basePath);
    this.files = new LocalBlobStore({ basePath: this.base });
    const busy = opts.busyTimeoutMs ?? 10_000;
    const host = opts.metadata;
    this.filename = host ? host.filename : opts.filename ? resolve(opts.filename) : join(this.base, BLOBS_FILE);
    this.ownsDb = !host;
    try {
      mkdirSync(this.base, { recursive: true });
      if (host) this.db = host.connection;
      else {
        this.db = openSqlite(this.filename, { timeout: busy });
        this.db.pragma(`busy_timeout = ${Math.max(0, Math.floor(busy))}`);
        this.db.pragma('journal_mode = WAL');
        this.db.pragma(`synchronous = ${opts.deferSync ? 'NORMAL' : 'FULL'}`);
        // erasure: deleted bodies are overwritten with zeros, not left in free pages
        this.db.pragma('secure_delete = ON');
      }
      this.db.transaction(() => this.db.exec(PAYLOADS_SCHEMA)).immediate();
      for (const role of ['json', 'content', 'backups'] as const)
        this.roleDirs.set(role, statSync(join(this.base, role), { throwIfNoEntry: false })?.isDirectory() ?? false);
    } catch (e) {
      throw mapError('open', '', this.filename, e);
    }
    const p = (sql: string) => this.db.prepare(sql);
    const t = (sql: string) => [p(sql.replace('$T', 'chronos_payloads')), p(sql.replace('$T', 'chronos_blobs'))] as const;
    const [get, getBig] = t('SELECT body FROM $T WHERE role = ? AND key = ?');
    const [range, rangeBig] = t('SELECT substr(body, ?, ?) AS body FROM $T WHERE role = ? AND key = ?');
    const [head, headBig] = t('SELECT size, mtime FROM $T WHERE role = ? AND key = ?');
    const [insert, insertBig] = t('INSERT INTO $T (role, key, size, mtime, body) VALUES (?, ?, ?, ?, ?)');
    // an insert that also refuses a key the other table holds (no row: changes = 0)
    const insertNew = p(
      'INSERT INTO chronos_payloads (role, key, size, mtime, body) SELECT ?, ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM chronos_blobs WHERE role = ? AND key = ?)',
    );
    const insertNewBig = p(
      'INSERT INTO chronos_blobs (role, key, size, mtime, body) SELECT ?, ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM chronos_payloads WHERE role = ? AND key = ?)',
    );
    const [upsert, upsertBig] = t('INSERT OR REPLACE INTO $T (role, key, size, mtime, body) VALUES (?, ?, ?, ?, ?)');
    const [del, delBig] = t('DELETE FROM $T WHERE role = ? AND key = ?');
    const [pageFirst, pageFirstBig] = t('SELECT key, size, mtime FROM $T WHERE role = ? AND key >= ? AND key < ? ORDER BY key LIMIT ?');
    const [pageNext, pageNextBig] = t('SELECT key, size, mtime FROM $T WHERE role = ? AND key > ? AND key < ? ORDER BY key LIMIT ?');
    const exists = p(
      'SELECT EXISTS (SELECT 1 FROM chronos_payloads WHERE role = ? AND key = ?) OR EXISTS (SELECT 1 FROM chronos_blobs WHERE role = ? AND key = ?) AS x',
    );
    this.s = {
      exists,
      get,
      getBig,
      range,
      rangeBig,
      head,
      headBig,
      insert,
      insertBig,
      insertNew,
      insertNewBig,
      upsert,
      upsertBig,
      del,
      delBig,
      pageFirst,
      pageNext,
      pageFirstBig,
      pageNextBig,
    };
    this.putTx = this.db.transaction((q: SqliteBlobStore['queue']) =>
      q.map(({ role, key, body, ifNoneMatch }): Error | null => {
        try {
          if (ifNoneMatch && this.rowExists(role, key)) return alreadyExists(role, key);
          this.writeRow(role, key, body, false);
          return null;
        } catch (e) {
          const code = (e as { code?: unknown }).code;
          if (typeof code === 'string' && code.startsWith('SQLITE_CONSTRAINT')) return alreadyExists(role, key);
          throw e;
        }
      }),
    );
    if (host) {
      this.payloadLink = { maxBytes: max };
      host.linkPayloads(this);
    }
  }

  private rowExists(role: BucketRole, key: string): boolean {
    return (this.s.exists.get(role, key, role, key) as { x: number }).x === 1;
  }

  /** One row in the table its size belongs to; an overwrite removes the key from the other table. */
  private writeRow(role: BucketRole, key: string, body: Uint8Array, insertOnly: boolean): void {
    const small = body.byteLength <= SMALL_ROW_MAX;
    const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    const args = [role, key, body.byteLength, Date.now(), buf] as const;
    if (insertOnly) (small ? this.s.insert : this.s.insertBig).run(...args);
    else {
      (small ? this.s.upsert : this.s.upsertBig).run(...args);
      (small ? this.s.delBig : this.s.del).run(role, key);
    }
  }

  /**
   * Called by the linked metadata store inside its commit transaction (same connection):
   * checks that no key exists (as a row, or as a file of a role folder this store has seen),
   * then inserts the rows. An existing key: an OptimisticLockError and nothing written.
   */
  writeInCommit(payloads: readonly InlinePayload[]): OptimisticLockError | null {
    if (payloads.length === 1) {
      // one payload (a commit's usual case): one statement checks and inserts. The row's own table refuses
      // an existing key by its primary key, the other table's row by the statement's NOT EXISTS; either
      // way nothing is written, so a refusal still comes before the commit's first write
      const x = payloads[0]!;
      if (this.roleDirs.get(x.role) !== false && this.fileExists(x.role, x.key)) return alreadyExists(x.role, x.key);
      const small = x.body.byteLength <= SMALL_ROW_MAX;
      const buf = Buffer.from(x.body.buffer, x.body.byteOffset, x.body.byteLength);
      try {
        const r = (small ? this.s.insertNew : this.s.insertNewBig).run(x.role, x.key, x.body.byteLength, Date.now(), buf, x.role, x.key);
        return r.changes === 1 ? null : alreadyExists(x.role, x.key);
      } catch (e) {
        const code = (e as { code?: unknown }).code;
        if (typeof code === 'string' && code.startsWith('SQLITE_CONSTRAINT')) return alreadyExists(x.role, x.key);
        throw e;
      }
    }
    for (const x of payloads) {
      if (this.rowExists(x.role, x.key) || (this.roleDirs.get(x.role) !== false && this.fileExists(x.role, x.key))) return alreadyExists(x.role, x.key);
    }
    for (const x of payloads) this.writeRow(x.role, x.key, x.body, true);
    return null;
  }

  /** Validates payloads handed to a commit (before its transaction). */
  checkInline(payloads: unknown): void {
    if (!Array.isArray(payloads)) throw new ValidationError('commit payloads must be an array');
    for (const x of payloads as InlinePayload[]) {
      if (!x || typeof x !== 'object') throw new ValidationError('a commit payload must be { role, key, body }');
      this.check(x.role, x.key);
      if (!(x.body instanceof Uint8Array)) throw new ValidationError('a commit payload body must be a Uint8Array');
      if (x.body.byteLength > this.inlineMaxBytes) throw new ValidationError(`a commit payload is over the inline limit (${this.inlineMaxBytes} bytes)`);
    }
  }

  private check(role: BucketRole, key: string): void {
    assertBucketRole(role);
    assertBlobKey(key);
  }

  /** Whether the key exists as a file (older layout or a large payload), without reading it. */
  private fileExists(role: BucketRole, key: string): boolean {
    try {
      return statSync(join(this.base, role, ...key.split('/')), { throwIfNoEntry: false })?.isFile() ?? false;
    } catch {
      return false;
    }
  }

  async put(role: BucketRole, key: string, body: Uint8Array, opts: PutOptions = {}): Promise<void> {
    this.check(role, key);
    if (!(body instanceof Uint8Array)) throw new ValidationError('put body must be a Uint8Array');
    if (body.byteLength > this.inlineMaxBytes) {
      if (opts.ifNoneMatch && this.rowExists(role, key)) throw alreadyExists(role, key);
      this.roleDirs.set(role, true);
      await this.files.put(role, key, body, opts);
      if (!opts.ifNoneMatch) {
        this.s.del.run(role, key);
        this.s.delBig.run(role, key);
      }
      return;
    }
    const had = this.fileExists(role, key);
    if (opts.ifNoneMatch && had) throw alreadyExists(role, key);
    await this.enqueue(role, key, body, !!opts.ifNoneMatch);
    if (had) await this.files.delete(role, key); // an overwrite replaces the older file
  }

  /**
   * Inline puts issued in the same tick (createMany's parallel PUTs) commit
   * in one transaction; each row still succeeds or fails on its own.
   */
  private enqueue(role: BucketRole, key: string, body: Uint8Array, ifNoneMatch: boolean): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ role, key, body, ifNoneMatch, resolve, reject });
      if (this.queue.length === 1) queueMicrotask(() => this.flush());
    });
  }

  private flush(): void {
    const q = this.queue;
    this.queue = [];
    let outcomes: Array<Error | null>;
    try {
      outcomes = this.putTx.immediate(q);
    } catch (e) {
      for (const p of q) p.reject(mapError('write', p.role, p.key, e));
      return;
    }
    q.forEach((p, i) => (outcomes[i] ? p.reject(outcomes[i]!) : p.resolve()));
  }

  async get(role: BucketRole, key: string): Promise<Uint8Array> {
    this.check(role, key);
    let row: { body: Buffer } | undefined;
    try {
      row = (this.s.get.get(role, key) ?? this.s.getBig.get(role, key)) as { body: Buffer } | undefined;
    } catch (e) {
      throw mapError('read', role, key, e);
    }
    if (row) return new Uint8Array(row.body.buffer, row.body.byteOffset, row.body.byteLength);
    return this.files.get(role, key);
  }

  /** `length` bytes from `offset`: a substring of the row, or a read of the file. */
  async getRange(role: BucketRole, key: string, offset: number, length: number): Promise<Uint8Array> {
    this.check(role, key);
    assertByteRange(offset, length);
    let row: { body: Buffer } | undefined;
    try {
      row =
        length === 0
          ? undefined
          : ((this.s.range.get(offset + 1, length, role, key) ?? this.s.rangeBig.get(offset + 1, length, role, key)) as { body: Buffer } | undefined);
    } catch (e) {
      throw mapError('read', role, key, e);
    }
    if (row) return new Uint8Array(row.body.buffer, row.body.byteOffset, row.body.byteLength);
    if (length === 0 && (await this.head(role, key))) return new Uint8Array(0);
    return this.files.getRange(role, key, offset, length);
  }

  async head(role: BucketRole, key: string): Promise<BlobHead | null> {
    this.check(role, key);
    let row: { size: number; mtime: number } | undefined;
    try {
      row = (this.s.head.get(role, key) ?? this.s.headBig.get(role, key)) as { size: number; mtime: number } | undefined;
    } catch (e) {
      throw mapError('stat', role, key, e);
    }
    if (row) return { size: row.size, lastModified: new Date(row.mtime) };
    return this.files.head(role, key);
  }

  async delete(role: BucketRole, key: string): Promise<void> {
    this.check(role, key);
    try {
      this.s.del.run(role, key);
      this.s.delBig.run(role, key);
    } catch (e) {
      throw mapError('delete', role, key, e);
    }
    await this.files.delete(role, key);
  }

  /** Deletes every object under `prefix`, rows and files (erasure); `scrub` then empties the write-ahead log. */
  purgePrefix(role: BucketRole, prefix: string): Promise<number> {
    return purgeListed(this, role, prefix);
  }

  /** Checkpoints and truncates the write-ahead log (with secure_delete on, deleted bodies leave the files). */
  async scrub(): Promise<boolean> {
    try {
      return await scrubSqlite(this.db);
    } catch (e) {
      throw mapError('scrub', '', this.filename, e);
    }
  }

  list(role: BucketRole, prefix: string): AsyncIterable<BlobListEntry> {
    assertBucketRole(role);
    blobPrefixParts(prefix); // validates like the files layer
    return mergeSorted(mergeSorted(this.rows(role, prefix, false), this.rows(role, prefix, true)), this.files.list(role, prefix));
  }

  private async *rows(role: BucketRole, prefix: string, big: boolean): AsyncGenerator<BlobListEntry> {
    const first = big ? this.s.pageFirstBig : this.s.pageFirst;
    const next = big ? this.s.pageNextBig : this.s.pageNext;
    // Keys use [A-Za-z0-9._/-] only, all below '\x7f': [prefix, prefix + '\x7f') is the prefix's range.
    const upper = `${prefix}\u007f`;
    let after: string | undefined;
    for (;;) {
      let rows: { key: string; size: number; mtime: number }[];
      try {
        rows = (after === undefined ? first.all(role, prefix, upper, LIST_PAGE) : next.all(role, after, upper, LIST_PAGE)) as typeof rows;
      } catch (e) {
        throw mapError('list', role, prefix, e);
      }
      for (const r of rows) yield { key: r.key, size: r.size, lastModified: new Date(r.mtime) };
      if (rows.length < LIST_PAGE) return;
      after = rows[rows.length - 1]!.key;
    }
  }

  /**
   * Moves files of the older layout up to `inlineMaxBytes` into the table
   * (row committed, then file removed; a crash in between leaves a file that
   * the row shadows and a rerun removes). Larger files stay files.
   */
  async compact(opts: { dryRun?: boolean } = {}): Promise<{ moved: number; movedBytes: number; keptAsFiles: number }> {
    let moved = 0;
    let movedBytes = 0;
    let keptAsFiles = 0;
    for (const role of ['json', 'content', 'backups'] as const) {
      for await (const e of this.files.list(role, '')) {
        if (e.size > this.inlineMaxBytes) {
          keptAsFiles++;
          continue;
        }
        moved++;
        movedBytes += e.size;
        if (opts.dryRun) continue;
        if (!this.rowExists(role, e.key)) {
          const body = await this.files.get(role, e.key);
          const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
          try {
            (body.byteLength <= SMALL_ROW_MAX ? this.s.insert : this.s.insertBig).run(role, e.key, body.byteLength, e.lastModified.getTime(), buf);
          } catch (err) {
            throw mapError('compact', role, e.key, err);
          }
        }
        await this.files.delete(role, e.key);
      }
    }
    return { moved, movedBytes, keptAsFiles };
  }

  /** Closes its own connection; a connection shared with the metadata store is closed by that store. */
  async close(): Promise<void> {
    if (this.ownsDb && this.db.open) this.db.close();
  }
}

/** Two key-ordered streams as one; a key in both is yielded once (the first stream's entry). */
async function* mergeSorted(a: AsyncIterable<BlobListEntry>, b: AsyncIterable<BlobListEntry>): AsyncGenerator<BlobListEntry> {
  const ia = a[Symbol.asyncIterator]();
  const ib = b[Symbol.asyncIterator]();
  let x = await ia.next();
  let y = await ib.next();
  while (!x.done || !y.done) {
    if (y.done || (!x.done && x.value.key <= y.value.key)) {
      if (!y.done && !x.done && x.value.key === y.value.key) y = await ib.next();
      yield x.value!;
      x = await ia.next();
    } else {
      yield y.value;
      y = await ib.next();
    }
  }
}

export function createSqliteBlobStore(opts: SqliteBlobStoreOptions): SqliteBlobStore {
  return new SqliteBlobStore(opts);
}
