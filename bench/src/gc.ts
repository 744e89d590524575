/**
 * collectGarbage on many orphans (embedded default): N payload objects that no version
 * references, written straight into storage-local's folder layout (what lost write
 * attempts leave, without an fsync each so that seeding 100,000 stays quick), plus a few
 * committed records that must survive. Ours: `collectGarbage()` (streams the listing,
 * checks 500 keys per findVersions call). Raw: the floor of the same job, walking the
 * folders and unlinking every orphan file with no index lookup at all.
 *
 * Peak RSS is what to read: it is measured above the RSS at the start of each run, at
 * N/10 and at N, and should not grow with N (GC holds no list of keys).
 */
import { mkdir, opendir, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CollectionEngine, jsonKey, newAttempt, type Namespace } from '@chronos-db/core';
import { createLocalStorage } from '@chronos-db/storage-local';
import { measureOnce, pool, summarize, type Counters } from './measure.js';
import type { BenchOptions, WorkloadResult } from './options.js';
import type { Log } from './remote.js';

const NONE: Counters = { mongo: () => 0, s3: () => 0 };
const HOUR = 3600_000;
const KEPT = 20;

async function seedOrphans(jsonDir: string, ns: Namespace, n: number): Promise<void> {
  const body = Buffer.from(JSON.stringify({ orphan: true, pad: 'x'.repeat(200) }));
  await pool(
    Array.from({ length: n }, (_, i) => i),
    32,
    async (i) => {
      const file = join(jsonDir, ...jsonKey(ns, `orphan-${i % 1000}`, 0, newAttempt()).split('/'));
      await mkdir(join(file, '..'), { recursive: true });
      await writeFile(file, body);
    },
  );
}

/** Walks `dir` without holding the tree (one open directory per level) and unlinks every file. */
async function unlinkAll(dir: string): Promise<number> {
  let n = 0;
  const d = await opendir(dir);
  for await (const e of d) {
    const p = join(dir, e.name);
    if (e.isDirectory()) n += await unlinkAll(p);
    else {
      await unlink(p);
      n++;
    }
  }
  return n;
}

const mb = (b: number) => Number((b / 1048576).toFixed(1));

export async function runLocalGc(opts: BenchOptions, dir: string, log: Log): Promise<WorkloadResult> {
  const n = opts.gcN;
  const base = join(dir, 'gc');
  const storage = createLocalStorage({ basePath: base });
  const jsonDir = join(base, 'blobs', 'json');
  const ns: Namespace = { dbName: 'bench', collection: 'gc' };
  const orphanNs: Namespace = { dbName: 'bench', collection: 'gc' };
  // The collector's clock runs two hours ahead: every object is older than the default grace period.
  const engine = new CollectionEngine({ ns, meta: storage.meta, blobs: storage.blobs, clock: () => Date.now() + 2 * HOUR });
  try {
    const kept: string[] = [];
    for (let i = 0; i < KEPT; i++) kept.push((await engine.create({ i })).id);
    const growth: Record<string, number> = {};
    const oursRun = async (size: number) => {
      log(`  (setup: ${size} orphan payloads)`);
      await seedOrphans(jsonDir, orphanNs, size);
      const m = await measureOnce({ op: async () => {}, counters: NONE }, size, async () => {
        const r = await engine.collectGarbage();
        if (r.removed !== size) throw new Error(`collectGarbage removed ${r.removed} of ${size}`);
      });
      growth[`rssGrowthAt${size}Mb`] = mb(m.rssPeak - m.rssStart);
      return m;
    };
    if (n >= 100) await oursRun(Math.floor(n / 10));
    const ours = await oursRun(n);
    for (const id of kept) if (!(await engine.getLatest(id))) throw new Error('collectGarbage removed a committed payload');
    log(`  (setup: ${n} orphan payloads for the raw side)`);
    const rawDir = join(dir, 'gc-raw');
    await seedOrphans(rawDir, orphanNs, n);
    const raw = await measureOnce({ op: async () => {}, counters: NONE }, n, async () => {
      const removed = await unlinkAll(rawDir);
      if (removed !== n) throw new Error(`raw unlinked ${removed} of ${n}`);
    });
    const side = (m: typeof ours) => summarize({ lat: [m.wallMs / n], wallMs: m.wallMs, cpuUs: m.cpuUs, mongo: 0, s3: 0, rssPeak: m.rssPeak, ops: n });
    const o = side(ours);
    const r = side(raw);
    return {
      table: 'local',
      name: `local-gc-${n}`,
      ours: o,
      raw: r,
      ratio: Number((r.opsPerSec > 0 ? o.opsPerSec / r.opsPerSec : 0).toFixed(3)),
      baseline: 'raw: walk the folders and unlink every orphan, no index lookup (the floor of the job)',
      targets: [],
      notes: {
        orphans: n,
        kept: KEPT,
        rssAtStartMb: mb(ours.rssStart),
        rssPeakMb: mb(ours.rssPeak),
        ...growth,
        latency: 'p50/p99 are the per-object mean of the run',
      },
    };
  } finally {
    await storage.close();
    await rm(join(dir, 'gc-raw'), { recursive: true, force: true });
  }
}
