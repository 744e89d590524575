/**
 * A fallback worker SIGKILLed with claimed ops (a child process, killed right
 * after it applied an op and before the queue recorded it): another worker
 * takes those ops once their leases expire and finishes the queue; nothing is
 * applied twice. On the embedded stores with the local journal (no server
 * needed), and on FerretDB + Ceph with the local journal and the MongoDB queue.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalMetadataStore } from '@chronos-db/storage-local';
import { createMongoMetadataStore } from '@chronos-db/storage-mongo';
import { initChronos, type ChronosConfig } from 'chronos-db';
import { drained, expectAppliedOnce, expectAppliedOnceLocal, fillEmbeddedQueue, fillQueue } from './helpers/fallback';
import { runTsxChild, type TsxChildResult } from './helpers/child';
import { buckets, createBuckets, describeServers, rnd } from './helpers/servers';

const runWorkerChild = (job: object) => runTsxChild(join(__dirname, 'crash', 'worker-child.ts'), 'WORKER_JOB', job);

/** The child's SIGKILL, or a failure that says how it ended instead. */
function killedOn(r: TsxChildResult): { applied: string; requestId: string } {
  if (r.signal !== 'SIGKILL') throw new Error(`the worker child was not killed (exit ${r.code ?? r.signal}): ${r.out.slice(-2000)}`);
  return JSON.parse(r.out.trim().split('\n')[0]!) as { applied: string; requestId: string };
}

/** The ops left in the queue (every page). */
async function leftOps(api: { getPendingOps(o: { limit: number; afterId?: string }): Promise<Array<{ id: string; attempts: number }>> }) {
  const left: Array<{ id: string; attempts: number }> = [];
  for (let page = await api.getPendingOps({ limit: 100 }); page.length; page = await api.getPendingOps({ limit: 100, afterId: page.at(-1)!.id }))
    left.push(...page);
  return left;
}

describe('fallback worker SIGKILLed with claimed ops (embedded)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'chronos-fbke-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("local journal: the next worker finishes the dead worker's ops after their leases expire; each applied once", async () => {
    const basePath = join(dir, 'data');
    const localPath = join(dir, 'queue');
    const ns = { dbName: 'myapp', collection: 'orders' };
    const acked = await fillEmbeddedQueue(basePath, localPath, ns, 6, 4);
    const config = {
      localStorage: { enabled: true, basePath },
      fallback: { enabled: true, maxAttempts: 20, baseDelayMs: 50, maxDelayMs: 500, deadLetterCollection: 'dead', localPath },
      logging: { level: 'error' as const },
    } satisfies ChronosConfig;
    const dead = killedOn(await runWorkerChild({ config, killAt: 8, leaseMs: 3000, concurrency: 4 }));

    const meta = createLocalMetadataStore({ basePath });
    expect(await meta.findByRequestId(ns, dead.requestId)).not.toBeNull();
    await meta.close();

    const up = initChronos(config);
    try {
      // The op the worker applied is committed, and still in the queue: its completion died with the worker.
      const left = await leftOps(up.fallback);
      expect(left.map((o) => o.id)).toContain(dead.applied);
      expect(left.length).toBeGreaterThan(0);
      expect(left.length).toBeLessThan(acked.length);
      expect(left.some((o) => o.attempts > 0)).toBe(true); // claimed by the dead worker
      up.fallback.startWorker({ concurrency: 4, pollMs: 50 });
      const stats = await drained(() => up.fallback.getQueueStats());
      await up.fallback.stopWorker();
      expect(stats).toMatchObject({ pending: 0, claimed: 0, dead: 0 });
    } finally {
      await up.admin.shutdown();
    }
    expect(await expectAppliedOnceLocal(basePath, ns, acked)).toBe(acked.length);
  }, 180_000);
});

describeServers('fallback worker SIGKILLed with claimed ops (FerretDB + Ceph)', (env) => {
  const dir = mkdtempSync(join(tmpdir(), 'chronos-fbk-'));
  const names = buckets('fbk');
  beforeAll(() => createBuckets(env, names));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const queues = {
    'local journal': () => ({ localPath: join(dir, `q-${rnd()}`) }),
    'MongoDB queue': () => ({ mongoUri: env.mongoUrl, dbName: `fbkq_${rnd()}` }),
  };

  for (const [name, where] of Object.entries(queues)) {
    it(`${name}: the next worker finishes the dead worker's ops after their leases expire; each applied once`, async () => {
      const dbName = `fbk_${rnd()}`;
      const queue = where();
      const config = (mongoUri: string) =>
        ({
          databases: { runtime: { generic: { key: 'rt', mongoUri, dbName } } },
          spacesConns: [{ endpoint: env.s3Endpoint, region: 'us-east-1', accessKey: env.accessKey, secretKey: env.secretKey, forcePathStyle: true, ...names }],
          fallback: { enabled: true, maxAttempts: 20, baseDelayMs: 50, maxDelayMs: 500, deadLetterCollection: 'dead', ...queue },
          logging: { level: 'error' as const },
        }) satisfies ChronosConfig;
      const acked = await fillQueue(config, 'orders', 6, 4, 'mongoUri' in queue ? 1000 : 150);
      expect(acked).toHaveLength(30);

      const dead = killedOn(await runWorkerChild({ config: config(env.mongoUrl), killAt: 8, leaseMs: 3000, concurrency: 4 }));

      const up = initChronos(config(env.mongoUrl));
      const ns = { dbName, collection: 'orders' };
      const meta = createMongoMetadataStore({ uri: env.mongoUrl });
      try {
        // The op the worker applied is committed, and still in the queue: its completion died with the worker.
        expect(await meta.findByRequestId(ns, dead.requestId)).not.toBeNull();
        const left = await leftOps(up.fallback);
        expect(left.map((o) => o.id)).toContain(dead.applied);
        expect(left.length).toBeGreaterThan(0);
        expect(left.length).toBeLessThan(30);
        expect(left.some((o) => o.attempts > 0)).toBe(true); // claimed by the dead worker

        up.fallback.startWorker({ concurrency: 4, pollMs: 50 });
        const stats = await drained(() => up.fallback.getQueueStats());
        await up.fallback.stopWorker();
        expect(stats).toMatchObject({ pending: 0, claimed: 0, dead: 0 });
        expect(await expectAppliedOnce(env.mongoUrl, ns, acked)).toBe(30);
      } finally {
        await meta.close();
        await up.admin.shutdown();
      }
    }, 180_000);
  }
});
