/**
 * The fallback queue on the embedded default (storage-local: SQLite metadata,
 * filesystem payloads, SQLite queue journal), against the direct write it
 * replaces: a committed `create` on the same stores.
 *
 * - local-fallback-queued-create: a create whose commit fails as an
 *   unreachable MongoDB would (a fault-injection wrapper around the real
 *   store: a StorageError marked retriable), so the caller hears
 *   `{ queued: true }`: the enqueue throughput and the latency a caller sees
 *   for a queued write (build + payload write + failed commit + journal
 *   insert, synced).
 * - local-fallback-drain-cN: what a worker does per op (claim with a lease,
 *   `applyQueued` through the engine, complete), N at a time: the drain
 *   throughput.
 */
import { join } from 'node:path';
import { CollectionEngine, StorageError, type ClaimedOp, type MetadataStore, type QueuedWriteBody } from '@chronos-db/core';
import { createLocalQueueStore, createLocalStorage } from '@chronos-db/storage-local';
import { pool, runPair, type Counters, type Side, type SideResult } from './measure.js';
import { selected, type BenchOptions, type WorkloadResult } from './options.js';
import { payload, type Log } from './remote.js';

const NONE: Counters = { mongo: () => 0, s3: () => 0 };
const ratioOf = (o: SideResult, r: SideResult) => Number((r.opsPerSec > 0 ? o.opsPerSec / r.opsPerSec : 0).toFixed(3));

export async function runLocalFallback(opts: BenchOptions, dir: string, log: Log): Promise<WorkloadResult[]> {
  const names = ['local-fallback-queued-create', 'local-fallback-drain-c1', 'local-fallback-drain-c4'];
  if (!names.some((n) => selected(opts, n)) && !selected(opts, 'local')) return [];
  const ns = { dbName: 'bench', collection: 'fb' };
  const storage = createLocalStorage({ basePath: join(dir, 'fallback') });
  const queue = createLocalQueueStore({ path: join(dir, 'fallback', 'queue') });
  const down: MetadataStore = Object.assign(Object.create(storage.meta) as MetadataStore, {
    async commit() {
      throw new StorageError('MongoDB commit failed: connection refused (bench fault)', {}, { retriable: true });
    },
  });
  const queued = new CollectionEngine({ ns, meta: down, blobs: storage.blobs, fallback: { queue, route: { key: 'bench', storage: 'local' } } });
  const direct = new CollectionEngine({ ns, meta: storage.meta, blobs: storage.blobs });
  const doc = payload(1, 1024);
  const out: WorkloadResult[] = [];
  const push = (r: WorkloadResult) => {
    out.push(r);
    log(`  ${r.name}: ours ${r.ours.opsPerSec} ops/s (p50 ${r.ours.p50Ms} ms, p99 ${r.ours.p99Ms} ms), direct ${r.raw.opsPerSec} ops/s, ratio ${r.ratio}`);
  };
  const side = (op: (i: number) => Promise<void>): Side => ({ op, counters: NONE });
  const directCreate = side(async () => void (await direct.create(doc)));
  const enqueue = async () => {
    const r = await queued.create(doc);
    if (!('queued' in r)) throw new Error('bench: the write was not queued');
  };
  const drainOne = async () => {
    const [op] = await queue.claim({ owner: 'bench', leaseMs: 60_000 });
    if (!op) throw new Error('bench: the queue ran dry');
    await direct.applyQueued(op.body as unknown as QueuedWriteBody);
    if (!(await queue.complete(op as ClaimedOp))) throw new Error('bench: lease lost');
  };
  try {
    if (selected(opts, names[0]!) || selected(opts, 'local')) {
      const res = await runPair(side(enqueue), directCreate, { batch: opts.batch, concurrency: 1, ops: opts.localOps });
      push({
        table: 'local',
        name: names[0]!,
        ...res,
        ratio: ratioOf(res.ours, res.raw),
        baseline: 'direct create (committed) on the same stores',
        targets: [],
      });
    }
    for (const [name, c] of [
      [names[1]!, 1],
      [names[2]!, 4],
    ] as const) {
      if (!selected(opts, name) && !selected(opts, 'local')) continue;
      const have = (await queue.stats()).pending;
      if (have < opts.localOps) await pool(Array.from({ length: opts.localOps - have }), 4, enqueue); // not measured
      const res = await runPair(side(drainOne), directCreate, { batch: Math.max(opts.batch, c * 4), concurrency: c, ops: opts.localOps });
      push({ table: 'local', name, ...res, ratio: ratioOf(res.ours, res.raw), baseline: `direct create (committed), ${c} at a time`, targets: [] });
    }
  } finally {
    await queue.close();
    await storage.close();
  }
  return out;
}
