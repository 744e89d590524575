/** The read API: latest, by ov, as of a time, metadata queries and externalized properties. */
import { IntegrityError, NotFoundError, ValidationError } from '../errors.js';
import { assertId, assertOv, assertPropPath } from '../names.js';
import { mapLimit } from './concurrency.js';
import { isErased, withoutErased } from './erased.js';
import { compileUserFilter, type EngineContext } from './context.js';
import { versionAt } from './manifest-read.js';
import { isPlainObject, sha256 } from './payload.js';
import { readAt, render } from './render.js';
import type { ChronosRecord, ListOptions, ReadOptions } from './types.js';
import { assertTtl, checkReadOptions, decodePageToken, toTime } from './validate.js';

export async function getLatest(cx: EngineContext, id: string, opts: ReadOptions = {}): Promise<ChronosRecord | null> {
  assertId(id);
  checkReadOptions(opts);
  await cx.ensure();
  const head = await cx.meta.getHead(cx.ns, id);
  if (!head || (head.deleted && !opts.includeDeleted)) return null;
  return render(cx, head, head, opts);
}

export async function getVersion(cx: EngineContext, id: string, ov: number, opts: ReadOptions = {}): Promise<ChronosRecord | null> {
  assertId(id);
  assertOv(ov, 'ov');
  checkReadOptions(opts);
  return readAt(cx, id, { ov }, opts);
}

export async function getAsOf(cx: EngineContext, id: string, at: Date | string | number, opts: ReadOptions = {}): Promise<ChronosRecord | null> {
  assertId(id);
  const t = toTime(at);
  checkReadOptions(opts);
  return readAt(cx, id, { at: t }, opts);
}

export async function listByMeta(cx: EngineContext, q: ListOptions = {}, opts: ReadOptions = {}): Promise<{ items: ChronosRecord[]; pageToken?: string }> {
  if (!isPlainObject(q as unknown)) throw new ValidationError('listByMeta takes { filter, limit?, afterId?, pageToken?, sort? }');
  const filter = compileUserFilter(cx, q.filter);
  const limit = q.limit ?? 50;
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new ValidationError('limit must be an integer from 1 to 1000');
  let dir: 1 | -1 = 1;
  if (q.sort === 'desc' || (typeof q.sort === 'object' && q.sort?.id === -1)) dir = -1;
  let afterId = q.afterId;
  if (q.pageToken !== undefined) {
    const t = decodePageToken(q.pageToken);
    afterId = t.a;
    dir = t.d;
  }
  if (afterId !== undefined) assertId(afterId);
  checkReadOptions(opts);
  await cx.ensure();
  const heads = await cx.meta.queryHeads(cx.ns, {
    ...(filter ? { filter } : {}),
    limit: limit + 1,
    dir,
    includeDeleted: !!opts.includeDeleted,
    ...(afterId ? { afterId } : {}),
  });
  const page = heads.slice(0, limit);
  // a record whose erasure began during this page is left out, whether it rendered or failed (erased.ts)
  const rendered = await mapLimit(page, 8, (h) =>
    render(cx, h, h, opts).catch(async (e: unknown) => {
      if (await isErased(cx, h.itemId).catch(() => false)) return null;
      throw e;
    }),
  );
  const items = await withoutErased(
    cx,
    rendered.filter((r): r is ChronosRecord => r !== null),
  );
  const out: { items: ChronosRecord[]; pageToken?: string } = { items };
  if (heads.length > limit) out.pageToken = Buffer.from(JSON.stringify({ a: page[page.length - 1]!.itemId, d: dir })).toString('base64url');
  return out;
}

export async function presignProperty(cx: EngineContext, id: string, property: string, expiresIn = 3600): Promise<string> {
  assertId(id);
  assertPropPath(property);
  assertTtl(expiresIn);
  if (!cx.blobs.presign || !cx.blobs.capabilities.presign) throw new ValidationError('This storage cannot presign URLs (use S3-compatible storage)');
  await cx.ensure();
  const head = await cx.meta.getHead(cx.ns, id);
  if (!head || head.deleted) throw new NotFoundError(`Record '${id}' not found`, { id });
  const ref = head.blobs?.[property];
  if (!ref) throw new NotFoundError(`Record '${id}' has no externalized property '${property}'`, { id, property });
  return cx.blobs.presign('content', ref.key, expiresIn);
}

/** Text rendition (or raw bytes) of an externalized property. */
export async function getPropertyContent(cx: EngineContext, id: string, property: string, opts: { ov?: number; text?: boolean } = {}): Promise<Uint8Array> {
  assertId(id);
  assertPropPath(property);
  await cx.ensure();
  const v = opts.ov !== undefined ? await versionAt(cx, id, { ov: opts.ov }) : await cx.meta.getHead(cx.ns, id);
  const ref = v?.blobs?.[property];
  if (!v || !ref) throw new NotFoundError(`Record '${id}' has no externalized property '${property}'`, { id, property });
  if (opts.text) {
    if (!ref.textKey) throw new NotFoundError(`Property '${property}' has no text rendition`);
    return cx.blobs.get('content', ref.textKey);
  }
  const bytes = await cx.blobs.get('content', ref.key);
  if (sha256(bytes) !== ref.sha256) throw new IntegrityError(`Checksum mismatch for property '${property}' of record '${id}'`, { id, property });
  return bytes;
}
