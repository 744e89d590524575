/**
 * `chronos.fallback`: the queue of writes that could not reach MongoDB, and
 * the worker that replays them.
 *
 * The queue lives in a local durable journal (SQLite under
 * `fallback.localPath`, default `queue` under `localStorage.basePath`, else
 * `./.chronos/queue`) or in a MongoDB on another server (`fallback.mongoUri`
 * + `fallback.dbName`). The worker claims ops with a lease, applies each
 * through its engine's `applyQueued` (idempotent by requestId), completes it,
 * retries a retriable failure with exponential backoff and jitter up to
 * `maxAttempts`, and dead-letters a permanent one (validation, not found,
 * conflict) at once.
 */
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import {
  ChronosError,
  StorageError,
  ValidationError,
  erasedStub,
  isErasedError,
  isRetriableStorageError,
  retryDelay,
  type ClaimedOp,
  type DeadLetterOp,
  type EngineFallback,
  type FallbackConfig,
  type Logger,
  type QueueStats,
  type QueueStore,
  type QueuedOp,
  type QueuedWriteBody,
} from '@chronos-db/core';
import { storageLocal, storageMongo } from './adapters.js';

export interface WorkerOptions {
  /** Ops applied at the same time (default 4, at most 64). */
  concurrency?: number;
  /** Wait between polls of an empty queue, ms (default 1000). */
  pollMs?: number;
  /** Lease of a claimed op, ms (default: 3 x operationTimeoutMs, at least 30 s). */
  leaseMs?: number;
}

export interface ChronosFallback {
  /** Starts replaying queued writes in this process. A second call while running is a ValidationError. */
  startWorker(opts?: WorkerOptions): void;
  /** Stops claiming and waits for the ops this worker holds to finish. */
  stopWorker(): Promise<void>;
  getQueueStats(): Promise<QueueStats>;
  getPendingOps(opts?: { limit?: number; afterId?: string }): Promise<QueuedOp[]>;
  getDeadLetterOps(opts?: { limit?: number; afterId?: string }): Promise<DeadLetterOp[]>;
  /** Queues a dead-lettered op again (NotFoundError for an unknown id). */
  retryDeadLetter(id: string): Promise<QueuedOp>;
  /** Removes a pending op (QueueClaimedError while a worker holds it, NotFoundError when unknown). */
  cancelOp(id: string): Promise<void>;
}

/** What a queued op needs to find its engine again. */
export type ApplyQueued = (body: QueuedWriteBody) => Promise<unknown>;

export interface FallbackRuntime {
  readonly enabled: boolean;
  /** The engine's hook, or undefined when fallback is off. */
  hook(route: EngineFallback['route']): EngineFallback | undefined;
  readonly api: ChronosFallback;
  /** The queue store (opened on first use), or undefined when fallback is off (erasure removes a record's ops). */
  queue(): QueueStore | undefined;
  /** Stops the worker and closes the queue. */
  close(): Promise<void>;
}

const sleep = (ms: number, wake: { fn?: () => void }) =>
  new Promise<void>((r) => {
    const t = setTimeout(r, ms);
    wake.fn = () => {
      clearTimeout(t);
      r();
    };
  });

/** A permanent failure: replaying again cannot help (bad input, missing record, conflict). */
function isPermanent(e: unknown): boolean {
  return e instanceof ChronosError && !(e instanceof StorageError);
}

export function createFallback(o: {
  cfg: FallbackConfig | undefined;
  basePath: string | undefined;
  timeoutMs: number;
  log: Logger;
  redact: (s: string) => string;
  apply: ApplyQueued;
}): FallbackRuntime {
  const fb = o.cfg?.enabled ? o.cfg : undefined;
  let queue: QueueStore | undefined;
  const queueStore = (): QueueStore => {
    if (!fb) throw new ValidationError('The fallback queue is not enabled: set fallback.enabled in the config');
    if (!queue) {
      queue = fb.mongoUri
        ? storageMongo.createMongoQueueStore({
            uri: fb.mongoUri,
            dbName: fb.dbName!,
            deadLetterCollection: fb.deadLetterCollection,
            serverSelectionTimeoutMS: o.timeoutMs,
            connectTimeoutMS: o.timeoutMs,
            socketTimeoutMS: o.timeoutMs,
          })
        : storageLocal.createLocalQueueStore({ path: resolve(fb.localPath ?? (o.basePath ? join(o.basePath, 'queue') : join('.chronos', 'queue'))) });
    }
    return queue;
  };

  const owner = `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`;
  let worker: { stop: boolean; wake: { fn?: () => void }; loop: Promise<void>; inflight: Set<Promise<void>> } | undefined;

  const errorInfo = (e: unknown) => ({
    message: o.redact(String((e as Error)?.message ?? e)).slice(0, 1000),
    code: e instanceof ChronosError ? e.code : String((e as Error)?.name ?? 'Error'),
  });

  async function processOp(q: QueueStore, op: ClaimedOp): Promise<void> {
    const policy = fb!;
    try {
      if (op.attempts > policy.maxAttempts) {
        // Its earlier leases expired without an answer (a worker crashed on it each time).
        await q.deadLetter(op, { message: `no answer after ${policy.maxAttempts} attempts (leases expired)`, code: 'LEASE_EXPIRED' });
        return;
      }
      await o.apply(op.body as unknown as QueuedWriteBody);
      if (!(await q.complete(op))) o.log.warn('fallback worker: lease lost before completion (the op was applied idempotently)', { id: op.id });
    } catch (e) {
      const info = errorInfo(e);
      try {
        if (isErasedError(e)) {
          // the record was erased (before or while the write waited): dead-lettered without its content
          await q.deadLetter(op, info, { body: erasedStub(op.body as unknown as QueuedWriteBody) });
          await q.scrub?.();
          o.log.warn('fallback worker: op dead-lettered, its record was erased (its content dropped)', { id: op.id });
        } else if (isPermanent(e) || op.attempts >= policy.maxAttempts) {
          await q.deadLetter(op, info);
          o.log.warn('fallback worker: op dead-lettered', { id: op.id, code: info.code });
        } else {
          await q.release(op, info, Date.now() + retryDelay(op.attempts, policy));
          if (!isRetriableStorageError(e)) o.log.warn('fallback worker: op failed, will retry', { id: op.id, code: info.code });
        }
      } catch (e2) {
        o.log.warn('fallback worker: could not record the failure (the lease will expire)', { id: op.id, error: errorInfo(e2).message });
      }
    }
  }

  const api: ChronosFallback = {
    startWorker(opts: WorkerOptions = {}) {
      const q = queueStore();
      if (worker) throw new ValidationError('The fallback worker is already running');
      const concurrency = opts.concurrency ?? 4;
      const pollMs = opts.pollMs ?? 1000;
      const leaseMs = opts.leaseMs ?? Math.max(30_000, 3 * o.timeoutMs);
      if (!Number.isSafeInteger(concurrency) || concurrency < 1 || concurrency > 64) throw new ValidationError('concurrency must be an integer from 1 to 64');
      if (!Number.isSafeInteger(pollMs) || pollMs < 1) throw new ValidationError('pollMs must be a positive integer');
      if (!Number.isSafeInteger(leaseMs) || leaseMs < 1) throw new ValidationError('leaseMs must be a positive integer');
      const w = { stop: false, wake: {} as { fn?: () => void }, inflight: new Set<Promise<void>>(), loop: Promise.resolve() };
      w.loop = (async () => {
        while (!w.stop) {
          const free = concurrency - w.inflight.size;
          let got: ClaimedOp[] = [];
          if (free > 0) {
            try {
              got = await q.claim({ owner, leaseMs, limit: free });
            } catch (e) {
              o.log.warn('fallback worker: claim failed', { error: errorInfo(e).message });
            }
          }
          for (const op of got) {
            const p: Promise<void> = processOp(q, op).finally(() => {
              w.inflight.delete(p);
              w.wake.fn?.();
            });
            w.inflight.add(p);
          }
          if (w.stop) break;
          if (got.length && got.length === free) continue;
          await sleep(got.length ? 0 : pollMs, w.wake);
        }
        await Promise.all([...w.inflight]);
      })();
      worker = w;
    },
    async stopWorker() {
      const w = worker;
      if (!w) return;
      w.stop = true;
      w.wake.fn?.();
      await w.loop;
      worker = undefined;
    },
    getQueueStats: () => queueStore().stats(),
    getPendingOps: async (opts) => queueStore().listPending(opts),
    getDeadLetterOps: async (opts) => queueStore().listDead(opts),
    retryDeadLetter: async (id) => queueStore().retryDeadLetter(id),
    cancelOp: async (id) => queueStore().cancel(id),
  };

  return {
    enabled: !!fb,
    hook(route) {
      return fb ? { queue: queueStore, route } : undefined;
    },
    queue: () => (fb ? queueStore() : undefined),
    api,
    async close() {
      await api.stopWorker();
      const q = queue;
      queue = undefined;
      await q?.close();
    },
  };
}
