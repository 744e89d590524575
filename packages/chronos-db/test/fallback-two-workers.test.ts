/**
 * Two fallback workers (two chronos instances in one process, on one journal)
 * drain 2,000 queued writes through the engine on the embedded stores: each op
 * is completed once, by one of them, both take part, and each write is
 * exactly one version (its requestId on one version only, chains gapless, in
 * queue order). The queue is filled by an engine whose metadata store fails
 * its commits as an unreachable MongoDB would (a fault-injection wrapper
 * around the real SQLite store). The journal's claim and complete are
 * observed (not changed) to see who held what.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClaimOptions, ClaimedOp } from '@chronos-db/core';
import { SqliteQueueStore } from '@chronos-db/storage-local';
import { initChronos, type ChronosConfig } from 'chronos-db';
import { drained, expectAppliedOnceLocal, fillEmbeddedQueue } from './helpers/fallback';

const RECORDS = 100;
const UPDATES = 19;

/** Observes claims and completions of the journal (calls through to the real ones). */
function observe() {
  const proto = SqliteQueueStore.prototype;
  const realClaim = proto.claim;
  const realComplete = proto.complete;
  const seen = { claims: 0, completed: new Map<string, string[]>() };
  proto.claim = async function (this: SqliteQueueStore, o: ClaimOptions) {
    const ops = await realClaim.call(this, o);
    seen.claims += ops.length;
    return ops;
  };
  proto.complete = async function (this: SqliteQueueStore, op: ClaimedOp) {
    const ok = await realComplete.call(this, op);
    if (ok) seen.completed.set(op.id, [...(seen.completed.get(op.id) ?? []), op.lease.owner]);
    return ok;
  };
  return { seen, restore: () => Object.assign(proto, { claim: realClaim, complete: realComplete }) };
}

describe('two fallback workers on one journal (embedded)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'chronos-fb2w-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it(`${RECORDS * (UPDATES + 1)} queued writes drained by two workers: each applied once, in order`, async () => {
    const basePath = join(dir, 'data');
    const localPath = join(dir, 'queue');
    const ns = { dbName: 'myapp', collection: 'items' };

    const acked = await fillEmbeddedQueue(basePath, localPath, ns, RECORDS, UPDATES);

    const config = {
      localStorage: { enabled: true, basePath },
      fallback: { enabled: true, maxAttempts: 5, baseDelayMs: 10, maxDelayMs: 100, deadLetterCollection: 'dead', localPath },
    } satisfies ChronosConfig;
    const a = initChronos(config);
    const b = initChronos(config);
    const o = observe();
    try {
      expect(await a.fallback.getQueueStats()).toMatchObject({ pending: acked.length, claimed: 0, dead: 0 });
      a.fallback.startWorker({ concurrency: 4, pollMs: 10 });
      b.fallback.startWorker({ concurrency: 4, pollMs: 10 });
      const stats = await drained(() => a.fallback.getQueueStats());
      await Promise.all([a.fallback.stopWorker(), b.fallback.stopWorker()]);
      expect(stats).toMatchObject({ pending: 0, claimed: 0, dead: 0 });

      // Each op completed once, by one owner; both workers completed some.
      expect(o.seen.completed.size).toBe(acked.length);
      const byOwner = new Map<string, number>();
      for (const owners of o.seen.completed.values()) {
        expect(owners).toHaveLength(1);
        byOwner.set(owners[0]!, (byOwner.get(owners[0]!) ?? 0) + 1);
      }
      expect(byOwner.size).toBe(2);
      expect(o.seen.claims).toBe(acked.length); // no op was claimed twice (no failed attempt, no lease lost)

      // Each write is one version, in queue order, chains gapless; no requestId twice.
      expect(await expectAppliedOnceLocal(basePath, ns, acked)).toBe(acked.length);
      const col = a.with(ns);
      for (const id of [...new Set(acked.map((w) => w.id))]) expect(await col.getLatest(id)).toMatchObject({ n: UPDATES });
    } finally {
      o.restore();
      await a.admin.shutdown();
      await b.admin.shutdown();
    }
  }, 240_000);
});
