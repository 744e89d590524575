/**
 * Input checks done before any I/O, and the setup every write repeats
 * (actor, reason, requestId and the request hash that makes a retry idempotent).
 */
import { ValidationError } from '../errors.js';
import { assertOv } from '../names.js';
import type { VersionSelector } from '../ports.js';
import { canonicalJson, checkedCopy, isPlainObject, sha256 } from './payload.js';
import type { ReadOptions } from './types.js';

const REQUEST_ID_RE = /^[A-Za-z0-9_.:-]{1,128}$/;
export const MAX_PRESIGN_TTL = 7 * 24 * 3600;

export function optString(v: unknown, name: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || v.length > 1024) throw new ValidationError(`${name} must be a string of at most 1024 characters`);
  return v;
}

export function toTime(at: unknown): number {
  const t = at instanceof Date ? at.getTime() : typeof at === 'string' ? Date.parse(at) : typeof at === 'number' ? at : NaN;
  if (!Number.isFinite(t)) throw new ValidationError('at must be a Date, an ISO date string or epoch milliseconds');
  return t;
}

export function assertTtl(ttl: unknown): asserts ttl is number {
  if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 1 || ttl > MAX_PRESIGN_TTL) {
    throw new ValidationError(`presign TTL must be an integer number of seconds from 1 to ${MAX_PRESIGN_TTL} (7 days)`);
  }
}

/** Keys chronos-db writes itself (`_system`, `_meta`) or keeps in the metadata (`id`). */
export const RESERVED_KEYS = ['_system', '_meta'] as const;

/**
 * A validated, detached copy of a payload (Dates become ISO strings), without `id`,
 * `_system` and `_meta`, which are never stored in a payload. Nothing is dropped silently:
 * - writing a new record (create, smartInsert): `_system` / `_meta` are a ValidationError naming
 *   them, and so is `id` unless it equals the create option `{ id }`;
 * - writing an existing record (update, enrich): a record as read may be
 *   written back, so `id` must equal the record's id, and `_system` / `_meta` must be objects
 *   (as reads return them); they are ignored, since chronos-db writes them. Anything else is
 *   a ValidationError naming the key.
 */
export function checkData(data: unknown, what = 'data', recordId?: string, existing = recordId !== undefined): Record<string, unknown> {
  const copy = checkedCopy(data, what); // assertJsonPayload and copyJson in one walk
  const src = data as Record<string, unknown>;
  for (const k of RESERVED_KEYS) {
    const v = src[k];
    if (v === undefined) continue;
    if (!existing) {
      throw new ValidationError(
        `${what}.${k} is reserved: chronos-db writes it. Remove it from what you write (from a record you read: const { id, _system, _meta, ...data } = record)`,
        { key: k },
      );
    }
    if (!isPlainObject(v))
      throw new ValidationError(`${what}.${k} is reserved: chronos-db writes it (a record read and written back may carry it as it was read, an object)`, {
        key: k,
      });
  }
  if (src.id !== undefined && src.id !== recordId) {
    const shown = JSON.stringify(src.id)?.slice(0, 80);
    throw new ValidationError(
      recordId === undefined
        ? `${what}.id (${shown}) is not part of a payload: a record's id lives in its metadata. Pass it as the create option { id }, or remove it`
        : `${what}.id (${shown}) differs from the id of the record being written ('${recordId}'): an id cannot change`,
      { key: 'id' },
    );
  }
  // deleted only when there (a delete makes the object slower to serialize)
  for (const k of ['id', ...RESERVED_KEYS]) if (Object.hasOwn(copy, k)) delete copy[k];
  return copy;
}

export function checkRequestId(r: unknown): string | undefined {
  if (r === undefined || r === null) return undefined;
  if (typeof r !== 'string' || !REQUEST_ID_RE.test(r)) throw new ValidationError("requestId must be 1-128 letters, digits, '_', '.', ':' or '-'");
  return r;
}

export function checkReadOptions(o: ReadOptions): void {
  if (!isPlainObject(o as unknown)) throw new ValidationError('read options must be an object');
  if (o.ttlSeconds !== undefined) assertTtl(o.ttlSeconds);
  if (o.projection !== undefined && (!Array.isArray(o.projection) || o.projection.some((p) => typeof p !== 'string')))
    throw new ValidationError('projection must be an array of property names');
}

export function selector(target: unknown): VersionSelector {
  if (!isPlainObject(target)) throw new ValidationError('target must be { ov }, { cv } or { at }');
  if ('ov' in target && target.ov !== undefined) {
    assertOv(target.ov, 'ov');
    return { ov: target.ov };
  }
  if ('cv' in target && target.cv !== undefined) {
    assertOv(target.cv, 'cv');
    return { cv: target.cv };
  }
  if ('at' in target && target.at !== undefined) return { at: toTime(target.at) };
  throw new ValidationError('target must be { ov }, { cv } or { at }');
}

export function decodePageToken(t: string): { a: string; d: 1 | -1 } {
  try {
    const o = JSON.parse(Buffer.from(t, 'base64url').toString('utf8')) as { a?: unknown; d?: unknown };
    if (typeof o.a === 'string' && (o.d === 1 || o.d === -1)) return { a: o.a, d: o.d };
  } catch {
    /* fall through */
  }
  throw new ValidationError('Invalid pageToken');
}

/** Who and why of one write, its idempotency key and the hash of what it asked for. */
export interface WriteSetup {
  actor: string | undefined;
  reason: string | undefined;
  requestId: string | undefined;
  requestHash: string | undefined;
}

/**
 * Validates actor, reason and requestId (in that order) and, with a requestId,
 * hashes the request (`hashOf()`, canonical JSON) so a reuse with another payload is refused.
 */
export function writeSetup(o: { actor?: unknown; reason?: unknown; requestId?: unknown }, hashOf: () => unknown): WriteSetup {
  const actor = optString(o.actor, 'actor');
  const reason = optString(o.reason, 'reason');
  const requestId = checkRequestId(o.requestId);
  const requestHash = requestId ? sha256(canonicalJson(hashOf())) : undefined;
  return { actor, reason, requestId, requestHash };
}
