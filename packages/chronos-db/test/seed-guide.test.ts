/**
 * Every snippet of the DigitalOcean Spaces guide, run against our package with
 * the endpoint pointed at the local Ceph gateway (virtual-hosted style, as the
 * guide recommends) and MongoDB at the local FerretDB.
 */
import { MongoClient } from 'mongodb';
import { initChronos, StorageError, type Chronos } from 'chronos-db';
import { buckets, describeServers, rnd, virtualHostEndpoint } from './helpers/servers.js';

/**
 * Run twice: with the guide's region exactly as written ('fra1', which the SDK
 * would send as a location constraint that Ceph refuses) and with 'us-east-1'
 * (the guide's "Option 2").
 */
describe.each(['fra1', 'us-east-1'])('region %s', (region) =>
  describeServers(`the DigitalOcean Spaces guide, against FerretDB + Ceph RGW (region '${region}')`, (env) => {
    const names = buckets('guide');
    const r = rnd();
    let chronos: Chronos;
    const config = () => ({
      databases: { runtime: { generic: { key: 'runtime-generic', mongoUri: env.mongoUrl, dbName: `runtime_generic_${r}` } } },
      spacesConns: [
        {
          endpoint: virtualHostEndpoint(env),
          region,
          accessKey: env.accessKey,
          secretKey: env.secretKey,
          ...names,
          forcePathStyle: false,
        },
      ],
      counters: { mongoUri: env.mongoUrl, dbName: `chronos_counters_${r}` },
      routing: { hashAlgo: 'rendezvous' as const },
      retention: {},
      rollup: {},
      collectionMaps: { users: { indexedProps: ['email'] } },
    });

    beforeAll(() => {
      chronos = initChronos(config());
    });
    afterAll(() => chronos.admin.shutdown());

    it('Bucket Management: ensureBucketsExist creates exactly the missing buckets; dryRun creates none', async () => {
      const dry = await chronos.admin.ensureBucketsExist({ dbName: 'myapp', collection: 'users' }, { dryRun: true, confirm: true });
      expect(dry.bucketsCreated).toBe(0);
      expect(dry.bucketStatuses.map((s) => s.exists)).toEqual([false, false, false]);
      const result = await chronos.admin.ensureBucketsExist({ dbName: 'myapp', collection: 'users' }, { confirm: true, createIfMissing: true, dryRun: false });
      expect(result.bucketsCreated).toBe(3);
      expect(result.bucketStatuses.map((s) => s.name).sort()).toEqual(Object.values(names).sort());
      const again = await chronos.admin.ensureBucketsExist({ dbName: 'myapp', collection: 'users' }, { confirm: true, createIfMissing: true });
      expect(again.bucketsCreated).toBe(0);
      const bucketStatus = await chronos.admin.ensureBucketsExist({ dbName: 'myapp', collection: 'users' }, { dryRun: true, confirm: true });
      const lines = bucketStatus.bucketStatuses.map((status) => `${status.name}: ${status.exists ? '✅' : '❌'} ${status.error || ''}`);
      expect(lines.every((l) => l.includes('✅'))).toBe(true);
      await expect(chronos.admin.ensureBucketsExist({ dbName: 'myapp', collection: 'users' }, {} as never)).rejects.toThrow(/confirm/);
    });

    it('Diagnostic Tools: testS3Connectivity, validateSpacesConfiguration and the health check', async () => {
      const connectivity = await chronos.admin.testS3Connectivity({ dbName: 'myapp', collection: 'users' });
      expect(connectivity.success).toBe(true);
      expect(connectivity.buckets.sort()).toEqual(Object.values(names).sort());
      const validation = await chronos.admin.validateSpacesConfiguration({ dbName: 'myapp', collection: 'users' });
      expect(Array.isArray(validation.issues)).toBe(true);
      expect(Array.isArray(validation.recommendations)).toBe(true);
      const healthCheck = async () => {
        try {
          const c = await chronos.admin.testS3Connectivity({ dbName: 'myapp', collection: 'users' });
          return { status: c.success ? 'healthy' : 'unhealthy', spaces: c.success ? 'connected' : 'disconnected', buckets: c.buckets.length };
        } catch (error) {
          return { status: 'unhealthy', spaces: 'error', error: (error as Error).message };
        }
      };
      expect(await healthCheck()).toEqual({ status: 'healthy', spaces: 'connected', buckets: 3 });
      const health = await chronos.admin.health();
      expect(health.ok).toBe(true);
      const text = JSON.stringify([health, chronos.admin.listBackends(), validation, connectivity]);
      expect(text).not.toContain(env.secretKey);
    });

    it('stores versions in Mongo and payloads in the buckets, and counts them', async () => {
      const app = `myapp_${r}`; // the hashed form stores in the context's dbName on the chosen backend
      const users = chronos.with({ dbName: app, collection: 'users' });
      const { id, ov } = await users.create({ email: 'a@example.com' }, 'signup', 'new user');
      await users.update(id, { email: 'b@example.com' }, ov);
      expect(await users.getLatest(id)).toMatchObject({ email: 'b@example.com' });
      expect(await users.getVersion(id, 0)).toMatchObject({ email: 'a@example.com' });
      expect((await users.listByMeta({ filter: { email: 'b@example.com' } })).items.map((x) => x.id)).toEqual([id]);
      await users.restoreObject(id, { ov: 0 });
      expect(await users.getLatest(id)).toMatchObject({ email: 'a@example.com' });
      expect(await chronos.counters.getTotals({ dbName: app, collection: 'users' })).toMatchObject({ created: 1, updated: 2 });
      // the layout of DESIGN.md, read with the raw driver
      const client = await MongoClient.connect(env.mongoUrl);
      const db = client.db(app);
      expect(await db.collection('users_head').countDocuments({})).toBe(1);
      expect(await db.collection('users_ver').countDocuments({})).toBe(3);
      await client.close();
    });

    it("Troubleshooting: the guide's access-denied and missing-bucket errors, with no Mongo write", async () => {
      const wrong = initChronos({ ...config(), spacesConns: [{ ...config().spacesConns[0]!, secretKey: 'definitely-not-the-secret' }], counters: undefined });
      const users = wrong.with({ dbName: `myapp_${r}`, collection: 'users' });
      const err = await users.create({ email: 'x@example.com' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StorageError);
      expect((err as Error).message).toBe(`Access denied to bucket '${names.jsonBucket}'`);
      const c = await wrong.admin.testS3Connectivity({ dbName: 'myapp', collection: 'users' });
      expect(c.success).toBe(false);
      expect(c.error).toContain(`Access denied to bucket '`);
      expect(JSON.stringify(c)).not.toContain('definitely-not-the-secret');
      await wrong.admin.shutdown();

      const missing = initChronos({ ...config(), spacesConns: [{ ...config().spacesConns[0]!, jsonBucket: `chronos-missing-${rnd()}` }], counters: undefined });
      const e2 = await missing
        .with({ dbName: 'myapp', collection: 'users' })
        .create({ email: 'y@example.com' })
        .catch((e: unknown) => e);
      expect((e2 as Error).message).toMatch(/^Bucket 'chronos-missing-[a-z0-9]+' does not exist$/);
      await missing.admin.shutdown();

      const client = await MongoClient.connect(env.mongoUrl);
      expect(await client.db(`myapp_${r}`).collection('users_head').countDocuments({})).toBe(1);
      await client.close();
    });

    it('Region mismatch is reported as the guide words it', async () => {
      const c = initChronos({ ...config(), spacesConns: [{ ...config().spacesConns[0]!, endpoint: 'https://fra1.digitaloceanspaces.com', region: 'nyc3' }] });
      const v = await c.admin.validateSpacesConfiguration({ dbName: 'myapp', collection: 'users' });
      expect(v.valid).toBe(false);
      expect(v.issues).toContain("Region mismatch: endpoint uses 'fra1' but config specifies 'nyc3'");
      await c.admin.shutdown();
    });
  }),
);
