/**
 * The `chronos` command line (embedded default), from the BUILT binary
 * (packages/cli/dist/bin.cjs; `pnpm build` first, else these are skipped with a note):
 * - local-cli-version, local-cli-get: start-up, each run a new process, against
 *   `node -e 0` (the ratio is what to read: node's own start-up is the floor;
 *   target: under 300 ms);
 * - local-cli-export-N, local-cli-import-N: records/s of `chronos export` and
 *   `chronos import` against the library calls they wrap, in this process
 *   (listAsOf pages + JSON lines; createManyStream with the same ids and
 *   requestIds); target >= 0.9x. N: --cli-records (quick 10,000, full 20,000).
 *   The spawned binary is timed whole; its start-up (the same command on an
 *   empty collection) is reported apart (notes.startupMs), with the ratio once
 *   it is taken off (notes.ratioAfterStartup). notes.ratioMarginal is the
 *   steady state: both sides also run on a collection of N/5 records, and the
 *   ratio is of what the N - N/5 more records cost each side (start-up, JIT
 *   warm-up and other fixed costs cancel); with per-record microseconds.
 *   The 0.9x target is judged on that steady state (records/s is a rate; the
 *   issue gives start-up a target of its own, local-cli-version/get); the
 *   whole-run ratio stays in the table's ratio column and the after-start-up
 *   one in the notes.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initChronos } from 'chronos-db';
import { summarize } from './measure.js';
import { selected, type BenchOptions, type WorkloadResult } from './options.js';
import type { Log } from './remote.js';

const BIN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'packages', 'cli', 'dist', 'bin.cjs');

function timed(fn: () => void): number {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

function side(ms: number[], units: number) {
  const wallMs = ms.reduce((a, b) => a + b, 0);
  return summarize({ lat: ms.map((m) => m / units), wallMs, cpuUs: 0, mongo: 0, s3: 0, rssPeak: 0, ops: units * ms.length });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function runLocalCli(opts: BenchOptions, dir: string, log: Log): Promise<WorkloadResult[]> {
  // opt-in for --smoke (it spawns the built binary): only when named
  if (!opts.checkTargets && !opts.workloads.some((w) => w.startsWith('local-cli'))) return [];
  if (!['local-cli', 'local'].some((w) => selected(opts, w)) && opts.workloads.length) return [];
  if (!existsSync(BIN)) {
    log(`  (local-cli skipped: ${BIN} is missing; run pnpm build)`);
    return [];
  }
  const out: WorkloadResult[] = [];
  const base = join(dir, 'cli');
  mkdirSync(base, { recursive: true });
  const config = { localStorage: { enabled: true, basePath: './data' } };
  writeFileSync(join(base, 'chronos.config.json'), JSON.stringify({ ...config, defaults: { db: 'bench', collection: 'items' } }));
  const n = opts.cliRecords;
  const small = Math.max(1, Math.floor(n / 5));
  const runs = opts.checkTargets ? 15 : 3;
  const chronos = initChronos({ localStorage: { enabled: true, basePath: join(base, 'data') } });
  const node = (args: string[], input?: string) => {
    const r = spawnSync(process.execPath, args, { cwd: base, input, encoding: 'utf8', maxBuffer: 1 << 30, env: { ...process.env, NO_COLOR: '1' } });
    if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr}`);
    return r.stdout;
  };
  try {
    log(`  (setup: ${n} records for the CLI workloads)`);
    const items = chronos.with({ dbName: 'bench', collection: 'items' });
    const rec = (i: number) => ({ id: `r-${i}`, data: { i, name: `record ${i}`, tags: ['a', 'b'], pad: 'x'.repeat(200) } });
    await items.createMany(Array.from({ length: n }, (_, i) => rec(i)));
    // a fifth as many, for the steady-state (marginal) ratio
    await chronos.with({ dbName: 'bench', collection: 'small' }).createMany(Array.from({ length: small }, (_, i) => rec(i)));
    await chronos.admin.shutdown();

    // start-up: alternate the sides run by run
    for (const [name, args] of [
      ['local-cli-version', [BIN, '--version']],
      ['local-cli-get', [BIN, 'get', 'r-1']],
    ] as const) {
      if (opts.workloads.length && !selected(opts, name) && !selected(opts, 'local-cli') && !selected(opts, 'local')) continue;
      const ours: number[] = [];
      const raw: number[] = [];
      node([...args]); // warm the file cache
      for (let k = 0; k < runs; k++) {
        ours.push(timed(() => node([...args])));
        raw.push(timed(() => node(['-e', '0'])));
      }
      const o = side(ours, 1);
      const r = side(raw, 1);
      const ms = median(ours);
      out.push({
        table: 'local',
        name,
        ours: o,
        raw: r,
        ratio: Number((o.opsPerSec / r.opsPerSec).toFixed(3)),
        baseline: '`node -e 0` (a new process that does nothing)',
        targets: [{ what: 'median start-up ms', value: Number(ms.toFixed(1)), max: 300, met: ms < 300 }],
        notes: { medianMs: Number(ms.toFixed(1)), nodeMedianMs: Number(median(raw).toFixed(1)), timesNode: Number((ms / median(raw)).toFixed(2)), runs },
      });
    }

    // export: the CLI process vs the listAsOf pages + JSON lines it wraps (in this process)
    const rounds = opts.checkTargets ? 2 : 1;
    // the start-up of the same command, measured apart: `export` of a collection with no record
    const startup: number[] = [];
    for (let k = 0; k < runs; k++) startup.push(timed(() => node([BIN, '--collection', 'empty', 'export'])));
    const startupMs = median(startup);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const afterStartup = (ms: number[], lib: number[]) => {
      const cli = mean(ms) - startupMs;
      return cli > 0 ? Number((mean(lib) / cli).toFixed(3)) : null;
    };
    // the steady state: what the N - N/5 more records cost each side (start-up, warm-up and other fixed costs cancel)
    const marginal = (t: {
      cli: number[];
      lib: number[];
      cliSmall: number[];
      libSmall: number[];
    }): { ratioMarginal?: number; cliUsPerRecord?: number; libUsPerRecord?: number } => {
      const cli = mean(t.cli) - mean(t.cliSmall);
      const lib = mean(t.lib) - mean(t.libSmall);
      return cli > 0 && lib > 0
        ? {
            ratioMarginal: Number((lib / cli).toFixed(3)),
            cliUsPerRecord: Number(((cli * 1000) / (n - small)).toFixed(1)),
            libUsPerRecord: Number(((lib * 1000) / (n - small)).toFixed(1)),
          }
        : {};
    };
    // the target: steady-state records/s vs the library (a side too fast to time is no figure: missed)
    const steadyTarget = (r: number | undefined) => ({ what: 'steady-state records/s vs library', value: r ?? 0, min: 0.9, met: r !== undefined && r >= 0.9 });
    const exportLib = async (collection: string, count: number) => {
      const lib = initChronos({ localStorage: { enabled: true, basePath: join(base, 'data') } });
      const col = lib.with({ dbName: 'bench', collection });
      const t0 = performance.now();
      let pageToken: string | undefined;
      const at = new Date().toISOString() as `${number}-${number}-${number}`;
      let lines = 0;
      do {
        const page = await col.listAsOf({ at }, { limit: 200, ...(pageToken ? { pageToken } : {}) }, { includeMeta: true });
        for (const rec of page.items) lines += JSON.stringify(rec).length > 0 ? 1 : 0;
        pageToken = page.pageToken;
      } while (pageToken);
      const ms = performance.now() - t0;
      await lib.admin.shutdown();
      if (lines !== count) throw new Error(`library export saw ${lines} of ${count}`);
      return ms;
    };
    // ms per round: the CLI and the library, on N and on N/5 records
    const sides = () => ({ cli: [] as number[], lib: [] as number[], cliSmall: [] as number[], libSmall: [] as number[] });
    // the row of a CLI workload against the library calls it wraps (`extra` notes stand after includesProcessStartup)
    const cliRow = (name: string, t: ReturnType<typeof sides>, baseline: string, extra: Record<string, unknown> = {}): WorkloadResult => {
      const ours = side(t.cli, n);
      const raw = side(t.lib, n);
      const steady = marginal(t);
      return {
        table: 'local',
        name,
        ours,
        raw,
        ratio: Number((ours.opsPerSec / raw.opsPerSec).toFixed(3)),
        baseline,
        targets: [steadyTarget(steady.ratioMarginal)],
        notes: {
          records: n,
          includesProcessStartup: true,
          ...extra,
          startupMs: Number(startupMs.toFixed(1)),
          ratioAfterStartup: afterStartup(t.cli, t.lib),
          marginalOver: `${small} -> ${n} records`,
          ...steady,
        },
      };
    };
    const ex = sides();
    let dump = '';
    let smallDump = '';
    for (let k = 0; k < rounds; k++) {
      ex.cli.push(
        timed(() => {
          dump = node([BIN, 'export']);
        }),
      );
      ex.lib.push(await exportLib('items', n));
      ex.cliSmall.push(
        timed(() => {
          smallDump = node([BIN, '--collection', 'small', 'export']);
        }),
      );
      ex.libSmall.push(await exportLib('small', small));
    }
    if (dump.trim().split('\n').length !== n) throw new Error('chronos export printed the wrong number of records');
    if (smallDump.trim().split('\n').length !== small) throw new Error('chronos export printed the wrong number of records');
    out.push(cliRow(`local-cli-export-${n}`, ex, 'listAsOf pages (200) + JSON.stringify per record, in-process (the calls chronos export wraps)'));

    // import into fresh collections: the CLI vs createManyStream with the same items
    const importLib = async (text: string, collection: string, count: number) => {
      const lib = initChronos({ localStorage: { enabled: true, basePath: join(base, 'data') } });
      const col = lib.with({ dbName: 'bench', collection });
      const t0 = performance.now();
      const recs = text
        .trim()
        .split('\n')
        .map((l) => {
          const { id, _system, _meta, ...data } = JSON.parse(l) as Record<string, unknown> & { id: string };
          void _system;
          void _meta;
          return { id, data, requestId: `import:${id}` };
        });
      let ok = 0;
      for await (const r of col.createManyStream(recs, { batchSize: 500 })) if (r.ok) ok++;
      const ms = performance.now() - t0;
      await lib.admin.shutdown();
      if (ok !== count) throw new Error(`library import landed ${ok} of ${count}`);
      return ms;
    };
    const im = sides();
    for (let k = 0; k < rounds; k++) {
      im.cli.push(timed(() => node([BIN, '--collection', `imp${k}`, 'import'], dump)));
      im.lib.push(await importLib(dump, `lib${k}`, n));
      im.cliSmall.push(timed(() => node([BIN, '--collection', `imps${k}`, 'import'], smallDump)));
      im.libSmall.push(await importLib(smallDump, `libs${k}`, small));
    }
    out.push(
      cliRow(`local-cli-import-${n}`, im, 'createManyStream (batch 500) of the same NDJSON, parsed in-process (the call chronos import wraps)', {
        cliValidatesTheWholeInputFirst: true,
      }),
    );
  } finally {
    await chronos.admin.shutdown().catch(() => {});
  }
  return out;
}
