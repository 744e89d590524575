/**
 * Rebalance (issue 17), remote table, on two FerretDB servers: the bench's
 * server (backend `a`) and one this workload starts and stops (backend `b`).
 *
 * - rebalance-N: N records (one version each, in T tenants) written on `a`,
 *   then `admin.rebalance({ drain: ['a'] })` moves every tenant to `b`. Ours:
 *   records moved per second in the copy phase (copy, verify, flip: from the
 *   end of the fence grace to the last flip); the whole call, with its two
 *   fixed grace waits (placementLeaseMs + 2 x operationTimeoutMs each), is in
 *   the notes. Raw: the floor of the same job, the same version and head
 *   documents read from `a` and insertMany'd into `b` with the driver, no
 *   verify. Target ours/raw >= 0.5.
 * - The extra cost of a hashed context's first resolution in a process (in
 *   the notes): a read of a never-seen namespace (registry read, one probe per
 *   server, one insert), of a namespace with an entry (one registry read),
 *   against the same read once the entry is cached (no registry call).
 *
 * Payloads go to a local folder (the storage connection does not change in a
 * move, so they are never copied: what the issue asks).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { initChronos, type ChronosConfig } from 'chronos-db';
import { MongoClient } from 'mongodb';
import { wallOnly as side } from './measure.js';
import { selected, type BenchOptions, type WorkloadResult } from './options.js';
import type { RemoteEnv } from './remote-env.js';
import type { Log } from './remote.js';

/** The FerretDB binary scripts/ferretdb.sh builds, in the repository the process runs from. */
function ferretBin(): string {
  for (let d = process.cwd(); ; d = dirname(d)) {
    if (existsSync(join(d, 'pnpm-workspace.yaml'))) return join(d, 'tools', 'ferretdb', 'ferretdb-bin');
    if (dirname(d) === d) return join(process.cwd(), 'tools', 'ferretdb', 'ferretdb-bin');
  }
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const freePort = () =>
  new Promise<number>((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => res(port));
    });
  });
const accepts = (port: number) =>
  new Promise<boolean>((res) => {
    const c = connect(port, '127.0.0.1');
    c.once('connect', () => {
      c.destroy();
      res(true);
    });
    c.once('error', () => res(false));
  });

async function startFerret(BIN: string): Promise<{ url: string; stop: () => void }> {
  const port = await freePort();
  const data = mkdtempSync(join(tmpdir(), 'bench-ferret-'));
  const child: ChildProcess = spawn(BIN, ['-listen', `127.0.0.1:${port}`, '-data', data], { stdio: 'ignore' });
  const stop = () => {
    child.kill('SIGKILL');
    rmSync(data, { recursive: true, force: true });
  };
  for (let i = 0; i < 300; i++) {
    if (await accepts(port)) return { url: `mongodb://127.0.0.1:${port}/`, stop };
    await sleep(100);
  }
  stop();
  throw new Error('the second FerretDB did not accept connections within 30 s');
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

export async function runRebalanceRemote(env: RemoteEnv, opts: BenchOptions, log: Log): Promise<WorkloadResult[]> {
  const n = Math.max(16, Math.min(5000, opts.restoreN));
  const name = `rebalance-${n}`;
  if (!selected(opts, 'rebalance')) return [];
  const BIN = ferretBin();
  if (!existsSync(BIN)) {
    log(`  ${name}: skipped (${BIN} is missing: scripts/ferretdb.sh start builds it)`);
    return [];
  }
  const tenants = Math.min(8, Math.max(2, Math.floor(n / 8)));
  const per = Math.ceil(n / tenants);
  const r = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const dbName = `bench_rb_${r}`;
  const base = mkdtempSync(join(tmpdir(), 'bench-rb-'));
  const second = await startFerret(BIN);
  const rawA = await new MongoClient(env.mongoUrl).connect();
  const rawB = await new MongoClient(second.url).connect();
  const leaseMs = 200;
  // the grace a fence waits is placementLeaseMs + 2 x operationTimeoutMs: short for --smoke, realistic otherwise
  const opTimeout = opts.checkTargets ? 10_000 : 2000;
  const config = (keys: Array<'a' | 'b'>, operationTimeoutMs = opTimeout): ChronosConfig => ({
    databases: { runtime: { tenants: keys.map((k) => ({ key: k, mongoUri: k === 'a' ? env.mongoUrl : second.url, dbName: `${dbName}_${k}` })) } },
    localStorage: { enabled: true, basePath: base },
    counters: { mongoUri: env.mongoUrl, dbName: `${dbName}_cnt` },
    routing: { hashAlgo: 'rendezvous', placementLeaseMs: leaseMs },
    operationTimeoutMs,
  });
  const ctx = (t: number) => ({ dbName, collection: 'items', tenantId: `t${t}` });
  const opened: Array<ReturnType<typeof initChronos>> = [];
  try {
    log(`  ${name}: seeding ${n} records in ${tenants} tenants on backend a`);
    const seed = initChronos(config(['a'], 60_000));
    opened.push(seed);
    for (let t = 0; t < tenants; t++) {
      const items = Array.from({ length: Math.min(per, n - t * per) }, (_, i) => ({ data: { n: i, name: `user-${i}`, email: `u${i}@example.com` } }));
      const rs = await seed.with(ctx(t)).createMany(items, { batchSize: 500 });
      const bad = rs.find((x) => !x.ok);
      if (bad) throw new Error(`seed: a createMany item failed: ${String((bad as { error?: Error }).error?.message)}`);
    }

    // raw: the same documents, read from a and inserted into b (another database), in batches of 1000
    const t0 = performance.now();
    for (let t = 0; t < tenants; t++) {
      for (const suffix of ['_ver', '_head']) {
        const coll = `t${t}__items${suffix}`;
        let batch: Record<string, unknown>[] = [];
        const dst = rawB.db(`${dbName}_raw`).collection(coll);
        for await (const d of rawA.db(dbName).collection(coll).find({}).batchSize(1000)) {
          batch.push(d);
          if (batch.length >= 1000) {
            await dst.insertMany(batch, { ordered: false });
            batch = [];
          }
        }
        if (batch.length) await dst.insertMany(batch, { ordered: false });
      }
    }
    const rawMs = performance.now() - t0;

    const mover = initChronos(config(['a', 'b']));
    opened.push(mover);
    let lastFenced = 0;
    let lastFlipped = 0;
    const t1 = performance.now();
    const res = await mover.admin.rebalance({
      confirm: true,
      drain: ['a'],
      batchSize: tenants,
      onProgress: (p) => {
        if (p.phase === 'fenced') lastFenced = performance.now();
        if (p.phase === 'flipped') lastFlipped = performance.now();
      },
    });
    const totalMs = performance.now() - t1;
    if (res.failed.length || res.moved !== tenants) throw new Error(`rebalance: ${res.moved} moved, failures ${JSON.stringify(res.failed)}`);
    const grace = leaseMs + 2 * opTimeout;
    const copyMs = Math.max(1, lastFlipped - (lastFenced + grace));
    const onB = await Promise.all(Array.from({ length: tenants }, (_, t) => rawB.db(dbName).collection(`t${t}__items_head`).countDocuments({})));
    if (onB.reduce((a, b) => a + b, 0) !== n) throw new Error(`rebalance: ${onB.reduce((a, b) => a + b, 0)} heads on b, expected ${n}`);

    // first resolution of a hashed context in a fresh process
    const fresh = initChronos(config(['a', 'b']));
    opened.push(fresh);
    const K = Math.min(20, Math.max(3, Math.floor(n / 50)));
    const firstNew: number[] = [];
    const firstKnown: number[] = [];
    const cached: number[] = [];
    for (let i = 0; i < K; i++) {
      const c = fresh.with({ dbName, collection: 'never', tenantId: `x${i}` });
      let s = performance.now();
      await c.getLatest('missing');
      firstNew.push(performance.now() - s);
      s = performance.now();
      await c.getLatest('missing');
      cached.push(performance.now() - s);
    }
    for (let t = 0; t < Math.min(K, tenants); t++) {
      const s = performance.now();
      await fresh.with(ctx(t)).getLatest('missing');
      firstKnown.push(performance.now() - s);
    }
    const ours = side(n, copyMs);
    const raw = side(n, rawMs);
    const ratio = Number((ours.opsPerSec / raw.opsPerSec).toFixed(3));
    log(`  ${name}: ours ${ours.opsPerSec} records/s (copy phase), raw ${raw.opsPerSec}, ratio ${ratio}`);
    return [
      {
        table: 'remote',
        name,
        ours,
        raw,
        ratio,
        baseline: 'raw find + insertMany of the same version and head documents from server a to server b',
        targets: opts.checkTargets ? [{ what: 'records moved/s ours/raw >= 0.5', value: ratio, min: 0.5, met: ratio >= 0.5 }] : [],
        notes: {
          tenants,
          wholeCallMs: Math.round(totalMs),
          graceWaitsMs: 2 * grace,
          recordsPerSecWholeCall: Number((n / (totalMs / 1000)).toFixed(1)),
          firstResolutionNewMs: Number(mean(firstNew).toFixed(2)),
          firstResolutionKnownMs: Number(mean(firstKnown).toFixed(2)),
          cachedOpMs: Number(mean(cached).toFixed(2)),
          extraFirstResolutionMs: Number((mean(firstNew) - mean(cached)).toFixed(2)),
        },
      },
    ];
  } finally {
    for (const c of opened) await c.admin.shutdown().catch(() => {});
    await rawA
      .db(dbName)
      .dropDatabase()
      .catch(() => {});
    await rawA
      .db(`${dbName}_cnt`)
      .dropDatabase()
      .catch(() => {});
    await rawA.close().catch(() => {});
    await rawB.close().catch(() => {});
    second.stop();
    rmSync(base, { recursive: true, force: true });
  }
}
