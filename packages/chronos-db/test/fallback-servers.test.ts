/**
 * The fallback queue through initChronos on FerretDB + Ceph: writes accepted
 * while MongoDB refuses connections are journaled on disk, survive a restart
 * of the chronos instance that queued them, and are drained exactly once by a
 * worker of the next instance.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMongoMetadataStore } from '@chronos-db/storage-mongo';
import { initChronos, NotFoundError, QueueClaimedError, ValidationError, ConfigError, type ChronosConfig } from 'chronos-db';
import { buckets, createBuckets, describeServers, rnd } from './helpers/servers';

const closedPort = () =>
  new Promise<number>((res) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => res(port));
    });
  });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describeServers('fallback queue (FerretDB + Ceph)', (env) => {
  const dir = mkdtempSync(join(tmpdir(), 'chronos-fbq-'));
  const names = buckets('fbq');
  const dbName = `fbq_${rnd()}`;
  beforeAll(() => createBuckets(env, names));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const config = (mongoUri: string) =>
    ({
      databases: { runtime: { generic: { key: 'rt', mongoUri, dbName } } },
      spacesConns: [{ endpoint: env.s3Endpoint, region: 'us-east-1', accessKey: env.accessKey, secretKey: env.secretKey, forcePathStyle: true, ...names }],
      fallback: { enabled: true, maxAttempts: 5, baseDelayMs: 50, maxDelayMs: 1000, deadLetterCollection: 'dead', localPath: join(dir, 'queue') },
      operationTimeoutMs: 1500,
    }) satisfies ChronosConfig;

  it('writes queued while MongoDB is down survive a restart and are applied exactly once by the next worker', async () => {
    const down = initChronos(config(`mongodb://127.0.0.1:${await closedPort()}/`));
    const col = down.with({ key: 'rt', collection: 'orders' });
    const acked: Array<{ id: string; requestId: string; n: number }> = [];
    for (let i = 0; i < 6; i++) {
      const c = await col.create({ n: 0, i });
      expect(c).toMatchObject({ queued: true });
      if (!('queued' in c)) throw new Error('not queued');
      acked.push({ id: c.id, requestId: c.requestId, n: 0 });
      for (let n = 1; n <= 2; n++) {
        const u = await col.update(c.id, { n, i });
        expect(u).toMatchObject({ queued: true, id: c.id });
        if ('queued' in u) acked.push({ id: c.id, requestId: u.requestId, n });
      }
    }
    expect(await down.fallback.getQueueStats()).toMatchObject({ pending: 18, claimed: 0, dead: 0 });
    await expect(down.fallback.retryDeadLetter('op_0000000000000000000000000')).rejects.toBeInstanceOf(NotFoundError);
    await expect(down.fallback.cancelOp('nope')).rejects.toBeInstanceOf(NotFoundError);
    await down.admin.shutdown();

    // The next process: same journal, MongoDB reachable.
    const up = initChronos(config(env.mongoUrl));
    expect(await up.fallback.getQueueStats()).toMatchObject({ pending: 18 });
    up.fallback.startWorker({ concurrency: 4, pollMs: 50 });
    for (let i = 0; i < 1200; i++) {
      const s = await up.fallback.getQueueStats();
      if (s.pending + s.claimed === 0) break;
      await sleep(100);
    }
    await up.fallback.stopWorker();
    expect(await up.fallback.getQueueStats()).toMatchObject({ pending: 0, claimed: 0, dead: 0 });
    const meta = createMongoMetadataStore({ uri: env.mongoUrl });
    try {
      const ns = { dbName, collection: 'orders' };
      const ids = [...new Set(acked.map((a) => a.id))];
      for (const id of ids) {
        const versions = await meta.listVersions(ns, id);
        expect(versions.map((v) => v.ov)).toEqual([0, 1, 2]);
        const expected = acked.filter((a) => a.id === id).map((a) => a.requestId);
        expect(versions.map((v) => v.requestId)).toEqual(expected);
        expect(await up.with({ key: 'rt', collection: 'orders' }).getLatest(id)).toMatchObject({ n: 2 });
      }
    } finally {
      await meta.close();
      await up.admin.shutdown();
    }
  });

  it('a claimed op cannot be cancelled; bad fallback config is refused at init', async () => {
    const q = initChronos({
      ...config(`mongodb://127.0.0.1:${await closedPort()}/`),
      fallback: { ...config('mongodb://x/').fallback, localPath: join(dir, 'q2') },
    });
    const r = await q.with({ key: 'rt', collection: 'c' }).create({ a: 1 });
    if (!('queued' in r)) throw new Error('not queued');
    const [op] = await q.fallback.getPendingOps();
    // Hold it as a worker would (through the queue's own claim), then try to cancel.
    const { createLocalQueueStore } = await import('@chronos-db/storage-local');
    const raw = createLocalQueueStore({ path: join(dir, 'q2') });
    const [claimed] = await raw.claim({ owner: 'other-worker', leaseMs: 600_000 });
    expect(claimed?.id).toBe(op!.id);
    await expect(q.fallback.cancelOp(op!.id)).rejects.toBeInstanceOf(QueueClaimedError);
    await raw.release(claimed!, { message: 'test' }, Date.now());
    await q.fallback.cancelOp(op!.id);
    expect(await q.fallback.getQueueStats()).toMatchObject({ pending: 0, claimed: 0 });
    await raw.close();
    expect(() => q.fallback.startWorker({ concurrency: 0 })).toThrow(ValidationError);
    await q.admin.shutdown();
    for (const bad of [{ maxAttempts: 0 }, { baseDelayMs: -1 }, { maxDelayMs: 0 }, { surprise: true }]) {
      expect(() => initChronos({ ...config(env.mongoUrl), fallback: { ...config(env.mongoUrl).fallback, ...bad } } as ChronosConfig)).toThrow(ConfigError);
    }
  });
});
