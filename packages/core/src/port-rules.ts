/**
 * The constants and rules of the ports (ports.ts), in one place, so every
 * adapter checks the same thing: the item states, ops and bucket roles, the
 * blob-key grammar of the BlobStore and the field-name grammar of filters.
 * Adapters import these instead of keeping their own copies; the testkit
 * conformance suites check the behaviour that follows from them.
 */
import { ValidationError } from './errors.js';
import { assertId } from './names.js';
import type { BucketRole, HeadsByStateInput, ItemState, Op } from './ports.js';

const show = (v: unknown, max = 64) => JSON.stringify(typeof v === 'string' ? v.slice(0, max) : v);

// ---------------------------------------------------------------------------
// Item states, ops, bucket roles
// ---------------------------------------------------------------------------

/** Every value of `Op`: the operation that produced a version. */
export const OPS = ['CREATE', 'UPDATE', 'DELETE', 'ENRICH', 'RESTORE'] as const satisfies readonly Op[];
/** Every value of `ItemState`: the processing state kept on a head. */
export const ITEM_STATES = ['new-not-synched', 'new', 'processed'] as const satisfies readonly ItemState[];
/** Every value of `BucketRole`: json (version payloads), content (externalized binaries), backups (manifests). */
export const BUCKET_ROLES = ['json', 'content', 'backups'] as const satisfies readonly BucketRole[];

// Compile-time checks that the lists above name every member of their union.
type Missing<U, L extends readonly unknown[]> = Exclude<U, L[number]>;
const complete: [Missing<Op, typeof OPS>, Missing<ItemState, typeof ITEM_STATES>, Missing<BucketRole, typeof BUCKET_ROLES>] extends [never, never, never]
  ? true
  : false = true;
void complete;

const OP_SET: ReadonlySet<unknown> = new Set(OPS);
const STATE_SET: ReadonlySet<unknown> = new Set(ITEM_STATES);
const ROLE_SET: ReadonlySet<unknown> = new Set(BUCKET_ROLES);

export const isOp = (v: unknown): v is Op => OP_SET.has(v);
export const isItemState = (v: unknown): v is ItemState => STATE_SET.has(v);
export const isBucketRole = (v: unknown): v is BucketRole => ROLE_SET.has(v);

/** Throws ValidationError unless `role` is one of BUCKET_ROLES. */
export function assertBucketRole(role: unknown): asserts role is BucketRole {
  if (!isBucketRole(role)) throw new ValidationError(`Unknown bucket role ${show(role, 80)}: use json, content or backups`);
}

/** Throws ValidationError unless `state` is one of ITEM_STATES. */
export function assertItemState(state: unknown): asserts state is ItemState {
  if (!isItemState(state)) throw new ValidationError(`Invalid item state ${show(String(state), 40)}`);
}

/** Checks the input of `MetadataStore.findHeadsByState`; throws ValidationError naming what is wrong. */
export function assertHeadsByState(q: unknown): asserts q is HeadsByStateInput {
  if (!q || typeof q !== 'object') throw new ValidationError('findHeadsByState needs { state, atOrBefore, limit, after? }');
  const i = q as HeadsByStateInput;
  assertItemState(i.state);
  if (typeof i.atOrBefore !== 'number' || !Number.isFinite(i.atOrBefore)) throw new ValidationError('atOrBefore must be a finite number (epoch ms)');
  if (!Number.isSafeInteger(i.limit) || i.limit < 1 || i.limit > 100_000) throw new ValidationError('limit must be an integer from 1 to 100000');
  if (i.after !== undefined) {
    if (!i.after || typeof i.after !== 'object' || typeof i.after.at !== 'number' || !Number.isFinite(i.after.at))
      throw new ValidationError('after must be { at, itemId } of the last head of the previous page');
    assertId(i.after.itemId);
  }
}

// ---------------------------------------------------------------------------
// Blob keys
// ---------------------------------------------------------------------------

/** The characters of an object key or list prefix. */
export const BLOB_KEY_CHARS = /^[A-Za-z0-9._/-]+$/;
export const MAX_BLOB_KEY_LENGTH = 1024;

/**
 * Splits an object key into its '/' segments, or throws ValidationError. A key is
 * 1-1024 characters of [A-Za-z0-9._/-] with no leading or trailing '/' and no
 * empty, '.' or '..' segment: it can never name anything outside its bucket.
 */
export function blobKeySegments(key: unknown): string[] {
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_BLOB_KEY_LENGTH || !BLOB_KEY_CHARS.test(key)) {
    throw new ValidationError(`Invalid object key ${show(key)}: use 1-${MAX_BLOB_KEY_LENGTH} characters of [A-Za-z0-9._/-]`);
  }
  const segs = key.split('/');
  if (segs.some((s) => s === '' || s === '.' || s === '..')) {
    throw new ValidationError(`Invalid object key ${show(key)}: no leading or trailing '/', no empty, '.' or '..' segment`);
  }
  return segs;
}

/** Throws ValidationError unless `key` is a valid object key (see blobKeySegments). */
export function assertBlobKey(key: unknown): asserts key is string {
  // the common case without splitting the key: allowed characters, no empty, '.' or '..' segment
  if (typeof key === 'string' && key.length > 0 && key.length <= MAX_BLOB_KEY_LENGTH && BLOB_KEY_CHARS.test(key) && !BAD_SEGMENT.test(key)) return;
  blobKeySegments(key);
}

/** An empty, '.' or '..' segment anywhere in a key (a leading or trailing '/' makes an empty one). */
const BAD_SEGMENT = /(?:^|\/)\.{0,2}(?:\/|$)/;

/**
 * Splits a list prefix into its directory segments and the partial name after the
 * last '/', or throws ValidationError. A prefix is empty, or up to 1024 characters
 * of [A-Za-z0-9._/-] that may end with '/'; no leading '/', no empty, '.' or '..'
 * segment (the partial name may not be '.' or '..' either).
 */
export function blobPrefixParts(prefix: unknown): { dirs: string[]; partial: string } {
  if (typeof prefix !== 'string' || prefix.length > MAX_BLOB_KEY_LENGTH || (prefix.length > 0 && !BLOB_KEY_CHARS.test(prefix))) {
    throw new ValidationError(`Invalid list prefix ${show(prefix)}: use at most ${MAX_BLOB_KEY_LENGTH} characters of [A-Za-z0-9._/-]`);
  }
  if (prefix === '') return { dirs: [], partial: '' };
  const dirs = prefix.split('/');
  const partial = dirs.pop() ?? '';
  if (dirs.some((s) => s === '' || s === '.' || s === '..') || partial === '.' || partial === '..') {
    throw new ValidationError(`Invalid list prefix ${show(prefix)}: no leading '/', no empty, '.' or '..' segment`);
  }
  return { dirs, partial };
}

/** Throws ValidationError unless `prefix` is a valid list prefix (see blobPrefixParts). */
export function assertBlobPrefix(prefix: unknown): asserts prefix is string {
  blobPrefixParts(prefix);
}

// ---------------------------------------------------------------------------
// Field names (filters, indexed properties)
// ---------------------------------------------------------------------------

/** One segment of a field path: a letter or '_', then up to 63 letters, digits, '_' or '-'. */
export const FIELD_SEGMENT_RE = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/;
/** A dotted field path of at most MAX_FIELD_SEGMENTS segments. */
export const FIELD_PATH_RE = /^[A-Za-z_][A-Za-z0-9_-]{0,63}(\.[A-Za-z_][A-Za-z0-9_-]{0,63}){0,7}$/;
export const MAX_FIELD_SEGMENTS = 8;
/** Segments refused anywhere in a field path or query key. */
export const FORBIDDEN_FIELD_SEGMENTS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** True when `f` is a field path of the grammar above with no forbidden segment. */
export function isFieldPath(f: unknown): boolean {
  return typeof f === 'string' && FIELD_PATH_RE.test(f) && !f.split('.').some((s) => FORBIDDEN_FIELD_SEGMENTS.has(s));
}

/** Splits a field path into its segments, or throws ValidationError naming it. */
export function fieldSegments(f: unknown): string[] {
  if (typeof f !== 'string' || !isFieldPath(f)) throw new ValidationError(`Invalid filter field ${show(String(f), 80)}`);
  return f.split('.');
}

// ---------------------------------------------------------------------------
// Version rows (deleteVersions) and byte ranges (getRange)
// ---------------------------------------------------------------------------

/** Most refs one `MetadataStore.deleteVersions` call takes. */
export const MAX_DELETE_VERSIONS = 1000;

/**
 * Checks the refs of a `deleteVersions` call and groups them by record, each group's ovs in
 * ascending order (the order rows must be removed in), or throws ValidationError.
 */
export function deleteVersionGroups(refs: unknown): Map<string, number[]> {
  if (!Array.isArray(refs) || refs.length > MAX_DELETE_VERSIONS)
    throw new ValidationError(`deleteVersions takes an array of at most ${MAX_DELETE_VERSIONS} { itemId, ov }`);
  const groups = new Map<string, Set<number>>();
  for (const r of refs as Array<{ itemId?: unknown; ov?: unknown }>) {
    if (!r || typeof r !== 'object' || typeof r.itemId !== 'string' || !/^[A-Za-z0-9_-]{1,128}$/.test(r.itemId))
      throw new ValidationError(`deleteVersions: invalid itemId ${show(r?.itemId)}`);
    if (typeof r.ov !== 'number' || !Number.isSafeInteger(r.ov) || r.ov < 0) throw new ValidationError(`deleteVersions: invalid ov ${show(r.ov)}`);
    let g = groups.get(r.itemId);
    if (!g) groups.set(r.itemId, (g = new Set()));
    g.add(r.ov);
  }
  return new Map([...groups].map(([id, ovs]) => [id, [...ovs].sort((a, b) => a - b)]));
}

/** The error of a `deleteVersions` call that names a record's newest version (nothing is removed). */
export function newestVersionError(itemId: string, ov: number): ValidationError {
  return new ValidationError(`deleteVersions: v${ov} is the newest version of record ${show(itemId)}: it is never removed`, { id: itemId, ov });
}

/** Throws ValidationError unless offset and length of a `getRange` call are non-negative safe integers. */
export function assertByteRange(offset: unknown, length: unknown): void {
  for (const [name, v] of [
    ['offset', offset],
    ['length', length],
  ] as const) {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
      throw new ValidationError(`getRange: ${name} must be a non-negative integer, got ${show(v)}`);
  }
}
