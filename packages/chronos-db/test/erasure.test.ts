/**
 * Erasure (admin.hardDelete) on the embedded store and on FerretDB + Ceph: one record erased
 * while 8 workers write and read it; afterwards no store holds its content or indexed metadata,
 * checked with the raw drivers (every file's bytes under basePath; every MongoDB document;
 * every S3 object version, with bucket versioning on); the erasure record says who, when, why
 * and how many; bad input is a typed error with nothing written.
 */
import { join } from 'node:path';
import { METADATA_FILE } from '@chronos-db/storage-local';
import { NotFoundError, ValidationError, initChronos, type Chronos, type ChronosConfig } from 'chronos-db';
import { COLLECTION, eraseUnderLoad, erasureCollectionMap, markersOf, recordData } from './helpers/erasure-scenario';
import { enableVersioning, scanFiles, scanMongo, scanS3, scanSqlite, type Found } from './helpers/raw-scan';
import { buckets, createBuckets, describeServers, rnd } from './helpers/servers';
import { tmpDirs } from '../../storage-local/test/helpers/tmp-dirs';

const flat = (m: { data: string; meta: string; blob: string }) => [m.data, m.meta, m.blob];

function expectErased(found: Found, gone: string[], kept: string[]): void {
  // the oracle works: the record that was not erased is found, in every form
  for (const m of kept) expect({ marker: m, found: found[m]!.length > 0 }).toEqual({ marker: m, found: true });
  for (const m of gone) expect({ marker: m, where: found[m] }).toEqual({ marker: m, where: [] });
}

async function checkScenario<Q>(chronos: Chronos<Q>, ctx: Record<string, unknown>, tag: string) {
  const a = markersOf(`A${tag}`);
  const b = markersOf(`B${tag}`);
  const r = await eraseUnderLoad(chronos, ctx, a, b);
  expect(r.unexpected).toEqual([]);
  expect(r.writesAfter).toEqual([]);
  expect(r.readsAfter).toEqual([]);
  expect(r.wholeReads).toBeGreaterThan(0);
  expect(r.erasure).toMatchObject({ id: r.idA, firstRun: true, scrubbed: true, record: { itemId: r.idA, status: 'done', actor: 'dpo@example.com' } });
  expect(r.erasure.versionsDeleted).toBeGreaterThanOrEqual(4);
  expect(r.erasure.objectsDeleted).toBeGreaterThanOrEqual(4 * 3);
  const col = chronos.with({ ...ctx, collection: COLLECTION } as never) as ReturnType<Chronos['with']>;
  expect(await col.getLatest(r.idA)).toBeNull();
  expect(await col.getVersion(r.idA, 0)).toBeNull();
  await expect(col.history(r.idA)).rejects.toBeInstanceOf(NotFoundError);
  // the id cannot come back: a create with it is refused too
  await expect(col.create(recordData(a, 9), undefined, undefined, { id: r.idA })).rejects.toBeInstanceOf(NotFoundError);
  expect((await col.listByMeta({ filter: { tag: a.meta } })).items).toEqual([]);
  expect(await col.getLatest(r.idB)).toMatchObject({ tag: b.meta, v: 3 });
  const list = await chronos.admin.listErasures({ ...ctx, collection: COLLECTION } as never);
  expect(list.items).toEqual([
    expect.objectContaining({
      itemId: r.idA,
      status: 'done',
      actor: 'dpo@example.com',
      reason: 'GDPR art. 17 request',
      versionsDeleted: r.erasure.versionsDeleted,
    }),
  ]);
  expect(JSON.stringify(list)).not.toMatch(/ZZ(DATA|META|BLOB)/);
  // a rerun is harmless: it sweeps again and keeps the record
  const again = await chronos.admin.hardDelete({ ...ctx, collection: COLLECTION } as never, r.idA, { confirm: true });
  expect(again).toMatchObject({ firstRun: false, objectsDeleted: 0, record: { actor: 'dpo@example.com', status: 'done' } });
  return { a: flat(a), b: flat(b) };
}

/**
 * Erasure of a record whose old versions were rolled up and pruned into manifests: two rollups
 * and prunes (several index generations, each naming the record as a part's first or last id),
 * then hardDelete. Returns the markers to look for in the raw stores.
 */
async function eraseWithManifests<Q>(chronos: Chronos<Q>, ctx: Record<string, unknown>, tag: string) {
  const a = markersOf(`MA${tag}`);
  const b = markersOf(`MB${tag}`);
  const c = { ...ctx, collection: COLLECTION } as never;
  const col = chronos.with(c) as ReturnType<Chronos['with']>;
  const { id: idA } = await col.create(recordData(a, 0));
  const { id: idB } = await col.create(recordData(b, 0));
  for (let round = 0; round < 2; round++) {
    for (let v = 1; v <= 3; v++) {
      await col.update(idA, recordData(a, round * 3 + v));
      await col.update(idB, recordData(b, round * 3 + v));
    }
    expect((await chronos.admin.rollupNow(c)).namespaces[0]!.result!.rows).toBeGreaterThan(0);
    expect((await chronos.admin.pruneNow(c)).namespaces[0]!.result!.rows).toBeGreaterThan(0);
  }
  expect((await col.getVersion(idA, 0, { includeMeta: true }))?._meta?.source).toBe('manifest');
  const r = await chronos.admin.hardDelete(c, idA, { confirm: true, actor: 'dpo@example.com', reason: 'GDPR art. 17 request' });
  expect(r.manifestsRewritten).toBeGreaterThan(0);
  expect(await col.getVersion(idA, 0)).toBeNull();
  expect((await col.getVersion(idB, 0, { includeMeta: true }))?._meta?.source).toBe('manifest');
  expect(await col.getVersion(idB, 0)).toMatchObject({ tag: b.meta, v: 0 });
  return { a, b, idA, idB };
}

describe('erasure on the embedded store', () => {
  const tmp = tmpDirs('chronos-erasure-');
  const open = (extra: Partial<ChronosConfig> = {}) => {
    const basePath = tmp();
    return { basePath, chronos: initChronos({ localStorage: { enabled: true, basePath }, ...erasureCollectionMap(), ...extra }) };
  };

  it('8 concurrent writers and readers: nothing half-erased is seen; no byte of any file under basePath holds the record', async () => {
    const { basePath, chronos } = open();
    const ctx = { dbName: 'app' };
    const m = await checkScenario(chronos, ctx, 'emb');
    await chronos.admin.shutdown();
    expectErased(scanFiles(basePath, [...m.a, ...m.b]), m.a, m.b);
  });

  it('a record rolled up into manifests: after erasure no byte of any file under basePath holds its content or indexed metadata', async () => {
    const { basePath, chronos } = open({ retention: { ver: { maxVersions: 2 } } });
    const m = await eraseWithManifests(chronos, { dbName: 'app' }, 'emb');
    await chronos.admin.shutdown();
    expectErased(scanFiles(basePath, [m.a.meta, m.a.data, m.b.meta, m.b.data]), [m.a.meta, m.a.data], [m.b.meta, m.b.data]);
    // the manifests themselves, rows of the SQLite file read raw and decompressed: B's rows are there, A's are not
    const rows = scanSqlite(join(basePath, METADATA_FILE), [m.a.meta, m.idA, m.b.meta, m.idB]);
    const inParts = (where: string[]) => where.filter((w) => /\.body manifests\/.*\/parts\//.test(w));
    expect(inParts(rows[m.b.meta]!).length).toBeGreaterThan(0);
    expect(inParts(rows[m.idB]!).length).toBeGreaterThan(0);
    expect(rows[m.a.meta]).toEqual([]);
    // the id stays in the erasure record only
    expect(rows[m.idA]!.every((w) => w.startsWith('chronos_erasures'))).toBe(true);
  });

  it('bad input: a typed error and nothing written', async () => {
    const { chronos } = open();
    const off = open({ hardDeleteEnabled: false }).chronos;
    const ctx = { dbName: 'app', collection: COLLECTION };
    const col = chronos.with(ctx);
    const { id } = await col.create(recordData(markersOf('bad'), 0));
    const attempts: Array<Promise<unknown>> = [
      chronos.admin.hardDelete(ctx, id, {} as never),
      chronos.admin.hardDelete(ctx, id, { confirm: 'yes' } as never),
      chronos.admin.hardDelete(ctx, id, undefined as never),
      chronos.admin.hardDelete(ctx, '../x', { confirm: true }),
      chronos.admin.hardDelete(ctx, id, { confirm: true, actor: 42 } as never),
      chronos.admin.hardDelete(ctx, id, { confirm: true, reason: 'x'.repeat(2000) }),
      off.admin.hardDelete(ctx, id, { confirm: true }),
      chronos.admin.listErasures(ctx, { limit: 0 }),
    ];
    for (const p of attempts) await expect(p).rejects.toBeInstanceOf(ValidationError);
    await expect(chronos.admin.hardDelete(ctx, 'no-such-record', { confirm: true })).rejects.toBeInstanceOf(NotFoundError);
    expect((await chronos.admin.listErasures(ctx)).items).toEqual([]);
    expect(await col.getLatest(id)).toMatchObject({ v: 0 });
    expect((await col.history(id)).items).toHaveLength(1);
    await chronos.admin.shutdown();
    await off.admin.shutdown();
  });
});

describeServers('erasure on FerretDB + Ceph (bucket versioning on)', (env) => {
  const names = buckets('erase');
  const dbName = `erase_${rnd()}`;
  beforeAll(async () => {
    await createBuckets(env, names);
    await enableVersioning(env, [names.jsonBucket, names.contentBucket, names.backupsBucket]);
  });

  it('8 concurrent writers and readers: no collection and no object version holds the record', async () => {
    const chronos = initChronos({
      databases: { runtime: { generic: { key: 'rt', mongoUri: env.mongoUrl, dbName } } },
      spacesConns: [{ endpoint: env.s3Endpoint, region: 'us-east-1', accessKey: env.accessKey, secretKey: env.secretKey, forcePathStyle: true, ...names }],
      ...erasureCollectionMap(),
    });
    const m = await checkScenario(chronos, { key: 'rt' }, 'srv');
    await chronos.admin.shutdown();
    const all = [...m.a, ...m.b];
    expectErased(await scanMongo(env.mongoUrl, dbName, all), m.a, [m.b[0]!, m.b[1]!]); // the blob marker lives in the content bucket only
    const s3 = await scanS3(env, [names.jsonBucket, names.contentBucket, names.backupsBucket], all);
    expectErased(s3.found, m.a, m.b);
  }, 300_000);

  it('a record rolled up into manifests: no object version of the backups bucket (parts, index generations, latest.json) holds it', async () => {
    const chronos = initChronos({
      databases: { runtime: { generic: { key: 'rt', mongoUri: env.mongoUrl, dbName: `${dbName}m` } } },
      spacesConns: [{ endpoint: env.s3Endpoint, region: 'us-east-1', accessKey: env.accessKey, secretKey: env.secretKey, forcePathStyle: true, ...names }],
      ...erasureCollectionMap(),
      retention: { ver: { maxVersions: 2 } },
    });
    const m = await eraseWithManifests(chronos, { key: 'rt' }, 'srv');
    await chronos.admin.shutdown();
    // every stored version, current and noncurrent: the record's id and indexed metadata are in manifest rows and (the id) in index entries
    const backups = await scanS3(env, [names.backupsBucket], [m.a.meta, m.idA, m.b.meta, m.idB]);
    expect(backups.versions).toBeGreaterThanOrEqual(3); // the new part(s), the newest generation, latest.json
    expectErased(backups.found, [m.a.meta, m.idA], [m.b.meta, m.idB]);
    const payloads = await scanS3(env, [names.jsonBucket], [m.a.data, m.b.data]);
    expectErased(payloads.found, [m.a.data], [m.b.data]);
  }, 300_000);
});
