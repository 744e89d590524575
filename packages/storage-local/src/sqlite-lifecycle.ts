/**
 * The lifecycle part of the SQLite MetadataStore: erasure tombstones and records, maintenance
 * leases and the scrub that makes deleted rows unreadable from the files.
 *
 * Erasure on SQLite is exact: the tombstone is inserted in an IMMEDIATE transaction and every
 * commit checks it inside its own (sqlite-metadata-store.ts), so no commit lands after it.
 * `secure_delete` is on for the connection (zeroes deleted content in pages); `scrub`
 * checkpoints the write-ahead log and truncates it, so old page images leave the -wal file too.
 */
import type Database from 'better-sqlite3';
import {
  assertErasedIdsInput,
  assertErasureInput,
  assertErasureListQuery,
  assertFinishErasureInput,
  assertId,
  assertLease,
  assertLeaseName,
  type BeginErasureInput,
  type ErasureRecord,
  type FinishErasureInput,
  type LeaseDoc,
} from '@chronos-db/core';

export const LIFECYCLE_SCHEMA = `
CREATE TABLE IF NOT EXISTS chronos_erasures (
  db_name TEXT NOT NULL, tenant TEXT NOT NULL, collection TEXT NOT NULL, item_id TEXT NOT NULL,
  requested_at INTEGER NOT NULL, actor TEXT, reason TEXT, status TEXT NOT NULL, finished_at INTEGER,
  versions_deleted INTEGER, objects_deleted INTEGER, manifests_rewritten INTEGER,
  PRIMARY KEY (db_name, tenant, collection, item_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS chronos_leases (
  db_name TEXT NOT NULL, name TEXT NOT NULL, gen INTEGER NOT NULL, holder TEXT NOT NULL, expires_at INTEGER NOT NULL, data TEXT,
  PRIMARY KEY (db_name, name, gen)
) WITHOUT ROWID;
`;

type Key = [string, string, string];
const NS = 'db_name = ? AND tenant = ? AND collection = ?';
const KEEP_LEASE_GENS = 16;

interface ErasureRow {
  item_id: string;
  requested_at: number;
  actor: string | null;
  reason: string | null;
  status: string;
  finished_at: number | null;
  versions_deleted: number | null;
  objects_deleted: number | null;
  manifests_rewritten: number | null;
}

function toRecord(r: ErasureRow): ErasureRecord {
  const out: ErasureRecord = { itemId: r.item_id, requestedAt: r.requested_at, status: r.status === 'done' ? 'done' : 'erasing' };
  if (r.actor !== null) out.actor = r.actor;
  if (r.reason !== null) out.reason = r.reason;
  if (r.finished_at !== null) out.finishedAt = r.finished_at;
  if (r.versions_deleted !== null) out.versionsDeleted = r.versions_deleted;
  if (r.objects_deleted !== null) out.objectsDeleted = r.objects_deleted;
  if (r.manifests_rewritten !== null) out.manifestsRewritten = r.manifests_rewritten;
  return out;
}

export function createLifecycleOps(db: Database.Database) {
  const p = (sql: string) => db.prepare(sql);
  const s = {
    tomb: p(`SELECT 1 AS x FROM chronos_erasures WHERE ${NS} AND item_id = ?`),
    erasure: p(`SELECT * FROM chronos_erasures WHERE ${NS} AND item_id = ?`),
    insErasure: p(
      `INSERT OR IGNORE INTO chronos_erasures (db_name, tenant, collection, item_id, requested_at, actor, reason, status) VALUES (?, ?, ?, ?, ?, ?, ?, 'erasing')`,
    ),
    finish: p(`UPDATE chronos_erasures SET status = 'done', finished_at = ?, versions_deleted = ?, objects_deleted = ?, manifests_rewritten = ?
               WHERE ${NS} AND item_id = ?`),
    list: p(`SELECT * FROM chronos_erasures WHERE ${NS} AND item_id > ? ORDER BY item_id ASC LIMIT ?`),
    lease: p(`SELECT name, gen, holder, expires_at, data FROM chronos_leases WHERE db_name = ? AND name = ? ORDER BY gen DESC LIMIT 1`),
    insLease: p(`INSERT OR IGNORE INTO chronos_leases (db_name, name, gen, holder, expires_at, data) VALUES (?, ?, ?, ?, ?, ?)`),
    dropOldLeases: p(`DELETE FROM chronos_leases WHERE db_name = ? AND name = ? AND gen < ?`),
  };
  const begin = db.transaction((key: Key, input: BeginErasureInput) => {
    const created = s.insErasure.run(...key, input.itemId, input.at, input.actor ?? null, input.reason ?? null).changes > 0;
    return { record: toRecord(s.erasure.get(...key, input.itemId) as ErasureRow), created };
  });
  const putLease = db.transaction((dbName: string, l: LeaseDoc): boolean => {
    const cur = s.lease.get(dbName, l.name) as { gen: number } | undefined;
    if ((cur?.gen ?? 0) + 1 !== l.gen) return false;
    s.insLease.run(dbName, l.name, l.gen, l.holder, l.expiresAt, l.data ? JSON.stringify(l.data) : null);
    s.dropOldLeases.run(dbName, l.name, l.gen - KEEP_LEASE_GENS);
    return true;
  });
  return {
    beginErasure(key: Key, input: BeginErasureInput) {
      assertId(input?.itemId);
      assertErasureInput(input);
      return begin.immediate(key, input);
    },
    finishErasure(key: Key, itemId: string, r: FinishErasureInput): void {
      assertId(itemId);
      assertFinishErasureInput(r);
      s.finish.run(r.at, r.versionsDeleted, r.objectsDeleted, r.manifestsRewritten ?? null, ...key, itemId);
    },
    erasedIds(key: Key, ids: readonly string[]): string[] {
      assertErasedIdsInput(ids);
      return [...new Set(ids)].filter((id) => s.tomb.get(...key, id) !== undefined);
    },
    listErasures(key: Key, q: { afterId?: string; limit: number }): ErasureRecord[] {
      assertErasureListQuery(q);
      return (s.list.all(...key, q.afterId ?? '', q.limit) as ErasureRow[]).map(toRecord);
    },
    getLease(dbName: string, name: string): LeaseDoc | null {
      assertLeaseName(name);
      const r = s.lease.get(dbName, name) as { name: string; gen: number; holder: string; expires_at: number; data: string | null } | undefined;
      if (!r) return null;
      return { name: r.name, gen: r.gen, holder: r.holder, expiresAt: r.expires_at, ...(r.data ? { data: JSON.parse(r.data) as LeaseDoc['data'] } : {}) };
    },
    putLease(dbName: string, lease: LeaseDoc): boolean {
      assertLease(lease);
      return putLease.immediate(dbName, lease);
    },
  };
}

/**
 * Checkpoints the write-ahead log into the database file and truncates it (with `secure_delete`
 * on, deleted rows are zeros in the new page images). False when a reader elsewhere kept the
 * log from being emptied (it is retried a few times first).
 */
export async function scrubSqlite(db: Database.Database): Promise<boolean> {
  for (let i = 0; i < 20; i++) {
    const r = db.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number; log: number; checkpointed: number }>;
    if (r[0] && r[0].busy === 0) return true;
    await new Promise((res) => setTimeout(res, 25 * (i + 1)));
  }
  return false;
}
