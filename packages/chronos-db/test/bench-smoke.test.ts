/**
 * The benchmark cannot rot: its workload functions run here at tiny sizes
 * (the --smoke preset) against the test servers, and the shape of every
 * result is checked. No ratio or timing assertion: speed is `pnpm bench`'s job.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  PRESETS,
  openRemote,
  runBulkLocal,
  runBulkRemote,
  remoteEnvFromProcess,
  renderMarkdown,
  runLocalWorkloads,
  runRemoteWorkloads,
  runRebalanceRemote,
  type BenchOptions,
  type SideResult,
  type WorkloadResult,
} from '../../../bench/src/index.js';

const smoke: BenchOptions = { ...PRESETS.smoke, depths: [...PRESETS.smoke.depths] };

function checkSide(s: SideResult, what: string, trips: boolean): void {
  for (const k of ['opsPerSec', 'meanMs', 'p50Ms', 'p99Ms', 'cpuMsPerOp', 'peakRssMb', 'wallMs'] as const) {
    if (!(Number.isFinite(s[k]) && s[k] > 0)) throw new Error(`${what}.${k} = ${s[k]}`);
  }
  expect(s.ops).toBeGreaterThan(0);
  expect(s.p99Ms).toBeGreaterThanOrEqual(s.p50Ms);
  if (trips) expect(s.mongoCmdsPerOp).toBeGreaterThan(0);
}

function checkResult(r: WorkloadResult): void {
  checkSide(r.ours, `${r.name}.ours`, r.table === 'remote');
  checkSide(r.raw, `${r.name}.raw`, r.table === 'remote');
  expect(Number.isFinite(r.ratio) && r.ratio > 0).toBe(true);
  expect(r.targets).toEqual([]); // --smoke checks no targets
  expect(typeof r.baseline).toBe('string');
}

const remote = remoteEnvFromProcess();
const why =
  'missing' in remote ? `needs ${remote.missing.join(', ')} (scripts/ferretdb.sh start, scripts/ceph.sh start, then source .tmp/test-servers.env)` : '';

if ('missing' in remote && process.env.CI === 'true') {
  describe('bench smoke (remote)', () => {
    it('has its test servers', () => {
      throw new Error(`CI=true but the bench smoke test servers are not configured: ${why}`);
    });
  });
} else if ('missing' in remote) {
  // eslint-disable-next-line no-console
  console.log(`[skip] bench smoke (remote): ${why}`);
  describe.skip('bench smoke (remote)', () => {
    it('runs', () => undefined);
  });
} else {
  const env = remote;
  describe('bench smoke (remote)', () => {
    it('runs every workload at tiny sizes and reports well-formed figures', async () => {
      const setup = await openRemote(env);
      let results: WorkloadResult[];
      try {
        results = await runRemoteWorkloads(setup, smoke);
      } finally {
        await setup.close();
      }
      const names = results.map((r) => r.name);
      expect(names).toEqual([
        'create-1k',
        'create-64k',
        'update-d1',
        'update-d3',
        'get-latest',
        'get-version-d1',
        'get-version-d3',
        'get-as-of-d1',
        'get-as-of-d3',
        'smart-insert',
        'list-p1',
        'list-p3',
        `restore-${smoke.restoreN}`,
        `mixed-80-20-c${smoke.clients}`,
      ]);
      for (const r of results) {
        checkResult(r);
        // every remote operation of ours and of the raw side makes at least one round trip to each store,
        // except restore (pointer versions: no PUT)
        expect(r.ours.mongoCmdsPerOp).toBeGreaterThan(0);
        expect(r.raw.s3ReqsPerOp).toBeGreaterThan(0);
        if (!r.name.startsWith('restore-')) expect(r.ours.s3ReqsPerOp).toBeGreaterThan(0);
      }
      for (const name of ['create-1k', 'create-64k']) {
        const b = results.find((r) => r.name === name)!.bytesPerVersion!;
        for (const side of [b.ours, b.raw]) {
          expect(side.meta).toBeGreaterThan(0);
          expect(side.payload).toBeGreaterThan(0);
        }
        expect(b.ours.payload).toBeGreaterThan(name === 'create-64k' ? 64_000 : 1000);
      }
      const restore = results.find((r) => r.name.startsWith('restore-'))!;
      expect(restore.ours.ops).toBe(smoke.restoreN * smoke.restoreRounds);
      expect(
        renderMarkdown({ startedAt: '', finishedAt: '', preset: 'smoke', options: smoke, machine: { node: '', cpus: 1, platform: '' }, results }),
      ).toContain('| create-1k | ours |');
    });
  });
}

describe('bench smoke (embedded default)', () => {
  it('runs the storage-local table at tiny sizes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chronos-bench-smoke-'));
    try {
      const results = await runLocalWorkloads(smoke, () => {}, dir);
      expect(results.map((r) => r.name)).toEqual([
        'local-create-1k',
        'local-update-d3',
        'local-get-latest',
        'local-get-version-d3',
        'local-get-as-of-d3',
        'local-list-p1',
        `local-mixed-80-20-c${smoke.clients}`,
        `local-gc-${smoke.gcN}`,
        'local-fallback-queued-create',
        'local-fallback-drain-c1',
        'local-fallback-drain-c4',
        `local-studio-timeline-${smoke.studioVersions}`,
        'local-rollup-990',
        'local-prune-990',
        'local-as-of-manifest-d1000',
      ]);
      for (const r of results) checkResult(r);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('bench smoke (bulk writes and the embedded layout)', () => {
  const checkBulk = (r: WorkloadResult) => {
    for (const side of [r.ours, r.raw]) expect(Number.isFinite(side.opsPerSec) && side.opsPerSec > 0).toBe(true);
    expect(Number.isFinite(r.ratio) && r.ratio > 0).toBe(true);
    expect(r.targets).toEqual([]);
  };
  it('runs the embedded bulk workloads at tiny sizes', async () => {
    const results = await runBulkLocal(smoke, () => {});
    const names = results.map((r) => r.name);
    expect(names.slice(0, 4)).toEqual([
      'local-create-141b',
      'local-create-141b-minimal',
      `local-createMany-${Math.max(20, smoke.localOps * 5)}`,
      'local-bytes-per-version',
    ]);
    // then the listAsOf page at 10 versions per record and at the largest --depths (one entry when that is 10)
    expect(names.slice(4)).toEqual([...new Set([10, Math.min(1000, Math.max(10, ...smoke.depths))])].map((d) => `local-list-as-of-d${d}`));
    for (const r of results) checkBulk(r);
  });
  ('missing' in remote ? it.skip : it)(`runs createMany on the servers at tiny sizes${'missing' in remote ? ` (skipped: ${why})` : ''}`, async () => {
    const setup = await openRemote(remote as Exclude<typeof remote, { missing: string[] }>);
    try {
      const results = await runBulkRemote(setup, smoke, () => {});
      expect(results.map((r) => r.name)).toEqual([`createMany-${Math.max(20, Math.min(2000, smoke.restoreN))}`]);
      for (const r of results) checkBulk(r);
    } finally {
      await setup.close();
    }
  });
  ('missing' in remote ? it.skip : it)(`runs rebalance on two FerretDB servers at tiny sizes${'missing' in remote ? ` (skipped: ${why})` : ''}`, async () => {
    const results = await runRebalanceRemote(remote as Exclude<typeof remote, { missing: string[] }>, smoke, () => {});
    expect(results.map((r) => r.name)).toEqual([`rebalance-${Math.max(16, Math.min(5000, smoke.restoreN))}`]);
    for (const r of results) checkBulk(r);
    const notes = results[0]!.notes as Record<string, number>;
    for (const k of ['firstResolutionNewMs', 'firstResolutionKnownMs', 'cachedOpMs']) expect(notes[k]).toBeGreaterThan(0);
  });
});
