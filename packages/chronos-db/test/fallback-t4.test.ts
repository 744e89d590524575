/**
 * T4 of RELIABILITY.md on FerretDB + Ceph: 4 clients create and update
 * records through initChronos with the fallback queue on and its worker
 * running, while the test's own FerretDB is SIGSTOPped mid-workload, then
 * SIGKILLed, then restarted on the same data dir and port. When the worker
 * has drained: every acknowledged write (committed or queued) is a version
 * exactly once, no requestId is on two versions, chains are gapless, and each
 * record's acknowledged writes are in the order its client made them.
 *
 * The workload is gated by tickets (ops drawn), not by time: the controller
 * moves to the next fault once enough ops were drawn, while the last of them
 * are still in flight.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMongoMetadataStore } from '@chronos-db/storage-mongo';
import { initChronos, isQueuedWrite, type ChronosConfig } from 'chronos-db';
import { buckets, createBuckets, describeServers, startSecondFerret, type SecondFerret } from './helpers/servers';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const CLIENTS = 4;
/** Ops drawn when the server is paused, killed, restarted; and in all. */
const AT_PAUSE = 48;
const AT_KILL = 80;
const AT_RESTART = 112;
const TOTAL = 176;

interface Write {
  client: number;
  id: string;
  requestId: string;
  kind: 'create' | 'update';
  n: number;
  queued: boolean;
}

describeServers('T4: MongoDB paused, killed and restarted under 4 writers, fallback on (second FerretDB + Ceph)', (env) => {
  const names = buckets('t4');
  const dir = mkdtempSync(join(tmpdir(), 'chronos-t4-'));
  let ferret: SecondFerret | undefined;
  beforeAll(() => createBuckets(env, names));
  afterAll(() => {
    ferret?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('every acknowledged write is applied exactly once, in order, chains gapless', async () => {
    ferret = await startSecondFerret();
    const f = ferret;
    const dbName = 't4';
    const chronos = initChronos({
      databases: { runtime: { generic: { key: 'rt', mongoUri: f.url, dbName } } },
      spacesConns: [{ endpoint: env.s3Endpoint, region: 'us-east-1', accessKey: env.accessKey, secretKey: env.secretKey, forcePathStyle: true, ...names }],
      fallback: { enabled: true, maxAttempts: 1000, baseDelayMs: 50, maxDelayMs: 500, deadLetterCollection: 'dead', localPath: join(dir, 'queue') },
      operationTimeoutMs: 2000,
      logging: { level: 'error' },
    } satisfies ChronosConfig);
    const col = chronos.with({ key: 'rt', collection: 'orders' });
    const acked: Write[] = [];
    const failed: Array<{ client: number; id?: string; requestId: string; error: string }> = [];
    let drawn = 0;
    let allowed = AT_PAUSE;

    const client = async (c: number) => {
      const mine: string[] = [];
      let seq = 0;
      for (;;) {
        if (drawn >= TOTAL) return;
        if (drawn >= allowed) {
          await sleep(20);
          continue;
        }
        drawn++;
        seq++;
        const requestId = `t4-${c}-${seq}`;
        const create = mine.length === 0 || seq % 3 === 0;
        const id = create ? undefined : mine[seq % mine.length]!;
        try {
          const r = create
            ? await col.create({ c, seq, n: 0 }, 't4', undefined, { requestId })
            : await col.update(id!, { c, seq }, undefined, 't4', undefined, { requestId });
          const rid = 'id' in r ? (r.id as string) : id!;
          if (create) mine.push(rid);
          acked.push({ client: c, id: rid, requestId, kind: create ? 'create' : 'update', n: seq, queued: isQueuedWrite(r) });
        } catch (e) {
          // Not acknowledged (neither committed nor queued): allowed to be absent, never twice.
          failed.push({ client: c, ...(id ? { id } : {}), requestId, error: String((e as Error).message).slice(0, 200) });
        }
      }
    };

    const until = async (cond: () => boolean, what: string, tries = 3000) => {
      for (let i = 0; i < tries && !cond(); i++) await sleep(20);
      if (!cond()) throw new Error(`workload stalled waiting for ${what} (drawn ${drawn}, acked ${acked.length})`);
    };

    chronos.fallback.startWorker({ concurrency: 4, pollMs: 50 });
    try {
      const clients = Promise.all(Array.from({ length: CLIENTS }, (_, c) => client(c)));
      await until(() => drawn >= AT_PAUSE, 'the pause');
      f.pause();
      allowed = AT_KILL;
      await until(() => drawn >= AT_KILL, 'the kill');
      await f.kill();
      allowed = AT_RESTART;
      await until(() => drawn >= AT_RESTART, 'the restart');
      await f.restart();
      allowed = TOTAL;
      await clients;

      let stats = await chronos.fallback.getQueueStats();
      for (let i = 0; i < 1200 && stats.pending + stats.claimed > 0; i++) {
        await sleep(100);
        stats = await chronos.fallback.getQueueStats();
      }
      await chronos.fallback.stopWorker();
      expect(stats).toMatchObject({ pending: 0, claimed: 0, dead: 0 });

      // The faults happened: some writes were queued, and some were committed directly.
      const queued = acked.filter((w) => w.queued).length;
      expect(queued).toBeGreaterThan(0);
      expect(acked.length - queued).toBeGreaterThan(0);
      expect(acked.length + failed.length).toBe(TOTAL);

      const meta = createMongoMetadataStore({ uri: f.url });
      try {
        const ns = { dbName, collection: 'orders' };
        const ids = [...new Set(acked.map((w) => w.id))];
        const seen = new Map<string, string>();
        const issued = new Set([...acked.map((w) => w.requestId), ...failed.map((w) => w.requestId)]);
        for (const id of ids) {
          const vs = await meta.listVersions(ns, id, { limit: 1000 });
          expect(vs.map((v) => v.ov)).toEqual(vs.map((_, i) => i)); // gapless from 0
          for (const v of vs) {
            expect(v.requestId).toBeDefined();
            expect(issued.has(v.requestId!)).toBe(true);
            expect(seen.get(v.requestId!)).toBeUndefined(); // no requestId on two versions
            seen.set(v.requestId!, `${id}@${v.ov}`);
          }
          const ackedHere = acked.filter((w) => w.id === id).map((w) => w.requestId);
          const ackedSet = new Set(ackedHere);
          expect(vs.map((v) => v.requestId).filter((r) => ackedSet.has(r!))).toEqual(ackedHere); // each once, in order
          const last = acked.filter((w) => w.id === id).at(-1)!;
          const head = await meta.getHead(ns, id);
          expect(head?.ov).toBe(vs.length - 1);
          if (vs.at(-1)!.requestId === last.requestId) expect(await col.getLatest(id)).toMatchObject({ seq: last.n });
        }
        for (const w of acked) expect(seen.has(w.requestId)).toBe(true);
      } finally {
        await meta.close();
      }
    } finally {
      await chronos.fallback.stopWorker();
      await chronos.admin.shutdown();
    }
  }, 240_000);
});
