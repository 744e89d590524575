/**
 * What the engine, the adapters and admin share about erasure (admin hardDelete): the error a
 * write or read of an erased record gets, and the checks of erasure and lease inputs.
 */
import { NotFoundError, ValidationError } from './errors.js';
import { assertId } from './names.js';
import type { BeginErasureInput, ErasureRecord, FinishErasureInput, LeaseDoc } from './ports.js';

/** Options of `admin.hardDelete`. */
export interface HardDeleteOptions {
  /** Required: the record is removed for good. */
  confirm?: boolean;
  /** Who asked (kept in the erasure record). */
  actor?: string;
  /** Why (kept in the erasure record). */
  reason?: string;
}

/** Result of `admin.hardDelete`. */
export interface HardDeleteResult {
  id: string;
  /** Versions removed from the version index by this call. */
  versionsDeleted: number;
  /** Objects (and stored object versions) removed from the json, content and backups buckets by this call. */
  objectsDeleted: number;
  /** Manifest parts rewritten without the record's rows; null where no manifest code runs. */
  manifestsRewritten: number | null;
  /** Ops of the record removed from the fallback queue by this call, pending or dead (0 with fallback off). */
  queuedOpsDeleted: number;
  /** The embedded store's files (and the queue journal) no longer hold the deleted bytes (true where nothing needs it). */
  scrubbed: boolean;
  /** false: the record had been erased before; this call swept again. */
  firstRun: boolean;
  record: ErasureRecord;
}

/** The error of a write (or read by version) of a record that has a tombstone. */
export function erasedError(itemId: string): NotFoundError {
  return new NotFoundError(`Record '${itemId}' was erased`, { id: itemId, erased: true });
}

/** Whether `e` is the error `erasedError` builds (from any copy of this package). */
export function isErasedError(e: unknown): boolean {
  return e instanceof NotFoundError && (e as NotFoundError & { details?: { erased?: unknown } }).details?.erased === true;
}

const MAX_TEXT = 1000;

/** Throws ValidationError unless the erasure input is well formed (actor and reason: strings of at most 1000 characters). */
export function assertErasureInput(input: BeginErasureInput): void {
  if (!input || typeof input !== 'object') throw new ValidationError('beginErasure needs { itemId, at, actor?, reason? }');
  if (typeof input.at !== 'number' || !Number.isFinite(input.at)) throw new ValidationError('erasure time must be a finite number (epoch ms)');
  for (const k of ['actor', 'reason'] as const) {
    const v = input[k];
    if (v !== undefined && (typeof v !== 'string' || v.length > MAX_TEXT)) throw new ValidationError(`${k} must be a string of at most ${MAX_TEXT} characters`);
  }
}

/** Throws ValidationError unless `finishErasure`'s counts are well formed: { at, versionsDeleted, objectsDeleted }. */
export function assertFinishErasureInput(r: FinishErasureInput): void {
  if (!r || !Number.isFinite(r.at) || !Number.isSafeInteger(r.versionsDeleted) || !Number.isSafeInteger(r.objectsDeleted))
    throw new ValidationError('finishErasure needs { at, versionsDeleted, objectsDeleted }');
}

/** Throws ValidationError unless `erasedIds` got an array of at most 1000 record ids. */
export function assertErasedIdsInput(ids: readonly string[]): void {
  if (!Array.isArray(ids) || ids.length > 1000) throw new ValidationError('erasedIds takes at most 1000 ids');
  for (const id of ids) assertId(id);
}

/** Throws ValidationError unless a `listErasures` page is well formed: limit 1-1000, afterId a record id. */
export function assertErasureListQuery(q: { afterId?: string; limit: number }): void {
  if (!q || !Number.isInteger(q.limit) || q.limit < 1 || q.limit > 1000) throw new ValidationError('listErasures limit must be an integer from 1 to 1000');
  if (q.afterId !== undefined) assertId(q.afterId);
}

const LEASE_NAME = /^[A-Za-z0-9._:-]{1,128}$/;

/** Throws ValidationError unless the lease is well formed. */
export function assertLease(lease: LeaseDoc): void {
  if (!lease || typeof lease !== 'object') throw new ValidationError('putLease needs { name, gen, holder, expiresAt }');
  if (typeof lease.name !== 'string' || !LEASE_NAME.test(lease.name)) throw new ValidationError('lease name must be 1-128 characters of [A-Za-z0-9._:-]');
  if (!Number.isSafeInteger(lease.gen) || lease.gen < 1) throw new ValidationError('lease gen must be a positive integer');
  if (typeof lease.holder !== 'string' || lease.holder.length === 0 || lease.holder.length > 200)
    throw new ValidationError('lease holder must be a non-empty string');
  if (typeof lease.expiresAt !== 'number' || !Number.isFinite(lease.expiresAt)) throw new ValidationError('lease expiresAt must be a finite number');
  if (lease.data !== undefined) {
    if (!lease.data || typeof lease.data !== 'object' || Array.isArray(lease.data)) throw new ValidationError('lease data must be an object');
    for (const v of Object.values(lease.data)) {
      if (!['string', 'number', 'boolean'].includes(typeof v)) throw new ValidationError('lease data values must be strings, numbers or booleans');
    }
  }
}

/** Throws ValidationError unless `name` is a lease name. */
export function assertLeaseName(name: unknown): void {
  if (typeof name !== 'string' || !LEASE_NAME.test(name)) throw new ValidationError('lease name must be 1-128 characters of [A-Za-z0-9._:-]');
}
