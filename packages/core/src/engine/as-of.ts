/**
 * The collection as it was (`listAsOf`): the read-only twin of restoreCollection.
 *
 * The same planning: heads in itemId order, a page at a time, and for each head one as-of
 * lookup (`getVersion` with `{ at }` / `{ cv }`, an index seek whatever the chain's length);
 * a record is kept when it existed then, was not deleted then, and its indexed metadata as it
 * was then matches the filter; only kept records have their payload read. Each record is looked
 * up once per page, memory is bounded by the page, and nothing is written. Records hard-deleted
 * since are gone (they have no head); records born after the target have no version then.
 *
 * Paging is keyset on itemId: the token carries the last itemId examined and the target, so
 * every page of one listing reads the same point in time. A call examines at most
 * `MAX_EXAMINED_FACTOR * limit` heads: with a selective filter a page can hold fewer than
 * `limit` items (even none) and still carry a pageToken; follow it until it is absent.
 */
import { ValidationError } from '../errors.js';
import { matchFilter } from '../filter.js';
import { assertId } from '../names.js';
import type { HeadDoc, VersionDoc, VersionSelector } from '../ports.js';
import { mapLimit } from './concurrency.js';
import { compileUserFilter, type EngineContext } from './context.js';
import { checkOptionKeys, decodeToken, encodeToken, strictSelector } from './history.js';
import { versionAt } from './manifest-read.js';
import { isPlainObject } from './payload.js';
import { render } from './render.js';
import type { ChronosRecord, ReadOptions } from './types.js';
import { checkReadOptions } from './validate.js';

export const MAX_AS_OF_LIMIT = 1000;
const MAX_EXAMINED_FACTOR = 10;
const LOOKUPS_IN_PARALLEL = 8;

export interface ListAsOfOptions {
  /** On the indexed metadata as it was at the target. */
  filter?: Record<string, unknown>;
  /** Records per page, 1-1000. Default 50. */
  limit?: number;
  pageToken?: string;
}

export async function listAsOf(
  cx: EngineContext,
  target: unknown,
  q: ListAsOfOptions = {},
  opts: ReadOptions = {},
): Promise<{ items: ChronosRecord[]; pageToken?: string }> {
  const sel = strictSelector(target, ['at', 'cv'], 'listAsOf target');
  if (!isPlainObject(q as unknown)) throw new ValidationError('listAsOf options must be { filter?, limit?, pageToken? }');
  checkOptionKeys(q as Record<string, unknown>, ['filter', 'limit', 'pageToken'], 'listAsOf');
  const filter = compileUserFilter(cx, q.filter);
  const limit = q.limit ?? 50;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_AS_OF_LIMIT) throw new ValidationError(`limit must be an integer from 1 to ${MAX_AS_OF_LIMIT}`);
  checkReadOptions(opts);
  const shownSel = 'at' in sel ? { at: sel.at } : { cv: (sel as { cv: number }).cv };
  let afterId: string | undefined;
  if (q.pageToken !== undefined) {
    const t = decodeToken('a', q.pageToken);
    if (typeof t.a !== 'string' || JSON.stringify(t.s) !== JSON.stringify(shownSel))
      throw new ValidationError('Invalid pageToken (it belongs to another target or call)');
    assertId(t.a);
    afterId = t.a;
  }
  await cx.ensure();
  const kept: VersionDoc[] = [];
  let examined = 0;
  const tokenAt = (id: string) => encodeToken('a', { a: id, s: shownSel });
  const done = async (token?: string) => {
    const items = await mapLimit(kept, LOOKUPS_IN_PARALLEL, (v) => render(cx, v, null, opts));
    return token ? { items, pageToken: token } : { items };
  };
  for (;;) {
    const batch = Math.min(MAX_AS_OF_LIMIT, Math.max(limit - kept.length, 16));
    const heads: HeadDoc[] = await cx.meta.queryHeads(cx.ns, { limit: batch, includeDeleted: true, ...(afterId ? { afterId } : {}) });
    if (heads.length === 0) return done();
    const then = await mapLimit(heads, LOOKUPS_IN_PARALLEL, (h) => versionAt(cx, h.itemId, sel as VersionSelector));
    for (const [i, h] of heads.entries()) {
      afterId = h.itemId;
      const v = then[i];
      if (v && v.itemId === h.itemId && !v.deleted && matchFilter(filter, v.metaIndexed)) kept.push(v);
      if (kept.length === limit) return done(i < heads.length - 1 || heads.length === batch ? tokenAt(afterId) : undefined);
    }
    examined += heads.length;
    if (heads.length < batch) return done();
    if (examined >= MAX_EXAMINED_FACTOR * limit) return done(tokenAt(afterId!));
  }
}
