/**
 * The ghost version on MongoDB (FerretDB + Ceph, bucket versioning on): a writer that read the
 * record before its erasure inserts its version (the commit point) after the erasure's deletes
 * and is SIGKILLed before its tombstone look. Reads answer "missing", but the version and head
 * documents hold the record's indexed metadata. One maintenance pass (without contexts: every
 * namespace of the backend) sweeps them, and the erasure record's counts say so.
 */
import { join } from 'node:path';
import { initChronos, type ChronosConfig } from 'chronos-db';
import { COLLECTION, erasureCollectionMap, markersOf, recordData } from './helpers/erasure-scenario';
import { startTsxChild } from './helpers/child';
import { enableVersioning, scanMongo, scanS3 } from './helpers/raw-scan';
import { buckets, createBuckets, describeServers, rnd } from './helpers/servers';

describeServers('erasure: the ghost version of a writer killed before its tombstone look (FerretDB + Ceph)', (env) => {
  const names = buckets('ghost');
  beforeAll(async () => {
    await createBuckets(env, names);
    await enableVersioning(env, [names.jsonBucket, names.contentBucket]);
  });

  it('one maintenance pass sweeps the ghost (version and head), its payload too; the erasure record counts it', async () => {
    const dbName = `ghost_${rnd()}`;
    const config: ChronosConfig = {
      databases: { runtime: { generic: { key: 'rt', mongoUri: env.mongoUrl, dbName } } },
      spacesConns: [{ endpoint: env.s3Endpoint, region: 'us-east-1', accessKey: env.accessKey, secretKey: env.secretKey, forcePathStyle: true, ...names }],
      ...erasureCollectionMap(),
    };
    const ctx = { key: 'rt', collection: COLLECTION };
    const a = markersOf(`GA${rnd()}`);
    const b = markersOf(`GB${rnd()}`);
    const chronos = initChronos(config);
    try {
      const col = chronos.with(ctx);
      const { id } = (await col.create(recordData(a, 0))) as { id: string };
      await col.create(recordData(b, 0));
      for (let v = 1; v <= 3; v++) await col.update(id, recordData(a, v));

      // the writer reads the record, then waits at its version insert
      const child = startTsxChild(join(__dirname, 'crash/ghost-writer-child.ts'), 'GHOST_JOB', { config, ctx, id, data: recordData(a, 9) }, { stdin: true });
      await child.line(/^READY$/);
      // the erasure runs to the end meanwhile
      expect(await chronos.admin.hardDelete(ctx, id, { confirm: true, actor: 'dpo', reason: 'ghost test' })).toMatchObject({ versionsDeleted: 4 });
      child.proc.stdin!.write('GO\n');
      const { signal, out } = await child.exited;
      expect({ signal, out }).toEqual({ signal: 'SIGKILL', out: 'READY\n' });

      // the ghost is there (raw), reads answer missing
      const ghost = await scanMongo(env.mongoUrl, dbName, [a.meta]);
      expect(ghost[a.meta]!.length).toBeGreaterThan(0);
      expect(await col.getLatest(id)).toBeNull();
      expect((await chronos.admin.listErasures(ctx)).items).toEqual([expect.objectContaining({ itemId: id, status: 'done', versionsDeleted: 4 })]);
    } finally {
      await chronos.admin.shutdown();
    }

    // one maintenance pass of a fresh instance, without contexts
    const maint = initChronos(config);
    try {
      const report = await new Promise<{ steps: Array<{ context: string; step: string; status: string; result?: unknown }> }>((res) => {
        maint.admin.startMaintenance({ everyMs: 200, skip: ['rollup', 'prune', 'shrink', 'ttl', 'gc'], onReport: (r) => r.ran && res(r) });
      });
      await maint.admin.stopMaintenance();
      expect(report.steps.filter((s) => s.step === 'erasures')).toEqual([
        { context: `key=rt,dbName=${dbName},collection=${COLLECTION}`, step: 'erasures', status: 'done', result: { finished: 0, ghostsSwept: 1 } },
      ]);
      const [rec] = (await maint.admin.listErasures({ key: 'rt', collection: COLLECTION })).items;
      expect(rec).toMatchObject({ status: 'done', versionsDeleted: 5, actor: 'dpo' });
    } finally {
      await maint.admin.shutdown();
    }
    const mongo = await scanMongo(env.mongoUrl, dbName, [a.data, a.meta, b.meta]);
    expect({ a: [mongo[a.data], mongo[a.meta]], b: mongo[b.meta]!.length > 0 }).toEqual({ a: [[], []], b: true });
    const s3 = await scanS3(env, [names.jsonBucket, names.contentBucket], [a.data, a.blob, b.data]);
    expect({ a: [s3.found[a.data], s3.found[a.blob]], b: s3.found[b.data]!.length > 0 }).toEqual({ a: [[], []], b: true });
  }, 300_000);
});
