/**
 * I10 (tenant isolation) and T10 (one backend unreachable) end to end through
 * initChronos: tenants on one FerretDB and on two FerretDB servers, a shared
 * Ceph gateway, and hashed contexts with tenantIds.
 */
import { initChronos, NotFoundError, StorageError, type BoundCollection, type Chronos } from 'chronos-db';
import { buckets, createBuckets, describeServers, rnd, startSecondFerret } from './helpers/servers.js';

describeServers('routing across real backends', (env) => {
  let chronos: Chronos;
  let second: { url: string; stop: () => void };
  const r = rnd();
  const names = buckets('route');

  beforeAll(async () => {
    second = await startSecondFerret();
    await createBuckets(env, names);
    chronos = initChronos({
      databases: {
        runtime: {
          generic: { key: 'rt-generic', mongoUri: env.mongoUrl, dbName: `rt_generic_${r}` },
          tenants: [
            { key: 'tenant-a', extIdentifier: 'a', mongoUri: env.mongoUrl, dbName: `tenant_a_${r}` },
            { key: 'tenant-b', extIdentifier: 'b', mongoUri: env.mongoUrl, dbName: `tenant_b_${r}` },
            { key: 'tenant-c', extIdentifier: 'c', mongoUri: second.url, dbName: `tenant_c_${r}` },
          ],
        },
        // not a hashing target: chooseKey below limits hashed contexts to the runtime type
        knowledge: {
          tenants: [{ key: 'tenant-dead', extIdentifier: 'dead', mongoUri: 'mongodb://chronos:pa55word-secret@127.0.0.1:1/', dbName: `tenant_dead_${r}` }],
        },
      },
      spacesConns: [{ endpoint: env.s3Endpoint, region: 'us-east-1', accessKey: env.accessKey, secretKey: env.secretKey, forcePathStyle: true, ...names }],
      routing: { hashAlgo: 'jump', chooseKey: 'dbName|collection|tenantId|runtime' },
      collectionMaps: { users: { indexedProps: ['email'] } },
      operationTimeoutMs: 2000,
    });
  });
  afterAll(async () => {
    await chronos?.admin.shutdown();
    second?.stop();
  });

  /** Everything tenant Y can try on tenant X's record looks exactly like a missing record. */
  async function assertIsolated(x: BoundCollection, y: BoundCollection) {
    const email = `iso-${rnd()}@example.com`;
    const { id } = await x.create({ email, secret: 'x-only' });
    await x.update(id, { email, secret: 'x-only-2' });
    expect(await y.getLatest(id)).toBeNull();
    expect(await y.getLatest(id, { includeDeleted: true })).toBeNull();
    expect(await y.getVersion(id, 0)).toBeNull();
    expect(await y.getAsOf(id, new Date())).toBeNull();
    await expect(y.history(id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect((await y.listByMeta({ filter: { email } })).items).toEqual([]);
    const missing = `missing-${rnd()}`;
    for (const attempt of [
      (i: string) => y.update(i, { email: 'hijack' }),
      (i: string) => y.delete(i),
      (i: string) => y.enrich(i, { hijack: true }),
      (i: string) => y.restoreObject(i, { ov: 0 }),
    ]) {
      const onX = await attempt(id).catch((e: unknown) => e);
      const onMissing = await attempt(missing).catch((e: unknown) => e);
      expect(onX).toBeInstanceOf(NotFoundError);
      expect(onMissing).toBeInstanceOf(NotFoundError);
      expect((onX as Error).message.replace(id, 'ID')).toBe((onMissing as Error).message.replace(missing, 'ID'));
    }
    // y writing the same id creates its own record; x's is untouched
    await y.create({ email, secret: 'y' }, undefined, undefined, { id });
    expect(await x.getLatest(id)).toMatchObject({ secret: 'x-only-2' });
    expect((await x.history(id)).items.length).toBe(2);
    await y.restoreCollection({ cv: 0 });
    expect(await x.getLatest(id)).toMatchObject({ secret: 'x-only-2' });
  }

  it('I10: two tenants on one server never see each other', async () => {
    await assertIsolated(
      chronos.with({ databaseType: 'runtime', tier: 'tenant', extIdentifier: 'a', collection: 'users' }),
      chronos.with({ key: 'tenant-b', collection: 'users' }),
    );
  });

  it('I10: two tenants on two servers never see each other', async () => {
    await assertIsolated(
      chronos.with({ key: 'tenant-a', collection: 'users' }),
      chronos.with({ databaseType: 'runtime', tier: 'tenant', extIdentifier: 'c', collection: 'users' }),
    );
  });

  it('I10: hashed contexts with different tenantIds never see each other', async () => {
    await assertIsolated(
      chronos.with({ dbName: `shared_${r}`, collection: 'users', tenantId: 'acme' }),
      chronos.with({ dbName: `shared_${r}`, collection: 'users', tenantId: 'globex' }),
    );
  });

  it('every operation of a bound context reads and writes the same backend and database', async () => {
    const c = chronos.with({ key: 'tenant-c', collection: 'users' });
    const { id } = await c.create({ email: 'where@example.com' });
    const again = chronos.with({ databaseType: 'runtime', tier: 'tenant', extIdentifier: 'c', collection: 'users' });
    expect(again).toBe(c);
    expect(await again.getLatest(id)).toMatchObject({ email: 'where@example.com' });
    expect(await chronos.with({ key: 'tenant-a', collection: 'users' }).getLatest(id)).toBeNull();
  });

  it('T10: with one backend unreachable only its contexts fail, with a StorageError and no secret', async () => {
    const dead = chronos.with({ key: 'tenant-dead', collection: 'users' });
    const t0 = Date.now();
    const err = await dead.create({ email: 'x@example.com' }).catch((e: unknown) => e);
    const elapsed = Date.now() - t0;
    expect(err).toBeInstanceOf(StorageError);
    expect(JSON.stringify({ m: (err as Error).message, d: (err as StorageError).details })).not.toContain('pa55word-secret');
    expect(elapsed).toBeLessThan(30_000); // bounded by operationTimeoutMs (2 s), generous for a shared machine
    const alive = chronos.with({ key: 'tenant-a', collection: 'users' });
    expect((await alive.create({ email: 'alive@example.com' })).ov).toBe(0);
    const h = await chronos.admin.health();
    expect(h.ok).toBe(false);
    expect(h.backends.filter((b) => !b.ok).map((b) => b.name)).toEqual(['tenant-dead']);
    expect(JSON.stringify(h)).not.toContain('pa55word-secret');
    expect(JSON.stringify(chronos.admin.listBackends())).not.toContain('pa55word-secret');
  });
});
