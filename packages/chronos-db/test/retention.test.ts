/**
 * Retention, rollup and prune through `chronos.admin`, on the embedded store and on FerretDB +
 * Ceph: manifests in the backups bucket, idempotent reruns, reads through manifests (getVersion,
 * getAsOf, history pages, diff, restoreObject, restoreCollection to a pruned point), a missing or
 * corrupt manifest as a ManifestError naming it, and bad input refused before anything is written.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { clearManifestCaches, manifestReadStats, type BlobStore, type ChronosRecord } from '@chronos-db/core';
import { createSqliteBlobStore, METADATA_FILE } from '@chronos-db/storage-local';
import { ConfigError, ManifestError, ValidationError, initChronos, type ChronosConfig } from 'chronos-db';
import { buckets, createBuckets, describeServers, rnd, type ServersEnv } from './helpers/servers.js';

interface Setup {
  config: (extra: Partial<ChronosConfig>) => ChronosConfig;
  ctx: { dbName: string; collection: string } | { key: string; collection: string };
  /** Raw access to the backups bucket, not through chronos-db. */
  listBackups(): Promise<string[]>;
  putBackup(key: string, body: Uint8Array): Promise<void>;
  deleteBackup(key: string): Promise<void>;
  close(): Promise<void>;
}

function embedded(): Setup {
  const basePath = mkdtempSync(join(tmpdir(), 'chronos-retention-'));
  let raw: BlobStore | undefined;
  const blobs = () => (raw ??= createSqliteBlobStore({ basePath, filename: join(basePath, METADATA_FILE) }));
  return {
    config: (extra) => ({ localStorage: { enabled: true, basePath }, ...extra }) as ChronosConfig,
    ctx: { dbName: 'app', collection: 'items' },
    async listBackups() {
      const out: string[] = [];
      for await (const e of blobs().list('backups', '')) out.push(e.key);
      return out;
    },
    putBackup: (k, b) => blobs().put('backups', k, b),
    deleteBackup: (k) => blobs().delete('backups', k),
    close: async () => raw?.close(),
  };
}

function servers(env: ServersEnv, names: ReturnType<typeof buckets>): Setup {
  const dbName = `ret_${rnd()}`;
  const s3 = new S3Client({
    endpoint: env.s3Endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: env.accessKey, secretAccessKey: env.secretKey },
  });
  return {
    config: (extra) =>
      ({
        databases: { runtime: { generic: { key: 'rt', mongoUri: env.mongoUrl, dbName } } },
        spacesConns: [{ endpoint: env.s3Endpoint, region: 'us-east-1', accessKey: env.accessKey, secretKey: env.secretKey, forcePathStyle: true, ...names }],
        ...extra,
      }) as ChronosConfig,
    ctx: { key: 'rt', collection: 'items' },
    async listBackups() {
      const out: string[] = [];
      let token: string | undefined;
      do {
        const r = await s3.send(new ListObjectsV2Command({ Bucket: names.backupsBucket, ContinuationToken: token }));
        for (const o of r.Contents ?? []) out.push(o.Key!);
        token = r.NextContinuationToken;
      } while (token);
      return out;
    },
    putBackup: async (k, b) => void (await s3.send(new PutObjectCommand({ Bucket: names.backupsBucket, Key: k, Body: b }))),
    deleteBackup: async (k) => void (await s3.send(new DeleteObjectCommand({ Bucket: names.backupsBucket, Key: k }))),
    close: async () => s3.destroy(),
  };
}

const strip = (r: ChronosRecord | null) => {
  if (!r) return r;
  const { _system, ...rest } = r as Record<string, unknown>;
  void _system;
  return rest;
};

async function allHistory(
  col: { history(id: string, o?: object): Promise<{ items: unknown[]; pageToken?: string }> },
  id: string,
  dir: 'asc' | 'desc',
  limit: number,
) {
  const out: unknown[] = [];
  let pageToken: string | undefined;
  do {
    const p = await col.history(id, { dir, limit, ...(pageToken ? { pageToken } : {}) });
    out.push(...p.items);
    pageToken = p.pageToken;
  } while (pageToken);
  return out;
}

function scenarios(name: string, make: () => Promise<Setup>) {
  describe(`retention, rollup and prune: ${name}`, () => {
    // the shared servers are slow under load (FerretDB answers range queries by scanning)
    jest.setTimeout(600_000);
    let s: Setup;
    beforeAll(async () => {
      s = await make();
    });
    afterAll(async () => s?.close());

    it('rollupNow writes content-hashed manifests and an index; a rerun writes nothing; pruneNow moves the rows; every read still answers the same', async () => {
      const chronos = initChronos(s.config({ retention: { ver: { maxVersions: 3 } }, rollup: { manifestPeriod: 'daily' } }));
      try {
        const col = chronos.with(s.ctx);
        const ids: string[] = [];
        const times: number[] = [];
        for (let r = 0; r < 2; r++) {
          const { id } = await col.create({ r, n: 0 });
          ids.push(id);
          for (let n = 1; n <= 9; n++) {
            await col.update(id, { r, n });
            if (r === 0) times.push(Date.now());
            if (n === 6) await col.delete(id).then(() => col.restoreObject(id, { ov: n }));
          }
        }
        const before = new Map<string, unknown>();
        for (const id of ids) {
          const h = await col.history(id, { limit: 1 });
          const top = h.items[0] as { ov: number };
          for (let ov = 0; ov <= top.ov; ov++) before.set(`${id}/${ov}`, strip(await col.getVersion(id, ov, { includeMeta: true, includeDeleted: true })));
          before.set(`${id}/h`, [await allHistory(col, id, 'desc', 4), await allHistory(col, id, 'asc', 5)]);
        }
        const asOf = await Promise.all(times.map((at) => col.getAsOf(ids[0]!, at)));

        const r1 = await chronos.admin.rollupNow(s.ctx);
        const res1 = r1.namespaces[0]!.result!;
        // each record has 12 versions (ov 0..11); the newest 3 stay: ov 0..8 of 2 records
        expect(res1.rows).toBe(18);
        expect(res1.parts).toBeGreaterThanOrEqual(1);
        const keys1 = await s.listBackups();
        expect(keys1.filter((k) => k.includes('/parts/')).every((k) => /\/parts\/\d{4}-\d{2}-\d{2}\/[0-9a-f]{64}\.cmf$/.test(k))).toBe(true);
        // one index generation, and its copy readers GET first
        expect(keys1.filter((k) => k.includes('/index/')).map((k) => k.slice(k.indexOf('/index/')))).toEqual([
          '/index/000000000001.json',
          '/index/latest.json',
        ]);

        // idempotent: nothing new
        const r2 = await chronos.admin.rollupNow(s.ctx);
        expect(r2.namespaces[0]!.result).toMatchObject({ rows: 0, parts: 0 });
        expect(await s.listBackups()).toEqual(keys1);

        const p1 = await chronos.admin.pruneNow(s.ctx);
        expect(p1.namespaces[0]!.result).toMatchObject({ rows: 18, partsPruned: res1.parts });
        const p2 = await chronos.admin.pruneNow(s.ctx);
        expect(p2.namespaces[0]!.result).toMatchObject({ rows: 0 });

        // the same answers, from the manifests for ov 0..8
        const fresh = initChronos(s.config({ retention: { ver: { maxVersions: 3 } }, rollup: { manifestPeriod: 'daily' } }));
        try {
          // a cold read of one pruned version (nothing of the manifests cached): the index copy, the footer, one segment; one block gunzipped
          clearManifestCaches();
          const s0 = { ...manifestReadStats };
          expect((await fresh.with(s.ctx).getVersion(ids[0]!, 4, { includeMeta: true }))?._meta?.source).toBe('manifest');
          expect({ gets: manifestReadStats.gets - s0.gets, blocks: manifestReadStats.blocks - s0.blocks }).toEqual({ gets: 3, blocks: 1 });
          for (const c of [col, fresh.with(s.ctx)]) {
            for (const id of ids) {
              for (let ov = 0; ov <= 11; ov++) {
                const got = strip(await c.getVersion(id, ov, { includeMeta: true, includeDeleted: true })) as Record<string, unknown> & {
                  _meta: Record<string, unknown>;
                };
                const { source, ...meta } = got._meta;
                expect({ ...got, _meta: meta }).toEqual(before.get(`${id}/${ov}`));
                expect(source).toBe(ov <= 8 ? 'manifest' : undefined);
              }
              expect([await allHistory(c, id, 'desc', 4), await allHistory(c, id, 'asc', 5)]).toEqual(before.get(`${id}/h`));
            }
            expect(await Promise.all(times.map((at) => c.getAsOf(ids[0]!, at)))).toEqual(asOf);
            expect(await c.getAsOf(ids[0]!, Date.parse('2000-01-01'))).toBeNull();
            const d = await c.diff(ids[1]!, { ov: 1 }, { ov: 2 });
            expect(d.patch).toEqual([{ op: 'replace', path: '/n', value: 2 }]);
          }
          // restoreObject to a pruned version
          const r = await col.restoreObject(ids[1]!, { ov: 2 });
          expect(strip(await col.getLatest(ids[1]!))).toEqual({ id: ids[1], r: 1, n: 2 });
          expect(r.newOv).toBe(12);
        } finally {
          await fresh.admin.shutdown();
        }
      } finally {
        await chronos.admin.shutdown();
      }
    });

    it('rollup + prune, then restoreCollection to a pruned point gives the state before pruning', async () => {
      const ctx = { ...s.ctx, collection: 'orders' };
      const cfg = s.config({ collectionMaps: { orders: { indexedProps: [], versionRetention: { maxVersions: 2 } } } });
      const chronos = initChronos(cfg);
      try {
        const col = chronos.with(ctx);
        const ids: string[] = [];
        for (let i = 0; i < 12; i++) ids.push((await col.create({ i, step: 0 })).id);
        for (let step = 1; step <= 3; step++) for (const id of ids.slice(0, 10)) await col.update(id, { step, i: ids.indexOf(id) });
        const { items } = await col.history(ids[0]!, { limit: 1 });
        const target = (items[0] as { cv: number }).cv - 25; // inside step 1..2
        const snapshot = (await col.listAsOf({ cv: target }, { limit: 100 })).items.map(strip);
        for (let step = 4; step <= 5; step++) for (const id of ids.slice(0, 6)) await col.update(id, { step });
        await col.delete(ids[11]!);

        expect((await chronos.admin.rollupNow(ctx)).namespaces[0]!.result!.rows).toBeGreaterThan(0);
        expect((await chronos.admin.pruneNow(ctx)).namespaces[0]!.result!.rows).toBeGreaterThan(0);
        // the target is now below the index for most records
        expect((await col.getVersion(ids[0]!, 0, { includeMeta: true }))!._meta!.source).toBe('manifest');

        await col.restoreCollection({ cv: target });
        const now = (await col.listByMeta({ limit: 100 })).items.map(strip);
        expect(now).toEqual(snapshot);
      } finally {
        await chronos.admin.shutdown();
      }
    });

    it('a missing or corrupt manifest is a ManifestError naming it, never a wrong answer or a null', async () => {
      const ctx = { ...s.ctx, collection: 'fragile' };
      const chronos = initChronos(s.config({ retention: { ver: { maxVersions: 1 } } }));
      try {
        const col = chronos.with(ctx);
        const { id } = await col.create({ n: 0 });
        for (let n = 1; n <= 4; n++) await col.update(id, { n });
        await chronos.admin.rollupNow(ctx);
        await chronos.admin.pruneNow(ctx);
        const part = (await s.listBackups()).find((k) => k.includes('/fragile/parts/'))!;
        expect(part).toBeDefined();

        const fresh = () => initChronos(s.config({ retention: { ver: { maxVersions: 1 } } }));
        await s.putBackup(part, new Uint8Array(Buffer.from('not a manifest at all, just bytes of the wrong kind')));
        const c1 = fresh();
        try {
          const e = await c1
            .with(ctx)
            .getVersion(id, 1)
            .catch((x: unknown) => x);
          if (!(e instanceof ManifestError)) console.log(e);
          expect(e).toBeInstanceOf(ManifestError);
          expect((e as Error).message).toContain(part);
          expect((e as ManifestError).details?.manifest).toBe(part);
        } finally {
          await c1.admin.shutdown();
        }
        await s.deleteBackup(part);
        const c2 = fresh();
        try {
          for (const read of [() => c2.with(ctx).getVersion(id, 0), () => c2.with(ctx).getAsOf(id, 1), () => c2.with(ctx).history(id, { dir: 'asc' })]) {
            const e = await read().catch((x: unknown) => x);
            expect(e).toBeInstanceOf(ManifestError);
            expect((e as Error).message).toContain(part);
          }
          // the index still answers what it holds
          expect(strip(await c2.with(ctx).getVersion(id, 4))).toEqual({ id, n: 4 });
        } finally {
          await c2.admin.shutdown();
        }
      } finally {
        await chronos.admin.shutdown();
      }
    });

    it('bad retention values are typed errors at initChronos, before anything is written', async () => {
      const before = await s.listBackups();
      const bad: Array<Partial<ChronosConfig>> = [
        { retention: { ver: { maxVersions: 0 } } },
        { retention: { ver: { maxVersions: -2 } } },
        { retention: { ver: { maxVersions: Number.NaN } } },
        { retention: { ver: { maxAge: 0 } } },
        { retention: { ver: { maxAge: -5 } } },
        { retention: { ver: { maxAge: Number.NaN } } },
        { retention: { ver: { maxAge: '3 fortnights' } } },
        { retention: { ver: { maxAge: '10y' } } },
        { retention: { ver: { days: 0 } } },
        { retention: { ver: { maxPerItem: -1 } } },
        { retention: { ver: { days: 3, maxAge: '3d' } } },
        { retention: { counters: { days: 7 } } },
        { rollup: { manifestPeriod: 'hourly' as 'daily' } },
        { collectionMaps: { items: { indexedProps: [], versionRetention: { maxVersions: 0 } } } },
        { retention: { ver: { maxVersions: 2 } }, rollup: { enabled: false } },
      ];
      for (const extra of bad) expect(() => initChronos(s.config(extra))).toThrow(ConfigError);
      expect(await s.listBackups()).toEqual(before);
      // no retention for a collection: reported as skipped, nothing written
      const chronos = initChronos(s.config({}));
      try {
        const r = await chronos.admin.rollupNow({ ...s.ctx, collection: 'plain' });
        expect(r.namespaces[0]!.skipped).toMatch(/no version retention/);
        await expect(chronos.admin.pruneNow({ ...s.ctx, collection: 'plain' }, { now: Number.NaN })).rejects.toThrow(ValidationError);
      } finally {
        await chronos.admin.shutdown();
      }
      expect(await s.listBackups()).toEqual(before);
    });

    it('the deprecated spellings map to maxAge and maxVersions; without a context every bound context is rolled up', async () => {
      const chronos = initChronos(s.config({ retention: { ver: { days: 1, maxPerItem: 50 } }, logging: { level: 'error' } }));
      try {
        const col = chronos.with({ ...s.ctx, collection: 'legacy' });
        const { id } = await col.create({ n: 0 });
        await col.update(id, { n: 1 });
        await col.update(id, { n: 2 });
        // two days later, by the clock retention is judged at: ov 0 and 1 are older than a day
        const r = await chronos.admin.rollupNow(undefined, { now: Date.now() + 2 * 86_400_000 });
        const mine = r.namespaces.find((n) => n.collection === 'legacy')!;
        expect(mine.result!.rows).toBe(2);
        const p = await chronos.admin.pruneNow(undefined, { now: Date.now() + 2 * 86_400_000 });
        expect(p.namespaces.find((n) => n.collection === 'legacy')!.result!.rows).toBe(2);
        expect((await col.history(id, { dir: 'asc' })).items.map((e) => e.ov)).toEqual([0, 1, 2]);
      } finally {
        await chronos.admin.shutdown();
      }
    });
  });
}

scenarios('embedded store', async () => embedded());

describeServers('retention on FerretDB + Ceph', (env) => {
  const names = buckets('ret');
  scenarios('FerretDB + Ceph', async () => {
    await createBuckets(env, names);
    return servers(env, names);
  });
});
