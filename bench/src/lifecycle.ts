/**
 * Retention on the embedded default (issue 11): rollup of N version rows into manifests
 * (rows/s, peak RSS above the start: flat whatever N, since rollup streams), prune of the same
 * rows, and getAsOf at depth 1,000 through a manifest against getAsOf from the index.
 *
 * Seeding: R records of 1,000 versions each (N = R x 1,000 rows), committed with commitMany
 * (one transaction per ov level) and pointing at one payload per record, so seeding 100,000
 * rows stays quick. Retention keeps the newest 10 versions of each record.
 *
 * - local-rollup-N: ours = `rollupNamespace` (all due rows into gzip parts); raw = the read
 *   floor of the same job (listVersions of every due row, nothing written).
 * - local-prune-N: ours = `pruneNamespace` (parts read back and checked, rows compared, then
 *   removed); raw = a plain `DELETE` of the same rows in one transaction. Ops are records (rows/s in the notes).
 * - local-as-of-manifest-d1000: ours = getAsOf of version 500 of 1,000 after pruning (a
 *   manifest read); raw = the same reads before pruning (from the index). Cold: every manifest
 *   cache of the process is emptied before each read (clearManifestCaches: the index, footers,
 *   pages, blocks and rows all fetched again), as in a fresh process; first read of a record:
 *   the index and footers kept (a process that has read other records); warm: all caches kept.
 *   The target: a cold manifest read within 3x of an index read. The notes add what a cold read
 *   costs whatever the load: manifest GETs, bytes fetched, rows gunzipped and rows parsed.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import {
  CollectionEngine,
  clearManifestCaches,
  manifestReadStats,
  pruneNamespace,
  rollupNamespace,
  sha256,
  type CommitInput,
  type Namespace,
} from '@chronos-db/core';
import { createLocalMetadataStore, createSqliteBlobStore, METADATA_FILE } from '@chronos-db/storage-local';
import { measureOnce, runPair, summarize, type Counters, type Side, type SideResult } from './measure.js';
import type { BenchOptions, WorkloadResult } from './options.js';
import type { Log } from './remote.js';

const NONE: Counters = { mongo: () => 0, s3: () => 0 };
const DEPTH = 1000;
const KEEP = 10;
const mb = (b: number) => Number((b / 1048576).toFixed(1));

/** A local-table result of ours against raw, without targets. */
function pairResult(name: string, ours: SideResult, raw: SideResult, baseline: string, notes: Record<string, unknown>): WorkloadResult {
  return { table: 'local', name, ours, raw, ratio: Number((ours.opsPerSec / Math.max(raw.opsPerSec, 1e-9)).toFixed(3)), baseline, targets: [], notes };
}

export async function runLocalLifecycle(opts: BenchOptions, dir: string, log: Log): Promise<WorkloadResult[]> {
  const rows = opts.lifecycleRows;
  const records = Math.max(1, Math.round(rows / DEPTH));
  const base = join(dir, 'lifecycle');
  const meta = createLocalMetadataStore({ basePath: base });
  const blobs = createSqliteBlobStore({ basePath: base, filename: join(base, METADATA_FILE), deferSync: true });
  const ns: Namespace = { dbName: 'bench', collection: 'lifecycle' };
  const out: WorkloadResult[] = [];
  try {
    await meta.ensureNamespace(ns);
    log(`  (setup: ${records} records x ${DEPTH} versions = ${records * DEPTH} rows)`);
    const t0 = Date.parse('2026-01-01T00:00:00Z');
    const ids = Array.from({ length: records }, (_, r) => `rec${String(r).padStart(6, '0')}`);
    const payload = new Map<string, { key: string; size: number; sha: string }>();
    for (const id of ids) {
      const body = Buffer.from(JSON.stringify({ id, pad: 'x'.repeat(120), _system: { insertedAt: new Date(t0).toISOString() } }));
      const key = `bench/lifecycle/${id}/v0/seed/item.json`;
      await blobs.put('json', key, body);
      payload.set(id, { key, size: body.byteLength, sha: sha256(body) });
    }
    const heads = new Map<string, { cv: number }>();
    for (let ov = 0; ov < DEPTH; ov++) {
      const inputs: CommitInput[] = ids.map((id) => {
        const p = payload.get(id)!;
        return {
          ns,
          version: {
            itemId: id,
            ov,
            op: ov ? 'UPDATE' : 'CREATE',
            at: t0 + ov * 60_000,
            jsonKey: p.key,
            size: p.size,
            sha256: p.sha,
            metaIndexed: { n: ov },
            deleted: false,
          },
          expectedOv: ov ? ov - 1 : null,
          head: ov ? {} : { createdAt: t0 },
          ...(ov ? { prev: { cv: heads.get(id)!.cv, createdAt: t0 } } : {}),
        };
      });
      const res = await meta.commitMany(inputs);
      res.forEach((r, i) => {
        if (!r.ok) throw r.error;
        heads.set(ids[i]!, { cv: r.cv });
      });
    }
    const retention = { maxVersions: KEEP };
    const due = records * (DEPTH - KEEP);
    const target = { ns, meta, blobs, retention, period: 'monthly' as const, now: t0 + DEPTH * 60_000 };
    const engine = new CollectionEngine({ ns, meta, blobs });
    const asOfAt = t0 + 500 * 60_000;
    const reads = Math.max(20, Math.min(opts.reads, 1000));
    const readSide = (): Side => ({
      op: async (i) => {
        const r = await engine.getAsOf(ids[i % records]!, asOfAt);
        if (!r || r.id !== ids[i % records]) throw new Error('getAsOf through the bench answered wrong');
      },
      counters: NONE,
    });

    // getAsOf from the index (before pruning): the raw side of the manifest read
    log('  getAsOf at depth 1,000 from the index');
    const fromIndex = await runPair(readSide(), readSide(), { batch: reads, concurrency: 1, ops: reads });

    log(`  rollup of ${due} rows`);
    const rssBase = process.memoryUsage.rss();
    let rolled = 0;
    const rollM = await measureOnce({ op: async () => {}, counters: NONE }, due, async () => {
      rolled = (await rollupNamespace(target)).rows;
    });
    if (rolled !== due) throw new Error(`rollup wrote ${rolled} of ${due} rows`);
    const scanM = await measureOnce({ op: async () => {}, counters: NONE }, due, async () => {
      let n = 0;
      for (const id of ids) n += (await meta.listVersions(ns, id, { beforeOv: DEPTH - KEEP, limit: DEPTH })).length;
      if (n !== due) throw new Error(`listed ${n} of ${due}`);
    });
    const side = (m: { wallMs: number; cpuUs: number; rssPeak: number }, ops: number) =>
      summarize({ lat: [m.wallMs / ops], wallMs: m.wallMs, cpuUs: m.cpuUs, mongo: 0, s3: 0, rssPeak: m.rssPeak, ops });
    const rollOurs = side(rollM, due);
    const rollRaw = side(scanM, due);
    out.push(
      pairResult(`local-rollup-${due}`, rollOurs, rollRaw, 'raw: listVersions of every due row (the read floor; nothing written)', {
        rows: due,
        rowsPerSec: rollOurs.opsPerSec,
        rssAtStartMb: mb(rssBase),
        rssPeakMb: mb(rollM.rssPeak),
        rssGrowthMb: mb(rollM.rssPeak - rollM.rssStart),
      }),
    );

    log(`  prune of ${due} rows`);
    let pruned = 0;
    const pruneM = await measureOnce({ op: async () => {}, counters: NONE }, due, async () => {
      pruned = (await pruneNamespace(target)).rows;
    });
    if (pruned !== due) throw new Error(`prune removed ${pruned} of ${due} rows`);
    // raw: the same DELETE on a copy of the rows in a plain table, one transaction
    const raw = new Database(join(base, 'raw-prune.sqlite'));
    raw.pragma('journal_mode = WAL');
    raw.exec('CREATE TABLE v (id TEXT NOT NULL, ov INTEGER NOT NULL, doc TEXT, PRIMARY KEY (id, ov)) WITHOUT ROWID');
    const ins = raw.prepare('INSERT INTO v VALUES (?, ?, ?)');
    raw.transaction(() => {
      for (const id of ids) for (let ov = 0; ov < DEPTH; ov++) ins.run(id, ov, '{"x":1}');
    })();
    const del = raw.prepare('DELETE FROM v WHERE id = ? AND ov < ?');
    const rawPruneM = await measureOnce({ op: async () => {}, counters: NONE }, due, async () => {
      raw.transaction(() => {
        for (const id of ids) del.run(id, DEPTH - KEEP);
      })();
    });
    raw.close();
    // ops here are records (one DELETE statement each on the raw side): a per-row mean of the raw delete rounds to 0
    const pOurs = side(pruneM, records);
    const pRaw = side(rawPruneM, records);
    out.push(
      pairResult(`local-prune-${due}`, pOurs, pRaw, 'raw: DELETE of the same rows in one SQLite transaction (no manifest check)', {
        rows: due,
        records,
        opsAre: 'records',
        rowsPerSec: Number(((due * 1000) / pruneM.wallMs).toFixed(1)),
        rssPeakMb: mb(pruneM.rssPeak),
      }),
    );

    log('  getAsOf at depth 1,000 through the manifest');
    const check = await engine.getAsOf(ids[0]!, asOfAt, { includeMeta: true });
    if (check?._meta?.source !== 'manifest') throw new Error('the pruned read did not come from a manifest');
    // cold: nothing of the manifests cached before each read (index, footer, page, block: all fetched, checked, decoded)
    const stats0 = { ...manifestReadStats };
    const cold = Math.min(reads, 300);
    const coldM = await measureOnce({ op: async () => {}, counters: NONE }, cold, async () => {
      for (let i = 0; i < cold; i++) {
        clearManifestCaches();
        await readSide().op(i);
      }
    });
    const per = (k: keyof typeof manifestReadStats) => Number(((manifestReadStats[k] - stats0[k]) / cold).toFixed(1));
    const coldCost = { getsPerRead: per('gets'), bytesPerRead: per('bytes'), rowsGunzippedPerRead: per('rowsDecoded'), rowsParsedPerRead: per('rowsParsed') };
    const coldMs = coldM.wallMs / cold;
    const coldCpuMs = coldM.cpuUs / 1000 / cold;
    // a record's first read in a process that has read others: the index and the part's footer cached, its segment and block not
    const firstM = await measureOnce({ op: async () => {}, counters: NONE }, cold, async () => {
      for (let i = 0; i < cold; i++) {
        clearManifestCaches({ keepIndexes: true });
        await readSide().op(i);
      }
    });
    const firstMs = firstM.wallMs / cold;
    const fromManifest = await runPair(readSide(), readSide(), { batch: reads, concurrency: 1, ops: reads });
    const slowdown = coldMs / Math.max(fromIndex.ours.meanMs, 1e-9);
    const warmSlowdown = fromManifest.ours.meanMs / Math.max(fromIndex.ours.meanMs, 1e-9);
    out.push({
      table: 'local',
      name: 'local-as-of-manifest-d1000',
      ours: fromManifest.ours,
      raw: fromIndex.ours,
      ratio: Number((fromManifest.ours.opsPerSec / Math.max(fromIndex.ours.opsPerSec, 1e-9)).toFixed(3)),
      baseline: 'raw: the same getAsOf before pruning (from the version index); ours: warm reads (rows of recently read records kept)',
      targets: opts.checkTargets ? [{ what: 'cold manifest read time / index read time', value: Number(slowdown.toFixed(2)), max: 3, met: slowdown <= 3 }] : [],
      notes: {
        coldManifestReadMs: Number(coldMs.toFixed(3)),
        coldManifestCpuMs: Number(coldCpuMs.toFixed(3)),
        indexReadMs: fromIndex.ours.meanMs,
        indexCpuMs: fromIndex.ours.cpuMsPerOp,
        coldCpuOverIndex: Number((coldCpuMs / Math.max(fromIndex.ours.cpuMsPerOp, 1e-9)).toFixed(2)),
        firstReadOfRecordMs: Number(firstMs.toFixed(3)),
        firstReadOfRecordOverIndex: Number((firstMs / Math.max(fromIndex.ours.meanMs, 1e-9)).toFixed(2)),
        firstReadOfRecordCpuOverIndex: Number((firstM.cpuUs / 1000 / cold / Math.max(fromIndex.ours.cpuMsPerOp, 1e-9)).toFixed(2)),
        ...coldCost,
        coldOverIndex: Number(slowdown.toFixed(2)),
        warmOverIndex: Number(warmSlowdown.toFixed(2)),
      },
    });
  } finally {
    await meta.close();
    await blobs.close();
  }
  return out;
}
