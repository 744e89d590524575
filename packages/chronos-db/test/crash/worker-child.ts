/**
 * A fallback worker in a process of its own that SIGKILLs itself with ops
 * claimed: at the `killAt`-th completion, after the op was applied and before
 * the queue hears of it (a fault-injection wrapper around the real queue
 * store's `complete`). It writes the id of that op to stdout first.
 */
import { writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { ClaimedOp } from '@chronos-db/core';
import { initChronos, type ChronosConfig } from 'chronos-db';

// chronos-db loads its adapters lazily with require (their CommonJS builds): patch those same
// module instances, not the ESM copies a static import would give
const nodeRequire: NodeRequire = typeof __filename === 'string' ? require : createRequire(import.meta.url);
const { SqliteQueueStore } = nodeRequire('@chronos-db/storage-local') as typeof import('@chronos-db/storage-local');
const { MongoQueueStore } = nodeRequire('@chronos-db/storage-mongo') as typeof import('@chronos-db/storage-mongo');

interface Job {
  config: ChronosConfig;
  killAt: number;
  leaseMs: number;
  concurrency: number;
}

async function main() {
  const job = JSON.parse(process.env.WORKER_JOB!) as Job;
  let completions = 0;
  for (const proto of [SqliteQueueStore.prototype, MongoQueueStore.prototype]) {
    const real = proto.complete;
    proto.complete = async function (this: typeof proto, op: ClaimedOp) {
      if (++completions === job.killAt) {
        writeSync(1, `${JSON.stringify({ applied: op.id, requestId: op.requestId })}\n`);
        process.kill(process.pid, 'SIGKILL');
        await new Promise(() => {});
      }
      return real.call(this, op);
    };
  }
  const chronos = initChronos(job.config);
  chronos.fallback.startWorker({ concurrency: job.concurrency, pollMs: 20, leaseMs: job.leaseMs });
  for (;;) {
    await new Promise((r) => setTimeout(r, 200));
    const s = await chronos.fallback.getQueueStats();
    if (s.pending + s.claimed === 0) break;
  }
  console.log('NOT KILLED');
  process.exit(3);
}

main().catch((e) => {
  console.error(e);
  process.exit(2);
});
