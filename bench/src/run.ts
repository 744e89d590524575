/** Argument parsing and one whole bench run. */
import os from 'node:os';
import { PRESETS, type BenchOptions, type BenchReport } from './options.js';
import { openRemote, redactUrl, type RemoteEnv } from './remote-env.js';
import { runRemoteWorkloads, type Log } from './remote.js';
import { runLocalWorkloads } from './local.js';
import { runHistoryWorkloads } from './history.js';
import { runRemoteLifecycle } from './lifecycle.js';
import { runBulkLocal, runBulkRemote, runLeanInstall } from './bulk.js';
import { runRebalanceRemote } from './rebalance.js';

export const USAGE = `pnpm bench [-- options]

  --quick               a few minutes on 2 cores (smaller N, list page 20, restore of 1,200)
  --smoke               tiny sizes, no target checks (what the test suite runs)
  --workloads a,b       only workloads whose name starts with one of these
                        (create-1k create-64k update-dD get-latest get-version-dD get-as-of-dD
                         list-p1 list-pP restore-N mixed createMany local local-gc local-cli
                         local-create-141b local-createMany local-bytes local-list-as-of local-studio local-lifecycle lean
                         as-of-manifest-d1000: getAsOf through a manifest on Ceph vs the index on FerretDB
                         rebalance: starts a second FerretDB, moves restore-N records to it)
  --creates N           operations per side for each create workload
  --updates N           timed updates per side per chain depth
  --depths 1,100,1000   update-chain depths (reads at depth use the smallest and largest)
  --reads N             operations per side per read workload
  --page-size N         listByMeta page size (50)     --deep-page P   the page compared with page 1 (100)
  --page-ops N          operations per side per list workload
  --restore N           records for restoreCollection  --restore-rounds R   runs per side
  --parallel N          restoreCollection parallel / raw bulk PUT concurrency
  --mixed N             operations per side of the mixed 80/20 workload  --clients C (16)
  --batch N             operations per batch before the sides swap
  --local-ops N         operations per side in the embedded table
  --gc N                orphan payloads for collectGarbage (local-gc-N; also runs N/10 to compare peak RSS)
  --studio-versions N   versions of the record whose first timeline page the studio opens (10000)
  --lifecycle N         version rows for rollup, prune and getAsOf through a manifest (local-lifecycle: records of 1,000 versions)
  --cli-records N       records the CLI exports and imports (local-cli-export-N, local-cli-import-N; quick 10000, full 20000)
  --no-remote | --no-local
  --keep                keep the bench database and buckets
  --out DIR             where the JSON goes (default bench/results)
`;

export interface CliArgs {
  preset: 'full' | 'quick' | 'smoke';
  opts: BenchOptions;
  keep: boolean;
  out?: string;
  help: boolean;
}

export function parseArgs(argv: string[]): CliArgs {
  let preset: CliArgs['preset'] = 'full';
  if (argv.includes('--smoke')) preset = 'smoke';
  else if (argv.includes('--quick')) preset = 'quick';
  const opts: BenchOptions = { ...PRESETS[preset], depths: [...PRESETS[preset].depths], workloads: [] };
  const res: CliArgs = { preset, opts, keep: false, help: false };
  const int = (flag: string, v: string | undefined): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} needs a positive integer`);
    return n;
  };
  const nums: Record<string, keyof BenchOptions> = {
    '--creates': 'creates',
    '--updates': 'updates',
    '--reads': 'reads',
    '--page-size': 'pageSize',
    '--deep-page': 'deepPage',
    '--page-ops': 'pageOps',
    '--restore': 'restoreN',
    '--restore-rounds': 'restoreRounds',
    '--parallel': 'parallel',
    '--mixed': 'mixedOps',
    '--clients': 'clients',
    '--batch': 'batch',
    '--local-ops': 'localOps',
    '--pool': 'pool',
    '--gc': 'gcN',
    '--studio-versions': 'studioVersions',
    '--lifecycle': 'lifecycleRows',
    '--cli-records': 'cliRecords',
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') continue;
    if (a === '--quick' || a === '--smoke') continue;
    if (a === '--help' || a === '-h') res.help = true;
    else if (a === '--keep') res.keep = true;
    else if (a === '--no-remote') opts.remote = false;
    else if (a === '--no-local') opts.local = false;
    else if (a === '--no-targets') opts.checkTargets = false;
    else if (a === '--out') res.out = argv[++i];
    else if (a === '--workloads')
      opts.workloads = (argv[++i] ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    else if (a === '--depths') opts.depths = (argv[++i] ?? '').split(',').map((s) => int('--depths', s.trim()));
    else if (nums[a]) (opts as unknown as Record<string, number>)[nums[a]] = int(a, argv[++i]);
    else throw new Error(`unknown option ${a}\n\n${USAGE}`);
  }
  if (opts.deepPage < 2) throw new Error('--deep-page must be at least 2');
  return res;
}

/** Runs the remote table (when `env` is given and opts.remote) and the embedded table (opts.local). */
export async function runBench(a: { preset: string; opts: BenchOptions; env?: RemoteEnv; keep?: boolean; log?: Log }): Promise<BenchReport> {
  const log = a.log ?? (() => {});
  const startedAt = new Date().toISOString();
  const results = [];
  let servers: BenchReport['servers'];
  if (a.opts.remote && a.env) {
    servers = { mongo: redactUrl(a.env.mongoUrl), s3: redactUrl(a.env.s3Endpoint) };
    log(`remote: chronos-db vs raw drivers on ${servers.mongo} and ${servers.s3}`);
    const setup = await openRemote(a.env);
    // Interrupted (Ctrl-C, kill): still drop the bench database and buckets.
    const onSignal = (sig: NodeJS.Signals) => {
      log(`  (${sig}: cleanup)`);
      setup.close({ keep: !!a.keep }).finally(() => process.exit(130));
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      results.push(...(await runRemoteWorkloads(setup, a.opts, log)));
      results.push(...(await runHistoryWorkloads(setup, a.opts, log)));
      results.push(...(await runRemoteLifecycle(setup, a.opts, log)));
      results.push(...(await runBulkRemote(setup, a.opts, log)));
      results.push(...(await runRebalanceRemote(a.env, a.opts, log)));
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      log('  (cleanup)');
      await setup.close({ keep: !!a.keep });
    }
  }
  if (a.opts.local) {
    log('embedded: storage-local vs raw better-sqlite3 + fs');
    results.push(...(await runLocalWorkloads(a.opts, log)));
    results.push(...(await runBulkLocal(a.opts, log)));
    if (a.preset !== 'smoke') results.push(...(await runLeanInstall(a.opts, log)));
  }
  return {
    startedAt,
    finishedAt: new Date().toISOString(),
    preset: a.preset,
    options: a.opts,
    machine: { node: process.version, cpus: os.cpus().length, platform: `${os.platform()} ${os.arch()}` },
    ...(servers ? { servers } : {}),
    results,
  };
}
