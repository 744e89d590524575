/**
 * Reads: the head of a record (checked against the versions, repaired when it lags), versions
 * by ov / at / cv / requestId, and metadata queries over heads (queryHeads,
 * scanHeads), which repair the heads of interrupted commits before a filter judges them.
 * Version reads read `_ver` only. On FerretDB the hot paths use `_id` seeks (seeks.ts).
 */
import type { Sort } from 'mongodb';
import {
  ValidationError,
  assertHeadsByState,
  assertId,
  assertOv,
  assertRequestIds,
  type HeadDoc,
  type HeadsByStateInput,
  type MetadataStore,
  type Namespace,
  type QueryInput,
  type ScanInput,
  type VersionDoc,
  type VersionSelector,
} from '@chronos-db/core';
import type { Cols, StoreCtx } from './context.js';
import { toHead, toVersion, versionId, type StoredVersion } from './docs.js';
import { toStorageError } from './errors.js';
import { compileMongoFilter } from './filter.js';
import { mustLook, openPending, repairBeforeScan, repairHead, repairPending, settleObserved } from './heads.js';
import { seekHead, seekVersion } from './seeks.js';
import { latestVersion } from './versions.js';

const MAX_QUERY_REPAIRS = 3;

export const checkItem = (ctx: StoreCtx, ns: Namespace, itemId: string): Cols => {
  const c = ctx.cols(ns);
  assertId(itemId);
  return c;
};

/** The metadata query of heads: the filter, deleted ones or not, and an extra condition (keyset). */
export const headQuery = (filter: QueryInput['filter'], includeDeleted: boolean, extra?: Record<string, unknown>): Record<string, unknown> => {
  const parts: Record<string, unknown>[] = [];
  const f = compileMongoFilter(filter);
  if (Object.keys(f).length) parts.push(f);
  if (!includeDeleted) parts.push({ deleted: { $ne: true } });
  if (extra) parts.push(extra);
  return parts.length === 0 ? {} : parts.length === 1 ? parts[0]! : { $and: parts };
};

export const getHead = async (ctx: StoreCtx, ns: Namespace, itemId: string, o?: { forWrite?: boolean }): Promise<HeadDoc | null> => {
  const c = checkItem(ctx, ns, itemId);
  return ctx.run('find head', async () => {
    if (o?.forWrite) {
      // about to commit head.ov + 1: a lagging head loses that commit on the unique (itemId, ov) index
      const head = await c.head.findOne({ _id: itemId });
      if (head) return toHead(head);
    }
    if (await ctx.idSeeks()) {
      // FerretDB: two `_id` seeks (the head, and whether version head.ov + 1 exists) instead of a scan.
      const head = await seekHead(ctx, c, itemId);
      if (head !== undefined) return head ? toHead(head) : null;
    }
    const [h, latest] = await Promise.all([c.head.findOne({ _id: itemId }), latestVersion(c, itemId)]);
    if (!latest) return null;
    if (h && h.ov === latest.ov) return toHead(h);
    return repairHead(ctx, c, latest, h);
  });
};

export const getVersion = async (ctx: StoreCtx, ns: Namespace, itemId: string, sel: VersionSelector): ReturnType<MetadataStore['getVersion']> => {
  const c = checkItem(ctx, ns, itemId);
  if (!sel || typeof sel !== 'object') throw new ValidationError('version selector must be { ov } | { at } | { cv }');
  if ('ov' in sel) {
    assertOv(sel.ov, 'ov');
    return ctx.run('find version', async () => {
      const v = await c.ver.findOne({ _id: versionId(itemId, sel.ov) });
      if (!v || v.itemId !== itemId) return null;
      await settleObserved(ctx, c, [v]);
      return toVersion(v);
    });
  }
  const field = 'at' in sel ? 'at' : 'cv' in sel ? 'cv' : null;
  const bound = field === 'at' ? (sel as { at: unknown }).at : field === 'cv' ? (sel as { cv: unknown }).cv : undefined;
  if (!field || typeof bound !== 'number' || Number.isNaN(bound)) throw new ValidationError('version selector must be { ov } | { at } | { cv } with a number');
  const sort: Sort = field === 'at' ? { at: -1, ov: -1 } : { cv: -1 };
  return ctx.run('find version', async () => {
    if (await ctx.idSeeks()) {
      const found = await seekVersion(ctx, c, itemId, field, bound);
      if (found !== undefined) return found;
    }
    const v = await c.ver
      .find({ itemId, [field]: { $lte: bound } })
      .sort(sort)
      .limit(1)
      .next();
    await settleObserved(ctx, c, [v]);
    return v ? toVersion(v) : null;
  });
};

export const findByRequestId = async (ctx: StoreCtx, ns: Namespace, requestId: string): ReturnType<MetadataStore['findByRequestId']> => {
  const c = ctx.cols(ns);
  if (typeof requestId !== 'string' || requestId.length === 0 || requestId.length > 256)
    throw new ValidationError('requestId must be a non-empty string of at most 256 characters');
  return ctx.run('find requestId', async () => {
    const v = await c.ver.findOne({ requestId });
    await settleObserved(ctx, c, [v]);
    return v ? toVersion(v) : null;
  });
};

/**
 * findByRequestId for a batch: one `requestId $in` query (FerretDB scans the version collection
 * for it, once per batch instead of once per requestId). Per requestId the lowest cv, as a
 * retried write's first commit is the one that counts.
 */
export const findByRequestIds = async (ctx: StoreCtx, ns: Namespace, requestIds: readonly string[]): Promise<VersionDoc[]> => {
  const c = ctx.cols(ns);
  assertRequestIds(requestIds);
  const wanted = [...new Set(requestIds)];
  if (wanted.length === 0) return [];
  return ctx.run('find requestIds', async () => {
    const docs = await c.ver.find({ requestId: wanted.length === 1 ? wanted[0] : { $in: wanted } }).toArray();
    const first = new Map<string, StoredVersion>();
    for (const d of docs) {
      const r = d.requestId as string;
      const had = first.get(r);
      if (!had || d.cv < had.cv) first.set(r, d);
    }
    const found = [...first.values()];
    await settleObserved(ctx, c, found);
    return found.map((d) => toVersion(d));
  });
};

export const queryHeads = async (ctx: StoreCtx, ns: Namespace, q: QueryInput): Promise<HeadDoc[]> => {
  const c = ctx.cols(ns);
  if (!q || typeof q !== 'object') throw new ValidationError('query must be an object');
  if (!Number.isSafeInteger(q.limit) || q.limit < 1 || q.limit > 100_000) throw new ValidationError('limit must be an integer from 1 to 100000');
  const dir = q.dir ?? 1;
  if (dir !== 1 && dir !== -1) throw new ValidationError('dir must be 1 or -1');
  if (q.afterId !== undefined) assertId(q.afterId);
  const query = headQuery(q.filter, !!q.includeDeleted, q.afterId !== undefined ? { _id: dir === 1 ? { $gt: q.afterId } : { $lt: q.afterId } } : undefined);
  return ctx.run('query heads', async () => {
    const look = await mustLook(ctx, c);
    for (let round = 0; ; round++) {
      // In parallel: the page, and versions whose head write is unconfirmed (interrupted commits; heads.ts says when).
      const [docs, pending] = await Promise.all([c.head.find(query).sort({ _id: dir }).limit(q.limit).toArray(), openPending(ctx, c, look)]);
      if (round >= MAX_QUERY_REPAIRS || pending === 'none') return docs.map((d) => toHead(d));
      if (pending === 'settle') await ctx.settle();
      else await repairPending(ctx, c, pending);
    }
  });
};

/**
 * Live heads in one state last updated at or before a cutoff, in (at, _id) order after a keyset:
 * one range of the heads index `state_at_id` ({ state, at, _id }); only the heads of the page
 * come back (TTL marking reads the stale heads, not the collection).
 */
export const findHeadsByState = async (ctx: StoreCtx, ns: Namespace, q: HeadsByStateInput): Promise<HeadDoc[]> => {
  const c = ctx.cols(ns);
  assertHeadsByState(q);
  const at: Record<string, number> = { $lte: q.atOrBefore };
  const parts: Record<string, unknown>[] = [{ state: q.state }, { at }, { deleted: { $ne: true } }];
  if (q.after) {
    // (at, _id) > (after.at, after.itemId): the index bounds start at after.at, ties skip by _id
    at.$gte = q.after.at;
    parts.push({ $or: [{ at: { $gt: q.after.at } }, { _id: { $gt: q.after.itemId } }] });
  }
  await ctx.ensure(ns);
  return ctx.run('find heads by state', async () => {
    await repairBeforeScan(ctx, c);
    const docs = await c.head.find({ $and: parts }).sort({ state: 1, at: 1, _id: 1 }).limit(q.limit).toArray();
    return docs.map((d) => toHead(d));
  });
};

export async function* scanHeads(ctx: StoreCtx, ns: Namespace, q: ScanInput): AsyncGenerator<HeadDoc[]> {
  const c = ctx.cols(ns);
  if (!q || typeof q !== 'object') throw new ValidationError('scan must be an object');
  if (!Number.isSafeInteger(q.batchSize) || q.batchSize < 1 || q.batchSize > 100_000)
    throw new ValidationError('batchSize must be an integer from 1 to 100000');
  const query = headQuery(q.filter, !!q.includeDeleted);
  await ctx.ensure(ns);
  await ctx.run('scan heads', () => repairBeforeScan(ctx, c));
  ctx.assertOpen();
  const cursor = c.head.find(query).sort({ _id: 1 }).batchSize(q.batchSize);
  try {
    let batch: HeadDoc[] = [];
    for await (const d of cursor) {
      batch.push(toHead(d));
      if (batch.length >= q.batchSize) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length) yield batch;
  } catch (e) {
    throw toStorageError(e, 'scan heads', ctx.where, ctx.redact);
  } finally {
    await cursor.close().catch(() => {});
  }
}
