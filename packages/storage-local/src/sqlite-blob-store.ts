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
 * `deferSync`: the table lives in the metadata store's SQLite file and every
 * put is followed by a metadata commit on that file (chronos-db's embedded
 * store). The put then commits with `synchronous = NORMAL` (no fsync) and the
 * metadata commit's fsync of the shared WAL makes both durable: one fsync
 * per create. A process crash (SIGKILL) loses nothing either way; only a
 * power loss before the metadata commit can drop a payload no version names.
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
import { LocalBlobStore } from './fs-blob-store.js';

/** Payloads up to this size (bytes) are kept inside SQLite by default; larger ones are files. */
export const INLINE_MAX_BYTES = 256 * 1024;
/** The SQLite file of a standalone blob store, under its basePath. */
export const BLOBS_FILE = 'chronos-blobs.sqlite';

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
}

const LIST_PAGE = 500;

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
  private readonly files: LocalBlobStore;
  private readonly base: string;
  private readonly db: Database.Database;
  private queue: Array<{ role: BucketRole; key: string; body: Uint8Array; ifNoneMatch: boolean; resolve: () => void; reject: (e: Error) => void }> = [];
  private readonly putTx: Database.Transaction<(q: SqliteBlobStore['queue']) => Array<Error | null>>;
  private readonly s: Record<'get' | 'head' | 'insert' | 'upsert' | 'del' | 'pageFirst' | 'pageNext', Database.Statement>;

  constructor(opts: SqliteBlobStoreOptions) {
    if (!opts || typeof opts.basePath !== 'string' || opts.basePath.length === 0) throw new ValidationError('createSqliteBlobStore needs a basePath');
    const max = opts.inlineMaxBytes ?? INLINE_MAX_BYTES;
    if (!Number.isSafeInteger(max) || max < 0 || max > 64 * 1024 * 1024) throw new ValidationError('inlineMaxBytes must be an integer from 0 to 64 MiB');
    this.inlineMaxBytes = max;
    this.base = resolve(opts.basePath);
    this.files = new LocalBlobStore({ basePath: this.base });
    this.filename = opts.filename ? resolve(opts.filename) : join(this.base, BLOBS_FILE);
    const busy = opts.busyTimeoutMs ?? 10_000;
    try {
      mkdirSync(this.base, { recursive: true });
      this.db = openSqlite(this.filename, { timeout: busy });
      this.db.pragma(`busy_timeout = ${Math.max(0, Math.floor(busy))}`);
      this.db.pragma('journal_mode = WAL');
      this.db.pragma(`synchronous = ${opts.deferSync ? 'NORMAL' : 'FULL'}`);
      this.db.exec(`CREATE TABLE IF NOT EXISTS chronos_blobs (
        role TEXT NOT NULL, key TEXT NOT NULL, size INTEGER NOT NULL, mtime INTEGER NOT NULL, body BLOB NOT NULL,
        PRIMARY KEY (role, key))`);
    } catch (e) {
      throw mapError('open', '', this.filename, e);
    }
    const p = (sql: string) => this.db.prepare(sql);
    this.s = {
      get: p('SELECT body FROM chronos_blobs WHERE role = ? AND key = ?'),
      head: p('SELECT size, mtime FROM chronos_blobs WHERE role = ? AND key = ?'),
      insert: p('INSERT INTO chronos_blobs (role, key, size, mtime, body) VALUES (?, ?, ?, ?, ?)'),
      upsert: p('INSERT OR REPLACE INTO chronos_blobs (role, key, size, mtime, body) VALUES (?, ?, ?, ?, ?)'),
      del: p('DELETE FROM chronos_blobs WHERE role = ? AND key = ?'),
      pageFirst: p('SELECT key, size, mtime FROM chronos_blobs WHERE role = ? AND key >= ? AND key < ? ORDER BY key LIMIT ?'),
      pageNext: p('SELECT key, size, mtime FROM chronos_blobs WHERE role = ? AND key > ? AND key < ? ORDER BY key LIMIT ?'),
    };
    this.putTx = this.db.transaction((q: SqliteBlobStore['queue']) =>
      q.map(({ role, key, body, ifNoneMatch }): Error | null => {
        try {
          (ifNoneMatch ? this.s.insert : this.s.upsert).run(role, key, body.byteLength, Date.now(), Buffer.from(body.buffer, body.byteOffset, body.byteLength));
          return null;
        } catch (e) {
          const code = (e as { code?: unknown }).code;
          if (typeof code === 'string' && code.startsWith('SQLITE_CONSTRAINT'))
            return new OptimisticLockError(`Object '${role}/${key}' already exists`, { bucket: role, key });
          throw e;
        }
      }),
    );
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
      if (opts.ifNoneMatch && this.s.head.get(role, key)) throw new OptimisticLockError(`Object '${role}/${key}' already exists`, { bucket: role, key });
      await this.files.put(role, key, body, opts);
      if (!opts.ifNoneMatch) this.s.del.run(role, key);
      return;
    }
    const had = this.fileExists(role, key);
    if (opts.ifNoneMatch && had) throw new OptimisticLockError(`Object '${role}/${key}' already exists`, { bucket: role, key });
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
      row = this.s.get.get(role, key) as { body: Buffer } | undefined;
    } catch (e) {
      throw mapError('read', role, key, e);
    }
    if (row) return new Uint8Array(row.body.buffer, row.body.byteOffset, row.body.byteLength);
    return this.files.get(role, key);
  }

  async head(role: BucketRole, key: string): Promise<BlobHead | null> {
    this.check(role, key);
    let row: { size: number; mtime: number } | undefined;
    try {
      row = this.s.head.get(role, key) as { size: number; mtime: number } | undefined;
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
    } catch (e) {
      throw mapError('delete', role, key, e);
    }
    await this.files.delete(role, key);
  }

  list(role: BucketRole, prefix: string): AsyncIterable<BlobListEntry> {
    assertBucketRole(role);
    blobPrefixParts(prefix); // validates like the files layer
    return mergeSorted(this.rows(role, prefix), this.files.list(role, prefix));
  }

  private async *rows(role: BucketRole, prefix: string): AsyncGenerator<BlobListEntry> {
    // Keys use [A-Za-z0-9._/-] only, all below '\x7f': [prefix, prefix + '\x7f') is the prefix's range.
    const upper = `${prefix}\u007f`;
    let after: string | undefined;
    for (;;) {
      let rows: { key: string; size: number; mtime: number }[];
      try {
        rows = (after === undefined ? this.s.pageFirst.all(role, prefix, upper, LIST_PAGE) : this.s.pageNext.all(role, after, upper, LIST_PAGE)) as typeof rows;
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
        if (!this.s.head.get(role, e.key)) {
          const body = await this.files.get(role, e.key);
          const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
          try {
            this.s.insert.run(role, e.key, body.byteLength, e.lastModified.getTime(), buf);
          } catch (err) {
            throw mapError('compact', role, e.key, err);
          }
        }
        await this.files.delete(role, e.key);
      }
    }
    return { moved, movedBytes, keptAsFiles };
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
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
