/**
 * watch({ changeStream: true }) on a MongoDB replica set or mongos (MONGO_URL), blobs on the Ceph
 * S3 gateway: the change stream only wakes the polling query, so 4 concurrent writers' versions
 * arrive exactly once, in cv order, across a consumer restart (resumed from its last cv).
 * maxDelayMs is 10 minutes, so only the stream's events can make the consumer see new versions
 * in time (a stream that never fires fails by the test timeout, not by a timer assertion).
 * No replica set can run on this machine (FerretDB has no change streams): without MONGO_URL the
 * suite prints why and skips, also under CI.
 */
import { initChronos, type ChangeEntry } from 'chronos-db';
import { COLLECTION_MAPS } from './helpers/history-targets.js';
import { buckets, createBuckets, rnd, serversEnv } from './helpers/servers.js';

const URL = process.env.MONGO_URL;
const env = serversEnv();
const why = !URL ? 'MONGO_URL (a replica set or mongos) is not set' : !env ? 'the Ceph S3 test gateway (CHRONOS_TEST_S3_*) is not configured' : '';
if (why) console.log(`[skip] change stream watch: ${why}`);
const d = why ? describe.skip : describe;

d(`watch({ changeStream: true }) on a replica set (MONGO_URL)${why ? ` [skipped: ${why}]` : ''}`, () => {
  it('4 writers, 400 writes, a consumer restarting once: every version once, in cv order, woken by the stream', async () => {
    const names = buckets('hstream');
    await createBuckets(env!, names);
    const r = rnd();
    const chronos = initChronos({
      databases: { runtime: { generic: { key: 'rt', mongoUri: URL!, dbName: `hsrt_${r}` } } },
      spacesConns: [{ endpoint: env!.s3Endpoint, region: 'us-east-1', accessKey: env!.accessKey, secretKey: env!.secretKey, forcePathStyle: true, ...names }],
      collectionMaps: COLLECTION_MAPS,
    });
    try {
      const c = chronos.with({ dbName: `hs_${r}`, collection: 'docs', tenantId: 'stream' });
      const committed: number[] = [];
      const writers = Array.from({ length: 4 }, async (_, w) => {
        for (let i = 0; i < 100; i++) {
          const x = await c.create({ kind: 'own', n: i, w });
          committed.push(x.cv);
          if (i % 3 === 0) committed.push((await c.update(x.id, { kind: 'own', n: i + 1, w }, 0)).cv);
        }
      });
      const delivered: ChangeEntry[] = [];
      const consume = async (afterCv: number, stopAfter: number) => {
        const ac = new AbortController();
        let n = 0;
        for await (const e of c.watch({ afterCv, changeStream: true, signal: ac.signal, minDelayMs: 10, maxDelayMs: 600_000 })) {
          delivered.push(e);
          if (++n === stopAfter) ac.abort();
        }
      };
      await consume(0, 150); // restart: resume from the last processed cv
      await Promise.all(writers);
      const total = committed.length;
      if (total > delivered.length) await consume(delivered[delivered.length - 1]!.cv, total - delivered.length);
      const cvs = delivered.map((e) => e.cv);
      expect(new Set(cvs).size).toBe(cvs.length);
      expect(cvs).toEqual([...cvs].sort((a, b) => a - b));
      expect(cvs.sort((a, b) => a - b)).toEqual([...committed].sort((a, b) => a - b));
    } finally {
      await chronos.admin.shutdown();
    }
  }, 300_000);
});
