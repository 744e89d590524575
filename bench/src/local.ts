/**
 * The embedded default (storage-local: SQLite metadata + filesystem payloads)
 * against a raw better-sqlite3 + node:fs baseline doing the minimum same work:
 * a write is one file written and fsynced plus one SQLite transaction
 * (insert the version row, upsert the head row; WAL, synchronous = FULL like
 * the store); a read is one primary-key SELECT plus one file read.
 * Round trips are not counted here (in-process calls): the columns show '-'.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { mkdir, open, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { CollectionEngine, type CollectionMap } from '@chronos-db/core';
import { createLocalStorage } from '@chronos-db/storage-local';
import { pool, runPair, type Counters, type Side, type SideResult } from './measure.js';
import { selected, type BenchOptions, type WorkloadResult } from './options.js';
import { payload, type Log } from './remote.js';
import { runLocalGc } from './gc.js';
import { runLocalFallback } from './fallback.js';
import { runLocalStudio } from './studio.js';
import { runLocalLifecycle } from './lifecycle.js';
import { runLocalCli } from './cli.js';

const NONE: Counters = { mongo: () => 0, s3: () => 0 };
const MAP: CollectionMap = { indexedProps: ['grp', 'n'] };

class RawLocal {
  readonly db: Database.Database;
  private readonly ins: Database.Statement;
  private readonly up: Database.Statement;
  private readonly getHead: Database.Statement;
  private readonly getVer: Database.Statement;
  private readonly page: Database.Statement;
  private readonly tx: (id: string, ov: number, doc: string, grp: unknown) => void;
  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
    this.db = new Database(join(dir, 'raw.sqlite'));
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS heads (id TEXT PRIMARY KEY, ov INTEGER NOT NULL, grp TEXT, doc TEXT NOT NULL) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS versions (id TEXT NOT NULL, ov INTEGER NOT NULL, doc TEXT NOT NULL, PRIMARY KEY (id, ov)) WITHOUT ROWID;`);
    this.ins = this.db.prepare('INSERT INTO versions (id, ov, doc) VALUES (?, ?, ?)');
    this.up = this.db.prepare(
      'INSERT INTO heads (id, ov, grp, doc) VALUES (?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET ov = excluded.ov, grp = excluded.grp, doc = excluded.doc',
    );
    this.getHead = this.db.prepare('SELECT doc FROM heads WHERE id = ?');
    this.getVer = this.db.prepare('SELECT doc FROM versions WHERE id = ? AND ov = ?');
    this.page = this.db.prepare('SELECT doc FROM heads WHERE grp = ? ORDER BY id LIMIT ?');
    this.tx = this.db.transaction((id: string, ov: number, doc: string, grp: unknown) => {
      this.ins.run(id, ov, doc);
      this.up.run(id, ov, typeof grp === 'string' ? grp : null, doc);
    }).immediate as never;
  }
  async write(id: string, ov: number, data: Record<string, unknown>): Promise<void> {
    const file = join(this.dir, 'blobs', id, `v${ov}.json`);
    await mkdir(dirname(file), { recursive: true });
    const fh = await open(file, 'w');
    try {
      await fh.writeFile(JSON.stringify(data));
      await fh.sync();
    } finally {
      await fh.close();
    }
    const meta = JSON.stringify({
      itemId: id,
      ov,
      at: Date.now(),
      jsonKey: file,
      size: 0,
      sha256: 'f'.repeat(64),
      metaIndexed: { grp: data.grp, n: data.n },
      deleted: false,
    });
    this.tx(id, ov, meta, data.grp);
  }
  private async load(row: unknown): Promise<unknown> {
    if (!row) throw new Error('raw local read: missing');
    const m = JSON.parse((row as { doc: string }).doc) as { jsonKey: string };
    return JSON.parse(await readFile(m.jsonKey, 'utf8'));
  }
  readHead(id: string): Promise<unknown> {
    return this.load(this.getHead.get(id));
  }
  readVersion(id: string, ov: number): Promise<unknown> {
    return this.load(this.getVer.get(id, ov));
  }
  async list(limit: number): Promise<number> {
    const rows = this.page.all('g', limit);
    await pool(rows, 8, async (r) => {
      await this.load(r);
    });
    return rows.length;
  }
}

const ratioOf = (o: SideResult, r: SideResult) => Number((r.opsPerSec > 0 ? o.opsPerSec / r.opsPerSec : 0).toFixed(3));

/** Runs the embedded table in a fresh temporary directory (removed afterwards). */
export async function runLocalWorkloads(opts: BenchOptions, log: Log = () => {}, baseDir?: string): Promise<WorkloadResult[]> {
  const dir = baseDir ?? join(tmpdir(), `chronos-bench-${process.pid}-${Date.now().toString(36)}`);
  const storage = createLocalStorage({ basePath: join(dir, 'chronos') });
  const raw = new RawLocal(join(dir, 'raw'));
  const e = new CollectionEngine({ ns: { dbName: 'bench', collection: 'items' }, meta: storage.meta, blobs: storage.blobs, map: MAP });
  const out: WorkloadResult[] = [];
  const side = (op: (i: number) => Promise<void>): Side => ({ op, counters: NONE });
  const pair = { batch: opts.batch, concurrency: 1, ops: opts.localOps };
  const push = (r: WorkloadResult) => {
    out.push(r);
    log(`  ${r.name}: ours ${r.ours.opsPerSec} ops/s, raw ${r.raw.opsPerSec} ops/s, ratio ${r.ratio}`);
  };
  try {
    const doc = payload(1, 1024);
    const oursIds: string[] = [];
    const rawIds: string[] = [];
    const n = Math.max(opts.pool, 1);
    // Seed the read pools (not measured).
    await pool(
      Array.from({ length: n }, (_, i) => i),
      4,
      async (i) => {
        oursIds[i] = (await e.create(payload(i, 1024))).id;
        rawIds[i] = `r${i}`;
        await raw.write(`r${i}`, 0, payload(i, 1024));
      },
    );
    // A chain of depth max(depths) on one record of each side.
    const depth = Math.max(...opts.depths);
    const deep = oursIds[0]!;
    for (let k = 1; k <= depth; k++) {
      await e.update(deep, payload(k, 1024));
      await raw.write('r0', k, payload(k, 1024));
    }
    const midOv = Math.floor(depth / 2);
    const midAt = Date.parse((await e.getVersion(deep, midOv, { includeMeta: true }))!._meta!.at as string);
    let rawOv = depth + 1;

    const spec: Array<[string, (i: number) => Promise<void>, (i: number) => Promise<void>, string, number?]> = [
      [
        'local-create-1k',
        async () => void (await e.create(doc)),
        async (i) => raw.write(`c${i}`, 0, doc),
        'raw write: write + fsync a file, one SQLite transaction (version + head)',
      ],
      [`local-update-d${depth}`, async () => void (await e.update(deep, doc)), async () => raw.write('r0', rawOv++, doc), 'raw write on the same chain'],
      [
        'local-get-latest',
        async (i) => void (await e.getLatest(oursIds[i % n]!)),
        async (i) => void (await raw.readHead(rawIds[i % n]!)),
        'raw read: SELECT head by key + read the file',
      ],
      [
        `local-get-version-d${depth}`,
        async () => void (await e.getVersion(deep, midOv)),
        async () => void (await raw.readVersion('r0', midOv)),
        'raw read: SELECT version by key + read the file',
      ],
      [
        `local-get-as-of-d${depth}`,
        async () => void (await e.getAsOf(deep, midAt)),
        async () => void (await raw.readVersion('r0', midOv)),
        'raw read: SELECT version by key + read the file',
      ],
      [
        'local-list-p1',
        async () => void (await e.listByMeta({ filter: { grp: 'g' }, limit: opts.pageSize })),
        async () => void (await raw.list(opts.pageSize)),
        `raw page: SELECT ... LIMIT ${opts.pageSize} + file reads 8 at a time`,
        Math.max(1, Math.ceil(opts.localOps / 10)),
      ],
    ];
    for (const [name, o, r, baseline, ops] of spec) {
      if (!selected(opts, name) && !selected(opts, 'local')) continue;
      const res = await runPair(side(o), side(r), { ...pair, ...(ops ? { ops } : {}) });
      push({ table: 'local', name, ...res, ratio: ratioOf(res.ours, res.raw), baseline, targets: [] });
    }
    if (selected(opts, 'local-mixed') || selected(opts, 'local')) {
      const pick = (i: number) => (i * 7919) % n;
      const res = await runPair(
        side(async (i) => {
          const id = oursIds[pick(i)]!;
          if (i % 5 === 4) await e.update(id, doc);
          else await e.getLatest(id);
        }),
        side(async (i) => {
          const id = rawIds[pick(i)]!;
          if (i % 5 === 4) await raw.write(id, rawOv++, doc);
          else await raw.readHead(id);
        }),
        { batch: Math.max(opts.batch, opts.clients * 4), concurrency: opts.clients, ops: opts.localOps },
      );
      push({
        table: 'local',
        name: `local-mixed-80-20-c${opts.clients}`,
        ...res,
        ratio: ratioOf(res.ours, res.raw),
        baseline: '80% raw read / 20% raw write',
        targets: [],
      });
    }
    if (selected(opts, 'local-gc') || selected(opts, 'local')) push(await runLocalGc(opts, dir, log));
    for (const r of await runLocalFallback(opts, dir, log)) out.push(r);
    for (const r of await runLocalStudio(opts, dir, log)) out.push(r);
    if (selected(opts, 'local-lifecycle') || selected(opts, 'local')) for (const r of await runLocalLifecycle(opts, dir, log)) push(r);
    for (const r of await runLocalCli(opts, dir, log)) out.push(r);
  } finally {
    await storage.close();
    raw.db.close();
    if (!baseDir) rmSync(dir, { recursive: true, force: true });
  }
  return out;
}
