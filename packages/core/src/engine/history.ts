/**
 * One record through time: `history` (its versions in keyset pages on ov) and `diff` (an RFC 6902
 * JSON Patch between two of its versions).
 *
 * The patch comes from `rfc6902` (MIT, no dependencies, maintained, both diff and apply, and
 * checked against the json-patch conformance tests): see the core README for why.
 */
import { createPatch, type Operation } from 'rfc6902';
import { NotFoundError, ValidationError } from '../errors.js';
import { assertId } from '../names.js';
import type { VersionDoc, VersionSelector } from '../ports.js';
import { iso, type EngineContext } from './context.js';
import { BLOB_MARKER } from './externalize.js';
import { getPath } from '../filter.js';
import { isPlainObject } from './payload.js';
import { listVersionsAll, versionAt } from './manifest-read.js';
import { loadStored } from './render.js';
import type { HistoryEntry } from './types.js';
import { toTime } from './validate.js';

export type { Operation as JsonPatchOperation } from 'rfc6902';

export const MAX_HISTORY_LIMIT = 1000;

export interface HistoryOptions {
  /** Versions per page, 1-1000. Default 100. */
  limit?: number;
  /** From the previous page; carries the order it was started with. */
  pageToken?: string;
  /** 'desc' (default): newest first; 'asc': oldest first. */
  dir?: 'asc' | 'desc';
}

export interface HistoryPage {
  items: HistoryEntry[];
  /** Present when there are more versions: pass it back for the next page. */
  pageToken?: string;
}

/** What `diff` says about each side: the version's metadata, as `includeMeta` shows it. */
export interface VersionMeta {
  ov: number;
  cv: number;
  at: string;
  op: VersionDoc['op'];
  metaIndexed: Record<string, unknown>;
  deleted: boolean;
  deletedAt?: string;
}

export interface DiffResult {
  /** RFC 6902 operations that turn `from`'s data into `to`'s data. */
  patch: Operation[];
  from: VersionMeta;
  to: VersionMeta;
}

export type DiffSelector = { ov: number } | { at: Date | string | number } | { cv: number };

function checkKeys(o: Record<string, unknown>, allowed: readonly string[], what: string): void {
  for (const k of Object.keys(o))
    if (!allowed.includes(k)) throw new ValidationError(`${what}: unknown option '${k.slice(0, 40)}' (allowed: ${allowed.join(', ')})`);
}
export { checkKeys as checkOptionKeys };

function nonNegInt(v: unknown, name: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new ValidationError(`${name} must be a non-negative integer`);
  return v;
}

/** `{ ov }`, `{ cv }` or `{ at }`, exactly one key, nothing else. */
export function strictSelector(target: unknown, allowed: ReadonlyArray<'ov' | 'cv' | 'at'>, what: string): VersionSelector {
  const shape = allowed.map((k) => `{ ${k} }`).join(', ');
  if (!isPlainObject(target)) throw new ValidationError(`${what} must be ${shape}`);
  const keys = Object.keys(target);
  if (keys.length !== 1 || !(allowed as readonly string[]).includes(keys[0]!))
    throw new ValidationError(`${what} must be exactly one of ${shape}, got keys [${keys.map((k) => k.slice(0, 20)).join(', ')}]`);
  const k = keys[0] as 'ov' | 'cv' | 'at';
  if (k === 'at') return { at: toTime(target.at) };
  return k === 'ov' ? { ov: nonNegInt(target.ov, 'ov') } : { cv: nonNegInt(target.cv, 'cv') };
}

/** base64url JSON page tokens, tagged with their kind so one call's token is refused by another. */
export function encodeToken(kind: string, body: Record<string, unknown>): string {
  return Buffer.from(JSON.stringify({ k: kind, ...body })).toString('base64url');
}
export function decodeToken(kind: string, t: unknown): Record<string, unknown> {
  if (typeof t === 'string' && t.length <= 2048) {
    try {
      const o = JSON.parse(Buffer.from(t, 'base64url').toString('utf8')) as unknown;
      if (isPlainObject(o) && o.k === kind) return o;
    } catch {
      /* fall through */
    }
  }
  throw new ValidationError('Invalid pageToken');
}

export const toHistoryEntry = (v: VersionDoc): HistoryEntry => ({
  ov: v.ov,
  cv: v.cv,
  op: v.op,
  at: new Date(v.at),
  deleted: v.deleted,
  size: v.size,
  ...(v.actor !== undefined ? { actor: v.actor } : {}),
  ...(v.reason !== undefined ? { reason: v.reason } : {}),
});

/**
 * Newest first by default. Each page is one index range on (itemId, ov) after the last ov of
 * the previous page (keyset), so page 1,000 of a long chain costs what page 1 costs.
 */
export async function history(cx: EngineContext, id: string, opts: HistoryOptions = {}): Promise<HistoryPage> {
  assertId(id);
  if (!isPlainObject(opts as unknown)) throw new ValidationError('history options must be { limit?, pageToken?, dir? }');
  if ('afterOv' in opts)
    throw new ValidationError("history no longer takes afterOv: it returns { items, pageToken? } pages (use { dir: 'asc' } for oldest first)");
  checkKeys(opts as Record<string, unknown>, ['limit', 'pageToken', 'dir'], 'history');
  const limit = opts.limit ?? 100;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_HISTORY_LIMIT) throw new ValidationError(`limit must be an integer from 1 to ${MAX_HISTORY_LIMIT}`);
  if (opts.dir !== undefined && opts.dir !== 'asc' && opts.dir !== 'desc') throw new ValidationError("dir must be 'asc' or 'desc'");
  let dir: 1 | -1 = opts.dir === 'asc' ? 1 : -1;
  let bound: number | undefined;
  if (opts.pageToken !== undefined) {
    const t = decodeToken('h', opts.pageToken);
    if (t.i !== id || (t.d !== 1 && t.d !== -1) || typeof t.o !== 'number' || !Number.isSafeInteger(t.o) || t.o < 0)
      throw new ValidationError('Invalid pageToken (it belongs to another record or call)');
    dir = t.d;
    bound = t.o;
    if (opts.dir !== undefined && (opts.dir === 'asc' ? 1 : -1) !== dir) throw new ValidationError('dir differs from the pageToken it continues');
  }
  await cx.ensure();
  const range = bound === undefined ? {} : dir === 1 ? { afterOv: bound } : { beforeOv: bound };
  const vs = await listVersionsAll(cx, id, { ...range, limit: limit + 1, dir });
  if (vs.length === 0 && bound === undefined) throw new NotFoundError(`Record '${id}' not found`, { id });
  const page = vs.slice(0, limit);
  const out: HistoryPage = { items: page.map(toHistoryEntry) };
  if (vs.length > limit) out.pageToken = encodeToken('h', { i: id, d: dir, o: page[page.length - 1]!.ov });
  return out;
}

export const versionMeta = (v: VersionDoc): VersionMeta => ({
  ov: v.ov,
  cv: v.cv,
  at: iso(v.at),
  op: v.op,
  metaIndexed: v.metaIndexed,
  deleted: v.deleted,
  ...(v.deleted ? { deletedAt: iso(v.at) } : {}),
});

/**
 * The data of a version as `diff` compares it: the payload without `_system`, each
 * externalized property shown as `{ ref: { sha256, size, contentType } }` (what is stored in
 * the version index: the content itself is never downloaded, and the object key, which
 * differs between uploads of the same bytes, is left out).
 */
async function diffView(cx: EngineContext, v: VersionDoc): Promise<Record<string, unknown>> {
  const doc = await loadStored(cx, v);
  delete doc._system;
  for (const [prop, ref] of Object.entries(v.blobs ?? {})) {
    const cur = getPath(doc, prop);
    if (!isPlainObject(cur) || cur[BLOB_MARKER] !== prop) continue;
    const segs = prop.split('.');
    let o: Record<string, unknown> = doc;
    for (const s of segs.slice(0, -1)) o = o[s] as Record<string, unknown>;
    o[segs[segs.length - 1]!] = { ref: { sha256: ref.sha256, size: ref.size, contentType: ref.contentType } };
  }
  return doc;
}

export async function diff(cx: EngineContext, id: string, from: unknown, to?: unknown): Promise<DiffResult> {
  assertId(id);
  const fromSel = strictSelector(from, ['ov', 'at', 'cv'], 'diff from');
  const toSel = to === undefined ? undefined : strictSelector(to, ['ov', 'at', 'cv'], 'diff to');
  await cx.ensure();
  const [a, b] = await Promise.all([versionAt(cx, id, fromSel), toSel ? versionAt(cx, id, toSel) : cx.meta.getHead(cx.ns, id)]);
  if (!a || a.itemId !== id) throw new NotFoundError(`Record '${id}' has no version matching ${JSON.stringify(from)}`, { id });
  if (!b || b.itemId !== id)
    throw new NotFoundError(toSel ? `Record '${id}' has no version matching ${JSON.stringify(to)}` : `Record '${id}' not found`, { id });
  let patch: Operation[] = [];
  // the same payload object (a delete or a restore points at it): nothing to read
  if (a.jsonKey !== b.jsonKey || a.sha256 !== b.sha256) {
    const [x, y] = await Promise.all([diffView(cx, a), diffView(cx, b)]);
    patch = createPatch(x, y);
  }
  return { patch, from: versionMeta(a), to: versionMeta(b) };
}
