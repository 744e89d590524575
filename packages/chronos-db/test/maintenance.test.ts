/**
 * Maintenance and devShadow shrink on the embedded store: two processes running
 * startMaintenance on one basePath run each pass once; shrinkShadows drops expired and
 * oversized shadows and reads stay correct; bad input is a typed error.
 */
import { join } from 'node:path';
import { ValidationError, initChronos, type ChronosConfig } from 'chronos-db';
import { runTsxChild } from './helpers/child';
import { buckets, createBuckets, describeServers, rnd } from './helpers/servers';
import { tmpDirs } from '../../storage-local/test/helpers/tmp-dirs';

const fresh = tmpDirs('chronos-maint-');

const runChild = (job: object) => runTsxChild(join(__dirname, 'crash/maintenance-child.ts'), 'MAINT_JOB', job);

async function twoProcesses(config: ChronosConfig, key: string) {
  const seed = initChronos(config);
  await seed.with({ key, collection: 'items' }).create({ a: 1 });
  await seed.admin.shutdown();
  const job = { config, everyMs: 400, ticks: 8 };
  const [a, b] = await Promise.all([runChild(job), runChild(job)]);
  expect({ a: [a.code, a.stderr], b: [b.code, b.stderr] }).toEqual({ a: [0, ''], b: [0, ''] });
  const ran = [...a.stdout.trim().split('\n'), ...b.stdout.trim().split('\n')].filter(Boolean).map((l) => JSON.parse(l) as { round: number; steps: string[] });
  const passes = ran.map((r) => r.round);
  expect(passes.length).toBeGreaterThanOrEqual(2);
  expect(new Set(passes).size).toBe(passes.length); // no pass ran twice
  expect(ran[0]!.steps).toEqual(expect.arrayContaining(['shrink:done', 'gc:done', 'ttl:skipped', 'erasures:done']));
}

describeServers('maintenance on FerretDB + Ceph', (env) => {
  const names = buckets('maint');
  beforeAll(() => createBuckets(env, names));
  it('two processes running maintenance: each pass runs once (the lease in MongoDB)', async () => {
    await twoProcesses(
      {
        databases: { runtime: { generic: { key: 'rt', mongoUri: env.mongoUrl, dbName: `maint_${rnd()}` } } },
        spacesConns: [{ endpoint: env.s3Endpoint, region: 'us-east-1', accessKey: env.accessKey, secretKey: env.secretKey, forcePathStyle: true, ...names }],
        devShadow: { enabled: true, ttlHours: 1 },
        hardDeleteEnabled: true,
        collectionMaps: { items: { indexedProps: [] } },
      },
      'rt',
    );
  }, 180_000);
});

describe('maintenance on the embedded store', () => {
  it('two processes running maintenance: each pass runs once', async () => {
    await twoProcesses(
      {
        localStorage: { enabled: true, basePath: fresh() },
        devShadow: { enabled: true, ttlHours: 1 },
        hardDeleteEnabled: true,
        collectionMaps: { items: { indexedProps: [] } },
      },
      'local',
    );
  }, 120_000);
});

describe('maintenance: bad input', () => {
  it('bad input: typed errors, nothing started', async () => {
    const chronos = initChronos({ localStorage: { enabled: true, basePath: fresh() }, collectionMaps: { items: { indexedProps: [] } } });
    for (const o of [
      {},
      { everyMs: 10 },
      { everyMs: 1.5 },
      { everyMs: 1000, ttlHours: -1 },
      { everyMs: 1000, skip: ['nope'] },
      { everyMs: 1000, contexts: [] },
    ])
      expect(() => chronos.admin.startMaintenance(o as never)).toThrow(ValidationError);
    await chronos.admin.stopMaintenance();
    await expect(chronos.admin.shrinkShadows({ key: 'local', collection: 'items' }, {})).rejects.toBeInstanceOf(ValidationError);
    await chronos.admin.shutdown();
  });
});

describe('shrinkShadows on the embedded store', () => {
  it('drops expired and oversized shadows; reads stay correct', async () => {
    const basePath = fresh();
    const base = { localStorage: { enabled: true, basePath }, collectionMaps: { items: { indexedProps: [] } } } satisfies ChronosConfig;
    const writer = initChronos({ ...base, devShadow: { enabled: true, ttlHours: 1 } });
    const col = writer.with({ key: 'local', collection: 'items' });
    const small = await col.create({ s: 'x' });
    const big = await col.create({ s: 'y'.repeat(5000) });
    await writer.admin.shutdown();
    // the same data with a lower cap: the big shadow is over it
    const capped = initChronos({ ...base, devShadow: { enabled: true, ttlHours: 1, maxBytesPerDoc: 1000 } });
    const ctx = { key: 'local', collection: 'items' };
    expect(await capped.admin.shrinkShadows(ctx, { dryRun: true })).toMatchObject({ shadows: 2, dropped: 1, oversized: 1, dryRun: true });
    expect(await capped.admin.shrinkShadows(ctx, { confirm: true })).toMatchObject({ shadows: 2, dropped: 1, oversized: 1 });
    expect(await capped.admin.shrinkShadows(ctx, { confirm: true })).toMatchObject({ shadows: 1, dropped: 0 });
    const c2 = capped.with(ctx);
    expect(await c2.getLatest(big.id)).toMatchObject({ s: 'y'.repeat(5000) });
    await capped.admin.shutdown();
    // devShadow off: every shadow goes
    const off = initChronos(base);
    expect(await off.admin.shrinkShadows(ctx, { confirm: true })).toMatchObject({ dropped: 1, disabled: 1 });
    expect(await off.with(ctx).getLatest(small.id)).toMatchObject({ s: 'x' });
    await off.admin.shutdown();
  });
});
