/**
 * Bulk writes, the embedded layout and lean installs (issue 15):
 *
 * - local-create-141b: sequential create on the embedded default (SQLite
 *   metadata + SQLite payloads) vs raw better-sqlite3 doing the same inserts
 *   (one transaction: payload row, version row, head row; WAL, synchronous = FULL).
 * - local-createMany-N: createMany of N vs N sequential creates (the raw column).
 * - local-bytes-per-version: disk bytes (SQLite file + WAL + files) per
 *   141-byte version after createMany of N and a clean close.
 * - createMany-N (remote): createMany of N on MongoDB + S3 vs raw insertMany
 *   (heads + versions) + parallel PUTs; sequential create in the notes.
 * - lean-install: install size of each selective set (pnpm pack + npm install,
 *   see packages/chronos-db/test/lean/sets.ts) and the import time of
 *   chronos-db in the installed set, as a ratio to `node -e 0`.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import Database from 'better-sqlite3';
import { CollectionEngine } from '@chronos-db/core';
import { createLocalStorage } from '@chronos-db/storage-local';
import { pool, runPair, wallOnly as side, type Counters, type SideResult } from './measure.js';
import { selected, type BenchOptions, type WorkloadResult } from './options.js';
import type { RemoteSetup } from './remote-env.js';
import type { Log } from './remote.js';

const NONE: Counters = { mongo: () => 0, s3: () => 0 };
/** A record whose stored JSON (with chronos-db's _system block) is about 141 bytes of data. */
const small = (i: number) => ({ n: i, name: `user-${i}`, email: `user-${i}@example.com`, plan: i % 3 ? 'free' : 'pro', tags: ['a', 'b'], score: i * 7 });

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

function dirBytes(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) n += dirBytes(p);
    else if (e.isFile()) n += statSync(p).size;
  }
  return n;
}

class RawSqlite {
  private readonly db: Database.Database;
  private readonly tx: (id: string, body: Buffer, meta: string) => void;
  constructor(file: string) {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.exec(`CREATE TABLE IF NOT EXISTS blobs (key TEXT PRIMARY KEY, body BLOB NOT NULL);
      CREATE TABLE IF NOT EXISTS heads (id TEXT PRIMARY KEY, ov INTEGER NOT NULL, doc TEXT NOT NULL) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS versions (id TEXT NOT NULL, ov INTEGER NOT NULL, doc TEXT NOT NULL, PRIMARY KEY (id, ov)) WITHOUT ROWID;`);
    const b = this.db.prepare('INSERT INTO blobs (key, body) VALUES (?, ?)');
    const v = this.db.prepare('INSERT INTO versions (id, ov, doc) VALUES (?, 0, ?)');
    const h = this.db.prepare('INSERT INTO heads (id, ov, doc) VALUES (?, 0, ?)');
    this.tx = this.db.transaction((id: string, body: Buffer, meta: string) => {
      b.run(`json/${id}/v0/item.json`, body);
      v.run(id, meta);
      h.run(id, meta);
    }).immediate as never;
  }
  create(id: string, data: unknown): void {
    const body = Buffer.from(JSON.stringify(data));
    this.tx(id, body, JSON.stringify({ itemId: id, ov: 0, at: Date.now(), size: body.length }));
  }
  close(): void {
    this.db.close();
  }
}

/**
 * The same rows by hand on the embedded store's own schema (a file the store created, then closed):
 * one IMMEDIATE transaction per create with the statements that schema needs, as a developer
 * who wanted the same reads (as-of by time and by cv, the change feed, TTL marking, erasure
 * tombstones) would write them: the tombstone + head check, the payload row (its key unique by the
 * primary key), the namespace's cv, the version row and the head row, each table's indexes kept
 * by SQLite. What this side lacks is chronos-db itself: validation, ids, hashes, the version
 * document, the ports.
 */
class RawSameSchema {
  private readonly db: Database.Database;
  private readonly tx: (id: string, attempt: string, body: Buffer, doc: string, at: number) => void;
  constructor(file: string, ns: { dbName: string; collection: string }) {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    const nsId = (
      this.db.prepare("SELECT id FROM chronos_ns WHERE db_name = ? AND tenant = '' AND collection = ?").get(ns.dbName, ns.collection) as { id: number }
    ).id;
    const check =
      this.db.prepare(`SELECT EXISTS (SELECT 1 FROM chronos_erasures WHERE db_name = ? AND tenant = '' AND collection = ? AND item_id = ?) AS erased,
      (SELECT ov FROM chronos_heads_v2 WHERE ns = ? AND item_id = ?) AS ov`);
    const payload = this.db.prepare("INSERT INTO chronos_payloads (role, key, size, mtime, body) VALUES ('json', ?, ?, ?, ?)");
    const cv = this.db.prepare('UPDATE chronos_ns SET cv = cv + 1 WHERE id = ? RETURNING cv');
    const version = this.db.prepare('INSERT INTO chronos_versions_v2 (ns, item_id, ov, cv, at, request_id, doc) VALUES (?, ?, 0, ?, ?, NULL, ?)');
    const head = this.db.prepare(
      "INSERT INTO chronos_heads_v2 (ns, item_id, ov, deleted, created_at, at, state, shadow) VALUES (?, ?, 0, 0, ?, ?, 'new', NULL)",
    );
    this.tx = this.db.transaction((id: string, attempt: string, body: Buffer, doc: string, at: number) => {
      const c = check.get(ns.dbName, ns.collection, id, nsId, id) as { erased: number; ov: number | null };
      if (c.erased || c.ov !== null) throw new Error(`raw: '${id}' exists or is erased`);
      payload.run(`${ns.dbName}/${ns.collection}/${id}/v0/${attempt}/item.json`, body.length, at, body);
      const n = (cv.get(nsId) as { cv: number }).cv;
      version.run(nsId, id, n, at, doc);
      head.run(nsId, id, at, at);
    }).immediate as never;
  }
  private seq = 0;
  /** The rows chronos-db writes for the record, byte for byte in shape: ids of the same length, the payload with its _system block, the version document with size, hash, indexed fields and attempt key. */
  create(data: Record<string, unknown>): void {
    const at = Date.now();
    const iso = new Date(at).toISOString();
    const id = `${at.toString(16).padStart(12, '0')}${(this.seq++).toString(16).padStart(16, '0')}`;
    const body = Buffer.from(JSON.stringify({ ...data, _system: { insertedAt: iso, updatedAt: iso, state: 'new-not-synched' } }));
    const metaIndexed: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(data)) if (v === null || typeof v !== 'object') metaIndexed[k] = v;
    const attempt = randomBytes(6).toString('hex');
    const doc = JSON.stringify({
      op: 'CREATE',
      size: body.length,
      sha256: createHash('sha256').update(body).digest('hex'),
      metaIndexed,
      jsonKey: `~${attempt}`,
    });
    this.tx(id, attempt, body, doc, at);
  }
  close(): void {
    this.db.close();
  }
}

export async function runBulkLocal(opts: BenchOptions, log: Log): Promise<WorkloadResult[]> {
  const out: WorkloadResult[] = [];
  const dir = join(tmpdir(), `chronos-bench-bulk-${process.pid}-${Date.now().toString(36)}`);
  mkdirSync(dir, { recursive: true });
  const push = (r: WorkloadResult) => {
    out.push(r);
    log(`  ${r.name}: ours ${r.ours.opsPerSec} ops/s, raw ${r.raw.opsPerSec} ops/s, ratio ${r.ratio}${r.notes?.line ? ` (${String(r.notes.line)})` : ''}`);
  };
  // the target names 10,000: a bench that checks targets runs at least that many (a createMany of 10,000 takes about half a second)
  const N = Math.max(20, opts.localOps * 5, opts.checkTargets ? 10_000 : 0);
  try {
    if (selected(opts, 'local-create-141b') || selected(opts, 'local')) {
      const st = createLocalStorage({ basePath: join(dir, 'seq') });
      const e = new CollectionEngine({ ns: { dbName: 'bench', collection: 'seq' }, meta: st.meta, blobs: st.blobs });
      // the same-schema side: a file the store created (same tables, indexes, pragmas), then closed
      const rawNs = { dbName: 'bench', collection: 'raw' };
      const made = createLocalStorage({ basePath: join(dir, 'same') });
      await made.meta.ensureNamespace(rawNs);
      await made.close();
      const same = new RawSameSchema(join(dir, 'same', 'chronos-metadata.sqlite'), rawNs);
      const minimal = new RawSqlite(join(dir, 'raw.sqlite'));
      const pair = { batch: opts.batch, concurrency: 1, ops: opts.localOps, warmup: Math.min(200, opts.localOps) };
      const res = await runPair(
        { op: async (i) => void (await e.create(small(i))), counters: NONE },
        { op: async (i) => same.create(small(i)), counters: NONE },
        pair,
      );
      const resMin = await runPair(
        { op: async (i) => void (await e.create(small(i + opts.localOps * 2))), counters: NONE },
        { op: async (i) => minimal.create(`r${i}`, small(i)), counters: NONE },
        pair,
      );
      same.close();
      minimal.close();
      await st.close();
      const ratio = Number((res.ours.opsPerSec / res.raw.opsPerSec).toFixed(3));
      const ratioMin = Number((resMin.ours.opsPerSec / resMin.raw.opsPerSec).toFixed(3));
      push({
        table: 'local',
        name: 'local-create-141b',
        ...res,
        ratio,
        baseline:
          'raw better-sqlite3 doing the same inserts on the same schema (a file the embedded store made): one IMMEDIATE transaction of tombstone + head check, payload row, cv, version row, head row (WAL, synchronous = FULL)',
        targets: opts.checkTargets ? [{ what: 'ours/raw >= 0.8', value: ratio, min: 0.8, met: ratio >= 0.8 }] : [],
        notes: { line: `vs a minimal schema (3 tables, no index beyond the keys): ${ratioMin}` },
      });
      push({
        table: 'local',
        name: 'local-create-141b-minimal',
        ...resMin,
        ratio: ratioMin,
        baseline:
          "raw better-sqlite3 on a minimal schema: payload, version and head tables with their keys only (no as-of, feed, TTL or tombstone indexes); one transaction of three inserts (WAL, synchronous = FULL). Reported, not a target: what the store's indexes cost on top of the engine",
        targets: [],
      });
    }
    if (selected(opts, 'local-createMany') || selected(opts, 'local')) {
      const items = Array.from({ length: N }, (_, i) => ({ data: small(i) }));
      // not measured, on both sides: createMany of N/2 (up to 5,000) and 200 creates on a store of their own,
      // so neither measured side pays the JIT's first passes over its code alone
      const stw = createLocalStorage({ basePath: join(dir, 'warm') });
      const ew = new CollectionEngine({ ns: { dbName: 'bench', collection: 'warm' }, meta: stw.meta, blobs: stw.blobs });
      if ((await ew.createMany(items.slice(0, Math.min(5000, Math.ceil(N / 2))), { batchSize: 500 })).some((r) => !r.ok))
        throw new Error('createMany (warm-up): a failed item');
      for (let i = 0; i < Math.min(200, N); i++) await ew.create(small(N + i));
      await stw.close();
      const st = createLocalStorage({ basePath: join(dir, 'many') });
      const e = new CollectionEngine({ ns: { dbName: 'bench', collection: 'many' }, meta: st.meta, blobs: st.blobs });
      const manyMs = await timed(async () => {
        const rs = await e.createMany(items, { batchSize: 500 });
        if (rs.some((r) => !r.ok)) throw new Error('createMany: a failed item');
      });
      await st.close();
      const bytes = dirBytes(join(dir, 'many'));
      const st2 = createLocalStorage({ basePath: join(dir, 'seq2') });
      const e2 = new CollectionEngine({ ns: { dbName: 'bench', collection: 'seq' }, meta: st2.meta, blobs: st2.blobs });
      const seqMs = await timed(async () => {
        for (let i = 0; i < N; i++) await e2.create(small(i));
      });
      await st2.close();
      const ours = side(N, manyMs);
      const seq = side(N, seqMs);
      const ratio = Number((ours.opsPerSec / seq.opsPerSec).toFixed(2));
      push({
        table: 'local',
        name: `local-createMany-${N}`,
        ours,
        raw: seq,
        ratio,
        baseline: `the raw column is ${N} sequential creates on the same store`,
        targets: opts.checkTargets ? [{ what: 'createMany/sequential >= 10', value: ratio, min: 10, met: ratio >= 10 }] : [],
      });
      const per = Math.round(bytes / N);
      push({
        table: 'local',
        name: 'local-bytes-per-version',
        ours: side(N, manyMs),
        raw: side(N, manyMs),
        ratio: per,
        baseline: 'bytes on disk per 141-byte version (SQLite file after close, plus any payload files)',
        targets: opts.checkTargets ? [{ what: 'bytes per version < 1024', value: per, max: 1024, met: per < 1024 }] : [],
        notes: { line: `${per} bytes on disk per version (${N} versions, ${bytes} bytes)` },
      });
    }
    if (selected(opts, 'local-list-as-of') || selected(opts, 'local')) await listAsOfLocal(dir, opts, push);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

/**
 * listAsOf page of `records` (--page-size, at least 100) at 10 versions per record and at the largest
 * --depths (at most 1,000), each vs the same plan run raw on the same file (a heads page, per record the
 * version as of cv by the (ns, item_id, cv) index, its payload row). Chains are written with updateMany.
 */
async function listAsOfLocal(dir: string, opts: BenchOptions, push: (r: WorkloadResult) => void): Promise<void> {
  const records = Math.max(100, opts.pageSize);
  const hi = Math.min(1000, Math.max(10, ...opts.depths));
  const pageMs: Record<number, number> = {};
  for (const depth of [...new Set([10, hi])]) {
    const st = createLocalStorage({ basePath: join(dir, `asof${depth}`) });
    const ns = { dbName: 'bench', collection: `asof${depth}` };
    const e = new CollectionEngine({ ns, meta: st.meta, blobs: st.blobs });
    const created = await e.createMany(Array.from({ length: records }, (_, i) => ({ data: small(i) })));
    const ids = created.map((r) => (r.ok ? r.id : ''));
    for (let ov = 1; ov < depth; ov++) {
      const rs = await e.updateMany(ids.map((id, i) => ({ id, data: { ...small(i), v: ov }, expectedOv: ov - 1 })));
      if (rs.some((r) => !r.ok)) throw new Error('local-list-as-of: an update failed');
    }
    const mid = (await st.meta.currentCv(ns)) - Math.floor(depth / 2) * records;
    const raw = new Database(join(dir, `asof${depth}`, 'chronos-metadata.sqlite'), { readonly: true });
    const nsId = (raw.prepare('SELECT id FROM chronos_ns WHERE db_name = ? AND collection = ?').get(ns.dbName, ns.collection) as { id: number }).id;
    const headsPage = raw.prepare('SELECT item_id FROM chronos_heads_v2 WHERE ns = ? ORDER BY item_id LIMIT ?');
    const asOf = raw.prepare('SELECT ov, doc FROM chronos_versions_v2 WHERE ns = ? AND item_id = ? AND cv <= ? ORDER BY cv DESC LIMIT 1');
    const body = raw.prepare("SELECT body FROM chronos_payloads WHERE role = 'json' AND key = ?");
    const prefix = `${ns.dbName}/${ns.collection}/`;
    const res = await runPair(
      {
        op: async () => {
          const p = await e.listAsOf({ cv: mid }, { limit: records });
          if (p.items.length !== records) throw new Error(`local-list-as-of: ${p.items.length} items`);
        },
        counters: NONE,
      },
      {
        op: async () => {
          for (const h of headsPage.all(nsId, records) as { item_id: string }[]) {
            const row0 = asOf.get(nsId, h.item_id, mid) as { ov: number; doc: string };
            const v = JSON.parse(row0.doc) as { jsonKey: string };
            const key = v.jsonKey.startsWith('~') ? `${prefix}${h.item_id}/v${row0.ov}/${v.jsonKey.slice(1)}/item.json` : v.jsonKey;
            const row = body.get(key) as { body: Buffer } | undefined;
            JSON.parse((row?.body ?? Buffer.from('{}')).toString('utf8'));
          }
        },
        counters: NONE,
      },
      { batch: opts.batch, concurrency: 1, ops: opts.pageOps },
    );
    raw.close();
    await st.close();
    pageMs[depth] = res.ours.meanMs;
    const rel = depth === hi && pageMs[10] ? Number((res.ours.meanMs / pageMs[10]).toFixed(3)) : undefined;
    const r: WorkloadResult = {
      table: 'local',
      name: `local-list-as-of-d${depth}`,
      ...res,
      ratio: Number((res.ours.opsPerSec / res.raw.opsPerSec).toFixed(3)),
      baseline: `raw better-sqlite3 on the same file: heads page (${records}) + per record the version as of cv (index seek) + its payload row`,
      targets:
        opts.checkTargets && rel !== undefined
          ? [{ what: `page time at ${hi} / at 10 versions per record <= 1.5`, value: rel, max: 1.5, met: rel <= 1.5 }]
          : [],
      notes: { records, depth, ...(rel !== undefined ? { line: `page time at ${hi} vs at 10 versions per record: x${rel}` } : {}) },
    };
    push(r);
  }
}

export async function runBulkRemote(s: RemoteSetup, opts: BenchOptions, log: Log): Promise<WorkloadResult[]> {
  if (!selected(opts, 'createMany')) return [];
  const N = Math.max(20, Math.min(2000, opts.restoreN));
  const items = Array.from({ length: N }, (_, i) => ({ data: small(i) }));
  const db = s.raw.mongo.db(s.dbName);
  // not measured, on both sides: the namespaces' indexes (ours) and the collections (raw)
  for (const collection of ['many', 'seq']) await s.ours.meta.ensureNamespace({ dbName: s.dbName, collection });
  for (const name of ['rawmany_head', 'rawmany_ver']) await db.createCollection(name).catch(() => undefined);
  // load-insensitive counts per item: Mongo commands, S3 requests, CPU of this process (ours after its background work settled)
  const counted = async (c: Counters, settle: () => Promise<unknown>, fn: () => Promise<unknown>) => {
    const m0 = c.mongo();
    const s0 = c.s3();
    const cpu0 = process.cpuUsage();
    const ms = await timed(fn);
    const cpu = process.cpuUsage(cpu0);
    await settle();
    return { ms, mongo: c.mongo() - m0, s3: c.s3() - s0, cpuMs: (cpu.user + cpu.system) / 1000 };
  };
  const withCounts = (r: SideResult, n: number, k: { mongo: number; s3: number; cpuMs: number }): SideResult => ({
    ...r,
    cpuMsPerOp: Number((k.cpuMs / n).toFixed(3)),
    mongoCmdsPerOp: Number((k.mongo / n).toFixed(4)),
    s3ReqsPerOp: Number((k.s3 / n).toFixed(3)),
  });
  // not measured, on both sides: a warm-up of the same calls on other names (the JIT, the sockets of the
  // S3 agent and the Mongo pool), so the first measured side does not pay the process's start-up alone
  const W = Math.min(1000, Math.max(10, Math.floor(N / 2)));
  await s.ours.meta.ensureNamespace({ dbName: s.dbName, collection: 'warm' });
  const ew = s.ours.engine('warm');
  if ((await ew.createMany(items.slice(0, W), { batchSize: 500, concurrency: 32 })).some((r) => !r.ok)) throw new Error('createMany (warm-up): a failed item');
  for (let i = 0; i < 20; i++) await ew.create(small(N + i));
  await s.ours.meta.settle();
  const rawWrite = async (prefix: string, from: (typeof items)[number][]) => {
    const docs = from.map((it, i) => ({ id: `${prefix}${i}`, key: `rawmany/${prefix}${i}/v0/item.json`, body: Buffer.from(JSON.stringify(it.data)) }));
    await pool(
      docs,
      32,
      async (d) =>
        void (await s.raw.s3.send(
          new PutObjectCommand({ Bucket: s.raw.bucket, Key: d.key, Body: d.body, ContentLength: d.body.length, ContentType: 'application/json' }),
        )),
    );
    for (let i = 0; i < docs.length; i += 500) {
      const page = docs.slice(i, i + 500);
      await vers.insertMany(page.map((d) => ({ _id: `${d.id}:0` as never, itemId: d.id, ov: 0, jsonKey: d.key, size: d.body.length, at: Date.now() })));
      await heads.insertMany(page.map((d) => ({ _id: d.id as never, ov: 0, jsonKey: d.key, size: d.body.length })));
    }
  };
  const heads = db.collection('rawmany_head');
  const vers = db.collection('rawmany_ver');
  await rawWrite('w', items.slice(0, W));
  const e = s.ours.engine('many');
  const many = await counted(
    s.ours.counters,
    () => s.ours.meta.settle(),
    async () => {
      const rs = await e.createMany(items, { batchSize: 500, concurrency: 32 });
      if (rs.some((r) => !r.ok)) throw new Error('createMany: a failed item');
    },
  );
  const manyMs = many.ms;
  const seqN = Math.max(10, Math.min(N, opts.creates));
  const e2 = s.ours.engine('seq');
  const seqMs = await timed(async () => {
    await pool(
      Array.from({ length: seqN }, (_, i) => i),
      1,
      async (i) => void (await e2.create(small(i))),
    );
  });
  const rawRun = await counted(
    s.raw.counters,
    async () => undefined,
    async () => rawWrite('m', items),
  );
  const ours = withCounts(side(N, manyMs), N, many);
  const raw = withCounts(side(N, rawRun.ms), N, rawRun);
  const seq = side(seqN, seqMs);
  const vsRaw = Number((ours.opsPerSec / raw.opsPerSec).toFixed(2));
  const vsSeq = Number((ours.opsPerSec / seq.opsPerSec).toFixed(2));
  const r: WorkloadResult = {
    table: 'remote',
    name: `createMany-${N}`,
    ours,
    raw,
    ratio: vsRaw,
    baseline: 'raw: PUTs 32 at a time, then insertMany of versions and heads 500 at a time',
    targets: opts.checkTargets
      ? [
          { what: 'createMany/raw >= 0.7', value: vsRaw, min: 0.7, met: vsRaw >= 0.7 },
          { what: 'createMany/sequential create >= 5', value: vsSeq, min: 5, met: vsSeq >= 5 },
        ]
      : [],
    notes: {
      line: `createMany of ${N}: ${ours.opsPerSec}/s; sequential create (${seqN}): ${seq.opsPerSec}/s (x${vsSeq}); raw insertMany + PUTs: ${raw.opsPerSec}/s (x${vsRaw}); Mongo commands ${many.mongo} vs ${rawRun.mongo} raw, S3 requests ${many.s3} vs ${rawRun.s3}, CPU ms/item ${ours.cpuMsPerOp} vs ${raw.cpuMsPerOp}`,
    },
  };
  log(`  ${r.name}: ${String(r.notes!.line)}`);
  return [r];
}

/** Install size of each selective set and chronos-db's import time (installed, CJS and ESM) as a ratio to `node -e 0`. */
export async function runLeanInstall(opts: BenchOptions, log: Log): Promise<WorkloadResult[]> {
  if (!selected(opts, 'lean')) return [];
  const sets = await import('../../packages/chronos-db/test/lean/sets.js');
  const parent = join(tmpdir(), `chronos-bench-lean-${process.pid}`);
  mkdirSync(parent, { recursive: true });
  try {
    const tarballs = sets.packAll(join(parent, 'tarballs'));
    const lines: string[] = [];
    let chronosDir = '';
    for (const set of sets.SETS) {
      const inst = sets.installSet(set, tarballs, parent);
      lines.push(`${set.name}: ${(inst.bytes / 2 ** 20).toFixed(1)} MB installed (npm install ${(inst.installMs / 1000).toFixed(1)} s)`);
      if (set.name === 'chronos-db') chronosDir = inst.dir;
    }
    const median = (args: string[]) => {
      const t: number[] = [];
      for (let i = 0; i < 7; i++) {
        const t0 = performance.now();
        execFileSync(process.execPath, args, { cwd: chronosDir, stdio: 'ignore' });
        t.push(performance.now() - t0);
      }
      return t.sort((a, b) => a - b)[3]!;
    };
    const base = median(['-e', '0']);
    const cjs = median(['-e', "require('chronos-db')"]);
    const esm = median(['--input-type=module', '-e', "await import('chronos-db')"]);
    lines.push(
      `import chronos-db: CJS ${cjs.toFixed(0)} ms, ESM ${esm.toFixed(0)} ms, node -e 0 ${base.toFixed(0)} ms (ratios ${(cjs / base).toFixed(2)}, ${(esm / base).toFixed(2)}; cost over node ${(cjs - base).toFixed(0)} / ${(esm - base).toFixed(0)} ms)`,
    );
    for (const l of lines) log(`  lean: ${l}`);
    const r: WorkloadResult = {
      table: 'local',
      name: 'lean-install',
      ours: side(1, cjs),
      raw: side(1, base),
      ratio: Number((cjs / base).toFixed(2)),
      baseline: 'process start + require(chronos-db) vs node -e 0 (median of 7, installed set)',
      targets: opts.checkTargets ? [{ what: 'import cost over node -e 0 < 100 ms', value: Math.round(cjs - base), max: 100, met: cjs - base < 100 }] : [],
      notes: { line: lines.join('; ') },
    };
    return [r];
  } finally {
    rmSync(parent, { recursive: true, force: true });
  }
}
