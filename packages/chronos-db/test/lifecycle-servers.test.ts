/** The admin contract on FerretDB + Ceph: ensureBucketsExist parity with the embedded store, health on the instance's own clients, CLOSED. */
import { S3Client } from '@aws-sdk/client-s3';
import { ChronosError, initChronos } from 'chronos-db';
import { expectBucketsContract } from './helpers/buckets-parity.js';
import { buckets, createBuckets, describeServers, rnd } from './helpers/servers.js';

describeServers('chronos.admin on FerretDB + Ceph', (env) => {
  const config = (names: ReturnType<typeof buckets>, r: string) => ({
    databases: { runtime: { generic: { key: 'rt', mongoUri: env.mongoUrl, dbName: `lifecycle_${r}` } } },
    spacesConns: [{ endpoint: env.s3Endpoint, region: 'fra1', accessKey: env.accessKey, secretKey: env.secretKey, forcePathStyle: true, ...names }],
    counters: { mongoUri: env.mongoUrl, dbName: `lifecycle_counters_${r}` },
  });

  it('ensureBucketsExist has the same refusal, dryRun semantics and result shape as on the embedded store', async () => {
    const names = buckets('parity');
    const chronos = initChronos(config(names, rnd()));
    try {
      await expectBucketsContract(chronos, { key: 'rt', collection: 'users' }, [names.jsonBucket, names.contentBucket, names.backupsBucket]);
    } finally {
      await chronos.admin.shutdown();
    }
  });

  it('health() reuses the S3 client the instance holds (no client per call), and is CLOSED after shutdown', async () => {
    const names = buckets('health');
    await createBuckets(env, names);
    const chronos = initChronos(config(names, rnd()));
    const clients = new Set<S3Client>();
    const original = S3Client.prototype.send as (...a: unknown[]) => unknown;
    const send = jest.spyOn(S3Client.prototype, 'send').mockImplementation(function (this: S3Client, ...args: unknown[]) {
      clients.add(this);
      return original.apply(this, args) as never;
    });
    try {
      for (let i = 0; i < 3; i++) expect((await chronos.admin.health()).ok).toBe(true);
      await chronos.with({ key: 'rt', collection: 'users' }).create({ a: 1 });
      expect(clients.size).toBe(1);
    } catch (e) {
      await chronos.admin.shutdown();
      throw e;
    } finally {
      send.mockRestore();
    }
    await chronos.admin.shutdown();
    const e = await chronos.admin.health().catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ChronosError);
    expect((e as ChronosError).code).toBe('CLOSED');
  });
});
