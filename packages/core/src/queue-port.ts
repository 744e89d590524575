/**
 * The QueueStore port: where the fallback queue keeps writes that could not
 * reach the metadata store (MongoDB down), until a worker replays them.
 *
 * Contract (checked by the testkit's `runQueueStoreConformance`):
 * - `enqueue` is durable when it resolves (the caller may then hear
 *   "queued"); enqueuing a requestId that is already live (pending or
 *   claimed) returns that op instead of a second one.
 * - `claim` takes ops with a lease (owner, expiry): two claimants never hold
 *   the same op; an op whose lease expired can be claimed again (its
 *   `attempts` counts every claim). An op is never claimed while an op with
 *   the same `orderKey` queued before it is still pending or claimed, nor
 *   before its `notBefore`.
 * - `complete`, `release` and `deadLetter` act only for the current lease
 *   holder and return false otherwise (the lease expired and another took
 *   the op, or it is gone). `deadLetter` moves the op atomically: it is live
 *   or dead, never both, never neither.
 * - `retryDeadLetter` makes a dead op live again (attempts reset, at the end
 *   of its orderKey's line); an unknown id is a `NotFoundError`.
 * - `cancel` removes a pending op; a claimed one (lease unexpired) is a
 *   `QueueClaimedError`; an unknown id is a `NotFoundError`.
 */

import { NotFoundError, ValidationError } from './errors.js';

/** What a worker needs to apply one queued write: JSON-serialisable, opaque to the store. */
export type QueueBody = Record<string, unknown>;

export interface QueueOpInput {
  /** Ops with the same key are claimed in the order they were enqueued (per-record order). */
  orderKey: string;
  /** The write's idempotency key (the version it commits carries it). */
  requestId: string;
  body: QueueBody;
}

export interface QueueErrorInfo {
  message: string;
  /** The ChronosError code, or the error's name. */
  code?: string;
}

export interface QueueLease {
  owner: string;
  /** Epoch ms. */
  expiresAt: number;
}

export interface QueuedOp {
  /** Sortable by enqueue time; `afterId` pages follow it. */
  id: string;
  orderKey: string;
  requestId: string;
  body: QueueBody;
  /** Claims so far (0 while never claimed). */
  attempts: number;
  enqueuedAt: number;
  /** Not claimable before this time (backoff), epoch ms. */
  notBefore: number;
  status: 'pending' | 'claimed';
  /** Present while claimed. */
  lease?: QueueLease;
  lastError?: QueueErrorInfo;
}

/** An op held by a claimant: what complete/release/deadLetter need. */
export interface ClaimedOp extends QueuedOp {
  status: 'claimed';
  lease: QueueLease;
}

export interface DeadLetterOp extends Pick<QueuedOp, 'id' | 'orderKey' | 'requestId' | 'body' | 'attempts' | 'enqueuedAt'> {
  deadAt: number;
  lastError: QueueErrorInfo;
}

export interface ClaimOptions {
  owner: string;
  leaseMs: number;
  /** At most this many ops (default 1). */
  limit?: number;
}

export interface QueuePageOptions {
  limit?: number;
  /** Only ops with id > afterId, in id order. */
  afterId?: string;
}

export interface QueueStats {
  pending: number;
  claimed: number;
  dead: number;
  /** Enqueue time of the oldest live op. */
  oldestEnqueuedAt?: number;
}

export interface QueueStore {
  enqueue(input: QueueOpInput): Promise<QueuedOp>;
  claim(opts: ClaimOptions): Promise<ClaimedOp[]>;
  /** The op was applied: it leaves the queue. False when the caller no longer holds the lease. */
  complete(op: ClaimedOp): Promise<boolean>;
  /** The attempt failed: the op becomes pending again, claimable from `notBefore`. */
  release(op: ClaimedOp, error: QueueErrorInfo, notBefore: number): Promise<boolean>;
  /**
   * The op can never apply (or ran out of attempts): it moves to the dead letters. `opts.body`
   * replaces its body there (a write refused because its record was erased keeps no content);
   * one that is not an object is a ValidationError (`assertDeadLetterBody`). A kept error
   * (here and in `release`) is `boundedQueueError(error)`.
   */
  deadLetter(op: ClaimedOp, error: QueueErrorInfo, opts?: { body?: QueueBody }): Promise<boolean>;
  listPending(opts?: QueuePageOptions): Promise<QueuedOp[]>;
  listDead(opts?: QueuePageOptions): Promise<DeadLetterOp[]>;
  retryDeadLetter(id: string): Promise<QueuedOp>;
  cancel(id: string): Promise<void>;
  /** Live (pending or claimed) ops of one orderKey. */
  pendingFor(orderKey: string): Promise<number>;
  stats(): Promise<QueueStats>;
  /**
   * Optional (erasure): removes every op of these orderKeys, pending, claimed (the holder's
   * complete / release / deadLetter then return false) or dead, and returns how many went.
   */
  eraseOrderKeys?(orderKeys: readonly string[]): Promise<number>;
  /**
   * Optional (erasure): makes the ops removed so far unreadable from the store's own files (an
   * embedded journal's free pages and write-ahead log). False when it could not.
   */
  scrub?(): Promise<boolean>;
  close(): Promise<void>;
}

/** Retry policy of the fallback queue (config `fallback`). */
export interface RetryPolicy {
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

/**
 * Delay before the next attempt after `attempts` failed ones: exponential
 * (base * 2^(attempts-1)) with full jitter in its upper half, never above maxDelayMs.
 */
export function retryDelay(attempts: number, p: Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs'>, random: () => number = Math.random): number {
  const exp = Math.min(p.maxDelayMs, p.baseDelayMs * 2 ** Math.min(30, Math.max(0, attempts - 1)));
  return Math.min(p.maxDelayMs, Math.floor(exp / 2 + random() * (exp / 2)));
}

let last = 0;
let counter = 0;
/** A queue op id: sortable by creation time (ms, then a per-process counter), unique across processes. */
export function newOpId(): string {
  const now = Date.now();
  if (now === last) counter++;
  else {
    last = now;
    counter = 0;
  }
  const rnd = Array.from(globalThis.crypto.getRandomValues(new Uint8Array(6)), (b) => b.toString(16).padStart(2, '0')).join('');
  return `op_${now.toString(36).padStart(9, '0')}${counter.toString(36).padStart(4, '0')}${rnd}`;
}

/** Checks an op id given by a caller (retryDeadLetter, cancel). */
export function isOpId(id: unknown): id is string {
  return typeof id === 'string' && /^op_[0-9a-z]{13}[0-9a-f]{12}$/.test(id);
}

/** An op id given by a caller (retryDeadLetter, cancel): anything else is a NotFoundError naming `what` (no store holds such an op). */
export function assertOpId(id: unknown, what = 'Queued operation'): asserts id is string {
  if (!isOpId(id)) throw new NotFoundError(`${what} '${String(id).slice(0, 80)}' not found`, { id: String(id).slice(0, 80) });
}

// ---------------------------------------------------------------------------
// Input rules every QueueStore applies before any I/O (ValidationError)
// ---------------------------------------------------------------------------

/** The most ops one claim or one page returns. */
export const QUEUE_MAX_PAGE = 1000;

/** Checks an enqueue's input: orderKey 1-1024 characters, requestId 1-256, body an object. */
export function assertQueueOpInput(input: QueueOpInput): void {
  if (!input || typeof input !== 'object') throw new ValidationError('enqueue needs { orderKey, requestId, body }');
  if (typeof input.orderKey !== 'string' || input.orderKey.length < 1 || input.orderKey.length > 1024)
    throw new ValidationError('orderKey must be a string of 1-1024 characters');
  if (typeof input.requestId !== 'string' || input.requestId.length < 1 || input.requestId.length > 256)
    throw new ValidationError('requestId must be a string of 1-256 characters');
  if (!input.body || typeof input.body !== 'object' || Array.isArray(input.body)) throw new ValidationError('body must be an object');
}

const queueLimit = (limit: unknown): number => {
  if (!Number.isSafeInteger(limit) || (limit as number) < 1 || (limit as number) > QUEUE_MAX_PAGE)
    throw new ValidationError(`limit must be an integer from 1 to ${QUEUE_MAX_PAGE}`);
  return limit as number;
};

/** The orderKeys of `eraseOrderKeys`: an array of at most QUEUE_MAX_PAGE strings of 1-1024 characters. */
export function assertOrderKeys(keys: readonly string[]): void {
  if (!Array.isArray(keys) || keys.length > QUEUE_MAX_PAGE || keys.some((k) => typeof k !== 'string' || k.length < 1 || k.length > 1024))
    throw new ValidationError(`eraseOrderKeys takes at most ${QUEUE_MAX_PAGE} orderKeys of 1-1024 characters`);
}

/** The `body` option of `deadLetter` (kept instead of the op's): an object when given. */
export function assertDeadLetterBody(body: unknown): void {
  if (body !== undefined && (!body || typeof body !== 'object' || Array.isArray(body))) throw new ValidationError('deadLetter body must be an object');
}

/** A release's or dead letter's error as a store keeps it: the message (at most 2,000 characters) and the code (at most 100), nothing else. */
export function boundedQueueError(e: QueueErrorInfo): QueueErrorInfo {
  return { message: String(e?.message ?? '').slice(0, 2000), ...(e?.code ? { code: String(e.code).slice(0, 100) } : {}) };
}

/** Checks a claim's options; returns its limit (default 1). */
export function claimLimit(o: ClaimOptions): number {
  if (!o || typeof o.owner !== 'string' || !o.owner) throw new ValidationError('claim needs an owner');
  if (!Number.isSafeInteger(o.leaseMs) || o.leaseMs < 1) throw new ValidationError('leaseMs must be a positive integer');
  return queueLimit(o.limit ?? 1);
}

/** Checks the options of a listing page (dead letters); returns the limit (default 100) and afterId ('' for the start). */
export function queuePage(o: QueuePageOptions = {}): { limit: number; afterId: string } {
  if (!o || typeof o !== 'object') throw new ValidationError('page options must be { limit?, afterId? }');
  const limit = queueLimit(o.limit ?? 100);
  if (o.afterId !== undefined && typeof o.afterId !== 'string') throw new ValidationError('afterId must be a string');
  return { limit, afterId: o.afterId ?? '' };
}
