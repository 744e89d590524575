/**
 * TTL states (markItemsAsProcessedByTTL, markItemAsProcessed) on the embedded store and on
 * FerretDB + Ceph: in batches (more records than one page on the embedded store), resumable
 * (a run after a partial one marks only the rest; a rerun marks nothing), a new version makes
 * a record `new` again, bad input is a typed error.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NotFoundError, ValidationError, initChronos, type Chronos, type ChronosConfig } from 'chronos-db';
import { buckets, createBuckets, describeServers, rnd } from './helpers/servers';

async function ttlScenario<Q>(chronos: Chronos<Q>, ctx: Parameters<Chronos<Q>['with']>[0], n: number) {
  const col = chronos.with(ctx);
  const res = await col.createMany(Array.from({ length: n }, (_, i) => ({ data: { i } })));
  const ids = res.map((r) => (r.ok ? r.id : ''));
  expect(ids.filter(Boolean)).toHaveLength(n);
  // a partial earlier run: a few are processed already
  for (const id of ids.slice(0, 3)) expect(await chronos.admin.markItemAsProcessed(ctx, id, { confirm: true })).toEqual({ id, state: 'processed' });
  expect(await chronos.admin.markItemsAsProcessedByTTL(ctx, 0, { dryRun: true })).toMatchObject({ marked: n - 3, dryRun: true });
  expect((await col.getLatest(ids[5]!))!._system).toMatchObject({ state: 'new' });
  // a window that excludes everything written in the last hour marks nothing
  expect(await chronos.admin.markItemsAsProcessedByTTL(ctx, 1, { confirm: true })).toMatchObject({ marked: 0 });
  expect(await chronos.admin.markItemsAsProcessedByTTL(ctx, 0, { confirm: true })).toMatchObject({ marked: n - 3, dryRun: false });
  expect(await chronos.admin.markItemsAsProcessedByTTL(ctx, 0, { confirm: true })).toMatchObject({ marked: 0 });
  expect((await col.getLatest(ids[n - 1]!))!._system).toMatchObject({ state: 'processed' });
  // a new version makes the record new again; the next run marks only it
  await col.update(ids[7]!, { i: 'changed' });
  expect((await col.getLatest(ids[7]!))!._system).toMatchObject({ state: 'new' });
  expect(await chronos.admin.markItemsAsProcessedByTTL(ctx, 0, { confirm: true })).toMatchObject({ marked: 1 });
  // bad input
  for (const h of [-1, Number.NaN, Number.POSITIVE_INFINITY, '1' as unknown as number])
    await expect(chronos.admin.markItemsAsProcessedByTTL(ctx, h, { confirm: true })).rejects.toBeInstanceOf(ValidationError);
  await expect(chronos.admin.markItemsAsProcessedByTTL(ctx, 0, {})).rejects.toBeInstanceOf(ValidationError);
  await expect(chronos.admin.markItemAsProcessed(ctx, ids[0]!, {})).rejects.toBeInstanceOf(ValidationError);
  await expect(chronos.admin.markItemAsProcessed(ctx, 'missing-id', { confirm: true })).rejects.toBeInstanceOf(NotFoundError);
}

describe('TTL states on the embedded store', () => {
  const dir = mkdtempSync(join(tmpdir(), 'chronos-ttl-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  it('in batches (more than one page), resumable, new again after a write', async () => {
    const chronos = initChronos({ localStorage: { enabled: true, basePath: dir } });
    await ttlScenario(chronos, { key: 'local', collection: 'jobs' }, 1100);
    await chronos.admin.shutdown();
  }, 120_000);
});

describeServers('TTL states on FerretDB + Ceph', (env) => {
  const names = buckets('ttl');
  beforeAll(() => createBuckets(env, names));
  it('resumable, new again after a write', async () => {
    const config: ChronosConfig = {
      databases: { runtime: { generic: { key: 'rt', mongoUri: env.mongoUrl, dbName: `ttl_${rnd()}` } } },
      spacesConns: [{ endpoint: env.s3Endpoint, region: 'us-east-1', accessKey: env.accessKey, secretKey: env.secretKey, forcePathStyle: true, ...names }],
    };
    const chronos = initChronos(config);
    await ttlScenario(chronos, { key: 'rt', collection: 'jobs' }, 40);
    await chronos.admin.shutdown();
  }, 300_000);
});
