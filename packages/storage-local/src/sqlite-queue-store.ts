/**
 * The fallback queue's local durable journal: a QueueStore on SQLite
 * (better-sqlite3, WAL, synchronous = FULL, so an enqueue that returned is on
 * disk). A worker's claim, complete and release are committed without the
 * fsync (synchronous = NORMAL: durable across a process crash, and made
 * durable by the next synced commit): losing one to a power cut only means a
 * lease that expires or an idempotent re-apply, and it halves the fsyncs of a
 * drain. Enqueue, dead-lettering, retry and cancel stay synced. Every transition is one `BEGIN IMMEDIATE` transaction, so several
 * processes on the same file never hold the same op; a dead letter is moved
 * by one transaction (live or dead, never both, never neither).
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type Database from 'better-sqlite3';
import { openSqlite } from './sqlite-open.js';
import { scrubSqlite } from './sqlite-lifecycle.js';
import {
  NotFoundError,
  QueueClaimedError,
  StorageError,
  ValidationError,
  assertDeadLetterBody,
  assertOpId,
  assertOrderKeys,
  assertQueueOpInput,
  boundedQueueError,
  claimLimit,
  isChronosError,
  newOpId,
  queuePage,
  type ClaimOptions,
  type ClaimedOp,
  type DeadLetterOp,
  type QueueBody,
  type QueueErrorInfo,
  type QueueOpInput,
  type QueuePageOptions,
  type QueueStats,
  type QueueStore,
  type QueuedOp,
} from '@chronos-db/core';

export interface LocalQueueStoreOptions {
  /** Folder of the journal (created when missing); the file is `queue.sqlite` in it. */
  path: string;
  busyTimeoutMs?: number;
  /** Clock in epoch ms (tests). */
  clock?: () => number;
}

export const QUEUE_FILE = 'queue.sqlite';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS q_ops (
  id TEXT PRIMARY KEY, order_key TEXT NOT NULL, key_seq INTEGER NOT NULL, request_id TEXT NOT NULL UNIQUE,
  body TEXT NOT NULL, attempts INTEGER NOT NULL, enqueued_at INTEGER NOT NULL, not_before INTEGER NOT NULL,
  owner TEXT, expires_at INTEGER, last_error TEXT
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS q_ops_key ON q_ops (order_key, key_seq);
CREATE INDEX IF NOT EXISTS q_ops_ready ON q_ops (not_before);
CREATE TABLE IF NOT EXISTS q_dead (
  id TEXT PRIMARY KEY, order_key TEXT NOT NULL, request_id TEXT NOT NULL, body TEXT NOT NULL,
  attempts INTEGER NOT NULL, enqueued_at INTEGER NOT NULL, dead_at INTEGER NOT NULL, last_error TEXT NOT NULL
) WITHOUT ROWID;
`;

interface OpRow {
  id: string;
  order_key: string;
  key_seq: number;
  request_id: string;
  body: string;
  attempts: number;
  enqueued_at: number;
  not_before: number;
  owner: string | null;
  expires_at: number | null;
  last_error: string | null;
}
interface DeadRow {
  id: string;
  order_key: string;
  request_id: string;
  body: string;
  attempts: number;
  enqueued_at: number;
  dead_at: number;
  last_error: string;
}

const errText = (e: QueueErrorInfo): string => JSON.stringify(boundedQueueError(e));

function toOp(r: OpRow, now: number): QueuedOp {
  const held = r.owner !== null && r.expires_at !== null && r.expires_at > now;
  const op: QueuedOp = {
    id: r.id,
    orderKey: r.order_key,
    requestId: r.request_id,
    body: JSON.parse(r.body) as QueuedOp['body'],
    attempts: r.attempts,
    enqueuedAt: r.enqueued_at,
    notBefore: r.not_before,
    status: held ? 'claimed' : 'pending',
  };
  if (held) op.lease = { owner: r.owner!, expiresAt: r.expires_at! };
  if (r.last_error) op.lastError = JSON.parse(r.last_error) as QueueErrorInfo;
  return op;
}

function toDead(r: DeadRow): DeadLetterOp {
  return {
    id: r.id,
    orderKey: r.order_key,
    requestId: r.request_id,
    body: JSON.parse(r.body) as DeadLetterOp['body'],
    attempts: r.attempts,
    enqueuedAt: r.enqueued_at,
    deadAt: r.dead_at,
    lastError: JSON.parse(r.last_error) as QueueErrorInfo,
  };
}

export class SqliteQueueStore implements QueueStore {
  private db: Database.Database | null;
  private readonly clock: () => number;
  readonly filename: string;

  constructor(opts: LocalQueueStoreOptions) {
    if (!opts || typeof opts.path !== 'string' || !opts.path) throw new ValidationError('createLocalQueueStore needs { path }');
    this.clock = opts.clock ?? Date.now;
    const dir = resolve(opts.path);
    this.filename = join(dir, QUEUE_FILE);
    try {
      mkdirSync(dir, { recursive: true });
      const busy = Math.max(0, Math.floor(opts.busyTimeoutMs ?? 10_000));
      const db = openSqlite(this.filename, { timeout: busy });
      db.pragma(`busy_timeout = ${busy}`);
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      // erasure: a deleted op's body is overwritten with zeros, not left in free pages
      db.pragma('secure_delete = ON');
      db.exec(SCHEMA);
      this.db = db;
    } catch (e) {
      throw new StorageError(`Could not open the queue journal: ${(e as Error).message}`, { code: (e as { code?: string }).code }, { cause: e });
    }
  }

  private get d(): Database.Database {
    if (!this.db) throw new StorageError('The queue journal is closed');
    return this.db;
  }

  /** The connection's current `synchronous` setting (set between transactions only). */
  private sync: 'FULL' | 'NORMAL' = 'FULL';

  /** One transition; `synced: false` for a worker's claim, complete and release (see the header). */
  private run<T>(what: string, fn: (db: Database.Database) => T, synced = true): Promise<T> {
    try {
      const db = this.d;
      const want = synced ? 'FULL' : 'NORMAL';
      if (this.sync !== want) {
        db.pragma(`synchronous = ${want}`);
        this.sync = want;
      }
      return Promise.resolve(db.transaction(() => fn(db)).immediate());
    } catch (e) {
      if (isChronosError(e)) return Promise.reject(e);
      return Promise.reject(new StorageError(`Queue journal ${what} failed: ${(e as Error).message}`, { code: (e as { code?: string }).code }, { cause: e }));
    }
  }

  /** A worker's transition (claim, complete, release): committed without the fsync (see the header). */
  private runUnsynced<T>(what: string, fn: (db: Database.Database) => T): Promise<T> {
    return this.run(what, fn, false);
  }

  async enqueue(input: QueueOpInput): Promise<QueuedOp> {
    assertQueueOpInput(input);
    const body = JSON.stringify(input.body);
    return this.run('enqueue', (db) => {
      const now = this.clock();
      const live = db.prepare('SELECT * FROM q_ops WHERE request_id = ?').get(input.requestId) as OpRow | undefined;
      if (live) return toOp(live, now);
      const seq = (db.prepare('SELECT MAX(key_seq) AS m FROM q_ops WHERE order_key = ?').get(input.orderKey) as { m: number | null }).m;
      const id = newOpId();
      db.prepare('INSERT INTO q_ops (id, order_key, key_seq, request_id, body, attempts, enqueued_at, not_before) VALUES (?, ?, ?, ?, ?, 0, ?, ?)').run(
        id,
        input.orderKey,
        (seq ?? 0) + 1,
        input.requestId,
        body,
        now,
        now,
      );
      return toOp(db.prepare('SELECT * FROM q_ops WHERE id = ?').get(id) as OpRow, now);
    });
  }

  async claim(opts: ClaimOptions): Promise<ClaimedOp[]> {
    const limit = claimLimit(opts);
    return this.runUnsynced('claim', (db) => {
      const now = this.clock();
      const rows = db
        .prepare(`
        SELECT o.* FROM q_ops o
        WHERE o.not_before <= ? AND (o.owner IS NULL OR o.expires_at <= ?)
          AND NOT EXISTS (SELECT 1 FROM q_ops p WHERE p.order_key = o.order_key AND p.key_seq < o.key_seq)
        ORDER BY o.id LIMIT ?`)
        .all(now, now, limit) as OpRow[];
      const take = db.prepare('UPDATE q_ops SET owner = ?, expires_at = ?, attempts = attempts + 1 WHERE id = ?');
      const expiresAt = now + opts.leaseMs;
      return rows.map((r) => {
        take.run(opts.owner, expiresAt, r.id);
        return {
          ...toOp({ ...r, owner: opts.owner, expires_at: expiresAt, attempts: r.attempts + 1 }, now),
          status: 'claimed' as const,
          lease: { owner: opts.owner, expiresAt },
        };
      });
    });
  }

  /** The row of an op still held by this claim (same owner, same attempt), or undefined. */
  private held(db: Database.Database, op: ClaimedOp): OpRow | undefined {
    const r = db.prepare('SELECT * FROM q_ops WHERE id = ?').get(op.id) as OpRow | undefined;
    if (!r || r.owner !== op.lease.owner || r.attempts !== op.attempts || r.expires_at !== op.lease.expiresAt) return undefined;
    return r;
  }

  complete(op: ClaimedOp): Promise<boolean> {
    return this.runUnsynced('complete', (db) => {
      if (!this.held(db, op)) return false;
      db.prepare('DELETE FROM q_ops WHERE id = ?').run(op.id);
      return true;
    });
  }

  release(op: ClaimedOp, error: QueueErrorInfo, notBefore: number): Promise<boolean> {
    return this.runUnsynced('release', (db) => {
      if (!this.held(db, op)) return false;
      db.prepare('UPDATE q_ops SET owner = NULL, expires_at = NULL, not_before = ?, last_error = ? WHERE id = ?').run(
        Math.floor(notBefore),
        errText(error),
        op.id,
      );
      return true;
    });
  }

  deadLetter(op: ClaimedOp, error: QueueErrorInfo, opts?: { body?: QueueBody }): Promise<boolean> {
    try {
      assertDeadLetterBody(opts?.body);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.run('deadLetter', (db) => {
      const r = this.held(db, op);
      if (!r) return false;
      db.prepare('INSERT INTO q_dead (id, order_key, request_id, body, attempts, enqueued_at, dead_at, last_error) VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run(
        r.id,
        r.order_key,
        r.request_id,
        opts?.body ? JSON.stringify(opts.body) : r.body,
        r.attempts,
        r.enqueued_at,
        this.clock(),
        errText(error),
      );
      db.prepare('DELETE FROM q_ops WHERE id = ?').run(op.id);
      return true;
    });
  }

  async listPending(opts?: QueuePageOptions): Promise<QueuedOp[]> {
    const p = queuePage(opts);
    return this.run('listPending', (db) => {
      const now = this.clock();
      return (db.prepare('SELECT * FROM q_ops WHERE id > ? ORDER BY id LIMIT ?').all(p.afterId, p.limit) as OpRow[]).map((r) => toOp(r, now));
    });
  }

  async listDead(opts?: QueuePageOptions): Promise<DeadLetterOp[]> {
    const p = queuePage(opts);
    return this.run('listDead', (db) => (db.prepare('SELECT * FROM q_dead WHERE id > ? ORDER BY id LIMIT ?').all(p.afterId, p.limit) as DeadRow[]).map(toDead));
  }

  async retryDeadLetter(id: string): Promise<QueuedOp> {
    assertOpId(id);
    return this.run('retryDeadLetter', (db) => {
      const r = db.prepare('SELECT * FROM q_dead WHERE id = ?').get(id) as DeadRow | undefined;
      if (!r) throw new NotFoundError(`Dead-letter operation '${id}' not found`, { id });
      const live = db.prepare('SELECT id FROM q_ops WHERE request_id = ?').get(r.request_id) as { id: string } | undefined;
      if (live) throw new ValidationError(`requestId '${r.request_id}' is queued again as '${live.id}'; cancel or finish it first`, { id });
      const now = this.clock();
      const seq = (db.prepare('SELECT MAX(key_seq) AS m FROM q_ops WHERE order_key = ?').get(r.order_key) as { m: number | null }).m;
      db.prepare(
        'INSERT INTO q_ops (id, order_key, key_seq, request_id, body, attempts, enqueued_at, not_before, last_error) VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?)',
      ).run(r.id, r.order_key, (seq ?? 0) + 1, r.request_id, r.body, r.enqueued_at, now, r.last_error);
      db.prepare('DELETE FROM q_dead WHERE id = ?').run(id);
      return toOp(db.prepare('SELECT * FROM q_ops WHERE id = ?').get(id) as OpRow, now);
    });
  }

  async cancel(id: string): Promise<void> {
    assertOpId(id);
    return this.run('cancel', (db) => {
      const r = db.prepare('SELECT * FROM q_ops WHERE id = ?').get(id) as OpRow | undefined;
      if (!r) throw new NotFoundError(`Queued operation '${id}' not found`, { id });
      if (r.owner !== null && r.expires_at !== null && r.expires_at > this.clock()) {
        throw new QueueClaimedError(`Queued operation '${id}' is being applied by a worker; it cannot be cancelled`, { id });
      }
      db.prepare('DELETE FROM q_ops WHERE id = ?').run(id);
    });
  }

  async pendingFor(orderKey: string): Promise<number> {
    if (typeof orderKey !== 'string') return Promise.reject(new ValidationError('orderKey must be a string'));
    try {
      return Promise.resolve((this.d.prepare('SELECT COUNT(*) AS n FROM q_ops WHERE order_key = ?').get(orderKey) as { n: number }).n);
    } catch (e) {
      return Promise.reject(isChronosError(e) ? e : new StorageError(`Queue journal pendingFor failed: ${(e as Error).message}`, undefined, { cause: e }));
    }
  }

  stats(): Promise<QueueStats> {
    return this.run('stats', (db) => {
      const now = this.clock();
      const live = db
        .prepare('SELECT SUM(CASE WHEN owner IS NOT NULL AND expires_at > ? THEN 1 ELSE 0 END) AS c, COUNT(*) AS n, MIN(enqueued_at) AS o FROM q_ops')
        .get(now) as { c: number | null; n: number; o: number | null };
      const dead = (db.prepare('SELECT COUNT(*) AS n FROM q_dead').get() as { n: number }).n;
      const claimed = live.c ?? 0;
      return { pending: live.n - claimed, claimed, dead, ...(live.o !== null ? { oldestEnqueuedAt: live.o } : {}) };
    });
  }

  /** Erasure: every op of these orderKeys, live (claimed too) or dead, in one transaction (secure_delete zeroes them). */
  eraseOrderKeys(orderKeys: readonly string[]): Promise<number> {
    try {
      assertOrderKeys(orderKeys);
    } catch (e) {
      return Promise.reject(e);
    }
    if (orderKeys.length === 0) return Promise.resolve(0);
    const marks = orderKeys.map(() => '?').join(', ');
    return this.run('eraseOrderKeys', (db) => {
      const live = db.prepare(`DELETE FROM q_ops WHERE order_key IN (${marks})`).run(...orderKeys).changes;
      const dead = db.prepare(`DELETE FROM q_dead WHERE order_key IN (${marks})`).run(...orderKeys).changes;
      return live + dead;
    });
  }

  /** Erasure: truncates the write-ahead log, so no deleted op is left in it (false when a reader held it). */
  async scrub(): Promise<boolean> {
    return scrubSqlite(this.d);
  }

  close(): Promise<void> {
    const db = this.db;
    this.db = null;
    db?.close();
    return Promise.resolve();
  }
}

export function createLocalQueueStore(opts: LocalQueueStoreOptions): SqliteQueueStore {
  return new SqliteQueueStore(opts);
}
