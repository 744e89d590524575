/** The documents this adapter stores, and their conversion to core's types. */
import type { ErasureRecord, HeadDoc, LeaseDoc, VersionDoc } from '@chronos-db/core';

/**
 * `<c>_ver`: `{ _id: '<itemId>:<ov>', ...VersionDoc, _ca }`, unique on (itemId, ov) and on cv.
 * The version documents are the source of truth: inserting one is the commit.
 * `_ca` carries the record's createdAt along the chain (to rebuild a head); `_h` marks a
 * version whose head write is not confirmed yet.
 */
export interface StoredVersion extends VersionDoc {
  _id: string;
  _ca?: number;
  /** Set at insert (no transaction), cleared once the head shows this version: "the head may lag". */
  _h?: true;
}

/**
 * `<c>_pending`: one document per bulk commit in flight (commitManyPlain), inserted before its
 * versions and deleted after their heads: the versions (their `_id`s) whose heads may lag. It
 * replaces one `_h` flag (and one flag-clearing update) per version; `at` is the writer's clock.
 */
export interface StoredPending {
  _id: string;
  at: number;
  /** `versionId(itemId, ov)` of each version (FerretDB stores no arrays of arrays). */
  items: string[];
}

/** `<c>_head`: `{ _id: itemId, ...the latest VersionDoc, createdAt, state, shadow? }`, derived from `_ver`. */
export interface StoredHead extends HeadDoc {
  _id: string;
}

/** Optional VersionDoc fields: unset on the head when the new version lacks them. */
export const OPTIONAL_VERSION_KEYS = ['actor', 'reason', 'blobs', 'functionIds', 'requestId', 'requestHash'] as const;
const NOT_VERSION_KEYS = new Set(['_id', '_ca', '_h', 'createdAt', 'state', 'shadow']);

export function versionId(itemId: string, ov: number): string {
  return `${itemId}:${ov}`;
}

/** The record and ov of a version `_id`. */
export function parseVersionId(id: string): [string, number] {
  const k = id.lastIndexOf(':');
  return [id.slice(0, k), Number(id.slice(k + 1))];
}

/** Copies an object without its undefined values (the driver would store them as null). */
export function defined<T extends object>(o: T): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out as T;
}

// FerretDB (and older MongoDB) refuse keys with '.' or a leading '$'. Keys are
// escaped reversibly: '%' -> '%25', '.' -> '%2E', leading '$' -> '%24'. Keys
// that filters can address ([A-Za-z0-9_-]) never change.
const NEEDS_ESCAPE = /[%.]|^\$/;
const escapeKey = (k: string) => (NEEDS_ESCAPE.test(k) ? k.replace(/%/g, '%25').replace(/\./g, '%2E').replace(/^\$/, '%24') : k);
const unescapeKey = (k: string) => (k.includes('%') ? k.replace(/%2E/g, '.').replace(/%24/g, '$').replace(/%25/g, '%') : k);

function mapKeys(v: unknown, f: (k: string) => string, depth = 0): unknown {
  if (depth > 200 || v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map((x) => mapKeys(x, f, depth + 1));
  if (Object.getPrototypeOf(v) !== Object.prototype && Object.getPrototypeOf(v) !== null) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) out[f(k)] = mapKeys(x, f, depth + 1);
  return out;
}

/** The fields of a version as stored (escaped keys in metaIndexed and blobs, no undefined). */
export function storedVersionFields(v: VersionDoc): Omit<StoredVersion, '_id'> {
  const out = defined({ ...v }) as VersionDoc & Record<string, unknown>;
  delete out._id;
  delete out._ca;
  delete out._h;
  if (v.metaIndexed !== undefined) out.metaIndexed = mapKeys(v.metaIndexed, escapeKey) as Record<string, unknown>;
  if (v.blobs !== undefined) out.blobs = mapKeys(v.blobs, escapeKey) as VersionDoc['blobs'];
  return out;
}

/**
 * Key of a marker that heads on FerretDB carry inside `metaIndexed` and `blobs` (see
 * writeHead). Escaped user keys never look like it ('%' is stored as '%25'); filters
 * cannot address it; readers drop it.
 */
export const OV_MARK = '%ov';

function unescapeDoc(out: Record<string, unknown>): void {
  for (const k of ['metaIndexed', 'blobs'] as const) {
    const v = out[k];
    if (v === undefined) continue;
    const m = mapKeys(v, unescapeKey) as Record<string, unknown>;
    if (m && typeof m === 'object' && !Array.isArray(m) && OV_MARK in m) delete m[OV_MARK];
    out[k] = m;
  }
}

/** The VersionDoc a version (or head) document carries. */
export function toVersion(doc: object): VersionDoc {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(doc)) if (!NOT_VERSION_KEYS.has(k)) out[k] = v;
  unescapeDoc(out);
  return out as unknown as VersionDoc;
}

export function toHead(doc: object): HeadDoc {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(doc)) if (k !== '_id' && k !== '_ca' && k !== '_h') out[k] = v;
  unescapeDoc(out);
  return out as unknown as HeadDoc;
}

/** A tombstone and erasure record as stored (`<name>_erasures`, `_id` = itemId). No content. */
export type StoredErasure = Omit<ErasureRecord, 'itemId'> & { _id: string };

/** A lease generation as stored (`chronos_leases`, `_id` = `<name>#<gen>`). */
export type StoredLease = LeaseDoc & { _id: string };

/** A namespace's name as stored (`chronos_namespaces` of its database, `_id` = physicalName(ns)): written once per process by ensureNamespace. */
export interface StoredNamespace {
  _id: string;
  collection: string;
  tenant?: string;
}
