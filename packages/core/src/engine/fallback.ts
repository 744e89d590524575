/**
 * The fallback queue's side of the write path. With `fallback` on, a write
 * whose metadata commit cannot reach its store (a StorageError marked
 * retriable by the adapter: connection refused, timeout, no primary) is
 * persisted in the QueueStore and the caller gets `{ queued: true, requestId,
 * id }`, never a result that looks committed. Every write carries a requestId
 * from its first attempt (one is generated when the caller gives none), so a
 * replay after an unacknowledged commit finds the version instead of writing
 * a second one. A write to a record that has ops queued is queued behind them
 * (per-record order).
 */
import { StorageError, isRetriableStorageError } from '../errors.js';
import type { Namespace, VersionDoc } from '../ports.js';
import { newOpId, type QueueStore } from '../queue-port.js';
import type { Built } from './build.js';
import type { EngineContext } from './context.js';

/** What the engine needs to queue a write (EngineOptions.fallback). */
export interface EngineFallback {
  queue: QueueStore | (() => QueueStore);
  /** Names the engine's (backend, storage) so a worker can find it again; stored with each op. */
  route: { key: string; storage: string | number };
}

/** The result of a write that was queued instead of committed. */
export interface QueuedWrite {
  queued: true;
  /** The write's idempotency key; the version the replay commits carries it. */
  requestId: string;
  /** The record's id (for a create, the id the record will have). */
  id: string;
}

export type QueuedKind = 'create' | 'update' | 'delete' | 'enrich';

/** One queued write, as stored in the queue (JSON). */
export interface QueuedWriteBody {
  v: 1;
  kind: QueuedKind;
  route: EngineFallback['route'];
  ns: { dbName: string; collection: string; tenant?: string };
  id: string;
  /** A create whose id the caller chose (its request hash includes it). */
  idGiven?: boolean;
  requestId: string;
  requestHash: string;
  expectedOv?: number;
  actor?: string;
  reason?: string;
  functionId?: string;
  data?: Record<string, unknown>;
  patches?: Record<string, unknown>[];
  /** The version built and PUT before the commit failed: reused at replay while the head has not moved. */
  built?: { version: Omit<VersionDoc, 'cv'>; on: number | null; shadow: { json: string; expiresAt: number } | null };
  acceptedAt: number;
}

export type WriteIntent = Omit<QueuedWriteBody, 'v' | 'route' | 'ns' | 'built' | 'acceptedAt'> & {
  /** The caller named the record (update/delete/enrich, create with id or requestId): keep its order behind queued ops. */
  ordered: boolean;
};

const builtOfError = new WeakMap<object, { built: Built; on: number | null }>();

/** Remembers, on a failed commit's error, the version that was built and PUT (reused if the write is queued). */
export function tagBuilt(e: unknown, built: Built, on: number | null): unknown {
  if (e && typeof e === 'object' && isRetriableStorageError(e)) builtOfError.set(e, { built, on });
  return e;
}

/** A requestId for a write whose caller gave none (fallback on): the replay's idempotency key. */
export function fallbackRequestId(): string {
  return `fb-${newOpId().slice(3)}`;
}

export function queueOf(fb: EngineFallback): QueueStore {
  return typeof fb.queue === 'function' ? fb.queue() : fb.queue;
}

/** The queue orderKey of one record written through one route (backend key, storage): its ops are replayed in order. */
export function queueOrderKey(route: EngineFallback['route'], ns: Namespace, id: string): string {
  return [route.key, String(route.storage), ns.dbName, ns.tenant ?? '', ns.collection, id].join('\u0000');
}

export function orderKeyOf(cx: EngineContext, fb: EngineFallback, id: string): string {
  return queueOrderKey(fb.route, cx.ns, id);
}

/** The body a dead letter keeps of a write refused because its record was erased: no content, no actor or reason. */
export function erasedStub(body: QueuedWriteBody): Record<string, unknown> {
  return { v: body.v, kind: body.kind, route: body.route, ns: body.ns, id: body.id, requestId: body.requestId, erased: true };
}

/** Runs a write; with fallback on, queues it when the metadata store is unreachable (or ops of the record are queued). */
export async function queueable<T>(cx: EngineContext, intent: WriteIntent, run: () => Promise<T>): Promise<T | QueuedWrite> {
  const fb = cx.fallback;
  if (!fb) return run();
  const orderKey = orderKeyOf(cx, fb, intent.id);
  if (intent.ordered && (await queueOf(fb).pendingFor(orderKey)) > 0) return enqueueWrite(cx, fb, orderKey, intent, undefined);
  try {
    return await run();
  } catch (e) {
    if (!isRetriableStorageError(e)) throw e;
    return enqueueWrite(cx, fb, orderKey, intent, builtOfError.get(e as object), e);
  }
}

async function enqueueWrite(
  cx: EngineContext,
  fb: EngineFallback,
  orderKey: string,
  intent: WriteIntent,
  built: { built: Built; on: number | null } | undefined,
  cause?: unknown,
): Promise<QueuedWrite> {
  const { ordered, ...rest } = intent;
  void ordered;
  const { dbName, tenant, collection } = cx.ns;
  const body: QueuedWriteBody = {
    v: 1,
    ...rest,
    route: fb.route,
    ns: { dbName, collection, ...(tenant !== undefined ? { tenant } : {}) },
    acceptedAt: cx.clock(),
    ...(built ? { built: { version: built.built.version, on: built.on, shadow: built.built.shadow } } : {}),
  };
  try {
    await queueOf(fb).enqueue({ orderKey, requestId: intent.requestId, body: JSON.parse(JSON.stringify(body)) as Record<string, unknown> });
  } catch (e) {
    // Not persisted: the caller must not hear "queued".
    throw new StorageError(
      `The write could not be committed nor queued: ${(e as Error).message}`,
      { id: intent.id, requestId: intent.requestId },
      { cause: cause ?? e },
    );
  }
  cx.log.warn('write queued: the metadata store is unreachable or the record has queued writes', {
    id: intent.id,
    requestId: intent.requestId,
    kind: intent.kind,
  });
  return { queued: true, requestId: intent.requestId, id: intent.id };
}

/** True for the result of a write that was queued instead of committed. */
export function isQueuedWrite(r: unknown): r is QueuedWrite {
  return !!r && typeof r === 'object' && (r as { queued?: unknown }).queued === true;
}
