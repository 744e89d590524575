/**
 * Erasure killed (SIGKILL in a child process) at each step, on the embedded store and on
 * FerretDB + Ceph (bucket versioning on): from the
 * tombstone on, reads answer "missing"; a rerun finishes the erasure, and no byte of the
 * record is left in any file under basePath.
 */
import { join } from 'node:path';
import { NotFoundError, initChronos, type ChronosConfig } from 'chronos-db';
import { COLLECTION, erasureCollectionMap, markersOf, recordData } from './helpers/erasure-scenario';
import { enableVersioning, scanFiles, scanMongo, scanS3 } from './helpers/raw-scan';
import { buckets, createBuckets, describeServers, rnd } from './helpers/servers';
import { runTsxChild } from './helpers/child';
import { tmpDirs } from '../../storage-local/test/helpers/tmp-dirs';

const tmp = tmpDirs('chronos-erase-crash-');

const runChild = (job: object) => runTsxChild(join(__dirname, 'crash/erasure-child.ts'), 'ERASE_JOB', job);

describe('erasure killed mid-way on the embedded store (SIGKILL in a child), then rerun', () => {
  for (const at of ['purge', 'meta', 'finish'] as const) {
    it(`killed at '${at}': reads answer missing, the rerun finishes, no byte is left`, async () => {
      const basePath = tmp();
      const config: ChronosConfig = { localStorage: { enabled: true, basePath }, ...erasureCollectionMap() };
      const ctx = { key: 'local', collection: COLLECTION };
      const a = markersOf(`A${at}`);
      const b = markersOf(`B${at}`);
      const chronos = initChronos(config);
      const col = chronos.with(ctx);
      const { id } = await col.create(recordData(a, 0));
      const { id: idB } = await col.create(recordData(b, 0));
      for (let v = 1; v <= 3; v++) await col.update(id, recordData(a, v));
      await chronos.admin.shutdown();

      const r = await runChild({ config, ctx, id, at });
      expect({ signal: r.signal, out: r.out }).toEqual({ signal: 'SIGKILL', out: '' });

      const after = initChronos(config);
      const c2 = after.with(ctx);
      expect(await c2.getLatest(id)).toBeNull();
      expect(await c2.getVersion(id, 1)).toBeNull();
      await expect(c2.update(id, recordData(a, 9))).rejects.toBeInstanceOf(NotFoundError);
      expect((await after.admin.listErasures(ctx)).items).toEqual([expect.objectContaining({ itemId: id, status: 'erasing', actor: 'dpo' })]);
      const rerun = await after.admin.hardDelete(ctx, id, { confirm: true });
      expect(rerun).toMatchObject({ firstRun: false, scrubbed: true, record: { status: 'done', actor: 'dpo', reason: 'crash test' } });
      expect(await c2.getLatest(idB)).toMatchObject({ tag: b.meta });
      await after.admin.shutdown();
      const found = scanFiles(basePath, [a.data, a.meta, a.blob, b.data, b.meta]);
      expect({ a: [found[a.data], found[a.meta], found[a.blob]], bFound: found[b.data]!.length > 0 && found[b.meta]!.length > 0 }).toEqual({
        a: [[], [], []],
        bFound: true,
      });
    }, 120_000);
  }
});

describeServers('erasure killed mid-way on FerretDB + Ceph (SIGKILL in a child), then rerun', (env) => {
  const names = buckets('ecrash');
  beforeAll(async () => {
    await createBuckets(env, names);
    await enableVersioning(env, [names.jsonBucket, names.contentBucket]);
  });
  for (const at of ['purge', 'meta', 'finish'] as const) {
    it(`killed at '${at}': reads answer missing, the rerun finishes, no document or object version is left`, async () => {
      const dbName = `ecrash_${rnd()}`;
      const config: ChronosConfig = {
        databases: { runtime: { generic: { key: 'rt', mongoUri: env.mongoUrl, dbName } } },
        spacesConns: [{ endpoint: env.s3Endpoint, region: 'us-east-1', accessKey: env.accessKey, secretKey: env.secretKey, forcePathStyle: true, ...names }],
        ...erasureCollectionMap(),
      };
      const ctx = { key: 'rt', collection: COLLECTION };
      const a = markersOf(`SA${at}${rnd()}`);
      const b = markersOf(`SB${at}${rnd()}`);
      const chronos = initChronos(config);
      const col = chronos.with(ctx);
      const { id } = (await col.create(recordData(a, 0))) as { id: string };
      await col.create(recordData(b, 0));
      for (let v = 1; v <= 3; v++) await col.update(id, recordData(a, v));
      await chronos.admin.shutdown();

      const r = await runChild({ config, ctx, id, at, servers: true });
      expect({ signal: r.signal, out: r.out }).toEqual({ signal: 'SIGKILL', out: '' });
      const after = initChronos(config);
      const c2 = after.with(ctx);
      expect(await c2.getLatest(id)).toBeNull();
      expect((await after.admin.listErasures(ctx)).items).toEqual([expect.objectContaining({ itemId: id, status: 'erasing' })]);
      expect(await after.admin.hardDelete(ctx, id, { confirm: true })).toMatchObject({ firstRun: false, record: { status: 'done', actor: 'dpo' } });
      await after.admin.shutdown();
      const mongo = await scanMongo(env.mongoUrl, dbName, [a.data, a.meta, b.data, b.meta]);
      expect({ a: [mongo[a.data], mongo[a.meta]], b: mongo[b.meta]!.length > 0 }).toEqual({ a: [[], []], b: true });
      const s3 = await scanS3(env, [names.jsonBucket, names.contentBucket], [a.data, a.blob, b.data, b.blob]);
      expect({ a: [s3.found[a.data], s3.found[a.blob]], b: s3.found[b.data]!.length > 0 && s3.found[b.blob]!.length > 0 }).toEqual({ a: [[], []], b: true });
    }, 180_000);
  }
});
