/**
 * Lifecycle port methods on MongoDB: erasure tombstones and records, the devShadow shrink and
 * maintenance leases.
 *
 * Erasure without transactions (FerretDB): the tombstone is an insert into `<name>_erasures`
 * (`_id` = itemId). Every commit, after its version insert and head write, looks for it
 * (`undoIfErased`): found, it deletes what it wrote and fails; not found, the tombstone came
 * after everything it wrote, so the erasure (which deletes only after its tombstone) removes
 * it. A head repair does the same. So no version or head outlives an erasure, whatever the
 * interleaving, except one written by a process that died between its write and its look;
 * a rerun of the erasure, or the next maintenance pass (admin finishErasures sweeps every
 * tombstoned id, finished erasures included), removes that.
 *
 * Leases: generations `<name>#<gen>` in `chronos_leases` of the given database; the unique
 * `_id` makes exactly one put of a generation win (insert-unique, the one atomic write
 * FerretDB and MongoDB share).
 */
import {
  ValidationError,
  assertDbName,
  assertErasedIdsInput,
  assertErasureInput,
  assertErasureListQuery,
  assertFinishErasureInput,
  assertLease,
  assertLeaseName,
  assertOv,
  type BeginErasureInput,
  type ErasureRecord,
  type FinishErasureInput,
  type LeaseDoc,
  type Namespace,
} from '@chronos-db/core';
import type { Cols, StoreCtx } from './context.js';
import { versionId, type StoredErasure, type StoredLease } from './docs.js';
import { isDuplicateKey } from './errors.js';
import { forgetGuess } from './heads.js';
import { checkItem } from './queries.js';
import { isErased } from './versions.js';

const KEEP_LEASE_GENS = 16;

/** After writing version `ov` (null: only a head) of a record: when it has a tombstone, removes what was written. */
export const undoIfErased = async (ctx: StoreCtx, c: Cols, itemId: string, ov: number | null): Promise<boolean> => {
  if (ctx.opts.erasure === false) return false;
  if (!(await isErased(c, itemId))) return false;
  if (ov !== null) await c.ver.deleteOne({ _id: versionId(itemId, ov) });
  await c.head.deleteOne({ _id: itemId });
  forgetGuess(ctx, c, itemId);
  return true;
};

/** The ids among `itemIds` that have a tombstone (one query). */
export const erasedAmong = async (c: Cols, itemIds: readonly string[]): Promise<Set<string>> => {
  if (itemIds.length === 0) return new Set();
  if (itemIds.length === 1) return (await isErased(c, itemIds[0]!)) ? new Set(itemIds) : new Set();
  const found = await c.erase.find({ _id: { $in: [...itemIds] } }, { projection: { _id: 1 } }).toArray();
  return new Set(found.map((d) => d._id));
};

const toRecord = (d: StoredErasure): ErasureRecord => {
  const { _id, ...rest } = d;
  return { itemId: _id, ...rest };
};

export function createLifecycleOps(ctx: StoreCtx) {
  const leases = (dbName: string) => {
    assertDbName(dbName);
    return ctx.client.db(dbName).collection<StoredLease>('chronos_leases');
  };
  const newest = (dbName: string, name: string) => leases(dbName).find({ name }).sort({ gen: -1 }).limit(1).next();
  return {
    async beginErasure(ns: Namespace, input: BeginErasureInput): Promise<{ record: ErasureRecord; created: boolean }> {
      const c = checkItem(ctx, ns, input?.itemId);
      assertErasureInput(input);
      if (ctx.opts.erasure === false) throw new ValidationError('This store was created with erasure: false (hardDeleteEnabled is off): it cannot erase');
      return ctx.run('begin erasure', async () => {
        const doc: StoredErasure = { _id: input.itemId, requestedAt: input.at, status: 'erasing' };
        if (input.actor !== undefined) doc.actor = input.actor;
        if (input.reason !== undefined) doc.reason = input.reason;
        try {
          await c.erase.insertOne(doc);
          return { record: toRecord(doc), created: true };
        } catch (e) {
          if (!isDuplicateKey(e)) throw e;
        }
        const had = await c.erase.findOne({ _id: input.itemId });
        return { record: toRecord(had!), created: false };
      });
    },

    async finishErasure(ns: Namespace, itemId: string, r: FinishErasureInput): Promise<void> {
      const c = checkItem(ctx, ns, itemId);
      assertFinishErasureInput(r);
      const set: Partial<StoredErasure> = { status: 'done', finishedAt: r.at, versionsDeleted: r.versionsDeleted, objectsDeleted: r.objectsDeleted };
      if (r.manifestsRewritten !== undefined) set.manifestsRewritten = r.manifestsRewritten;
      await ctx.run('finish erasure', () => c.erase.updateOne({ _id: itemId }, { $set: set }));
    },

    async erasedIds(ns: Namespace, itemIds: readonly string[]): Promise<string[]> {
      const c = ctx.cols(ns);
      assertErasedIdsInput(itemIds);
      return ctx.run('find erasures', async () => [...(await erasedAmong(c, [...new Set(itemIds)]))]);
    },

    async listErasures(ns: Namespace, q: { afterId?: string; limit: number }): Promise<ErasureRecord[]> {
      const c = ctx.cols(ns);
      assertErasureListQuery(q);
      return ctx.run('list erasures', async () =>
        (
          await c.erase
            .find(q.afterId !== undefined ? { _id: { $gt: q.afterId } } : {})
            .sort({ _id: 1 })
            .limit(q.limit)
            .toArray()
        ).map(toRecord),
      );
    },

    async clearShadow(ns: Namespace, itemId: string, ov: number): Promise<boolean> {
      const c = checkItem(ctx, ns, itemId);
      assertOv(ov, 'ov');
      return ctx.run('clear shadow', async () => {
        const r = await c.head.updateOne({ _id: itemId, ov, shadow: { $exists: true } }, { $unset: { shadow: '' } });
        return r.modifiedCount > 0;
      });
    },

    async getLease(dbName: string, name: string): Promise<LeaseDoc | null> {
      assertLeaseName(name);
      const col = leases(dbName);
      return ctx.run('get lease', async () => {
        const d = await col.find({ name }).sort({ gen: -1 }).limit(1).next();
        if (!d) return null;
        const { _id, ...rest } = d;
        return rest;
      });
    },

    async putLease(dbName: string, lease: LeaseDoc): Promise<boolean> {
      assertLease(lease);
      const col = leases(dbName);
      return ctx.run('put lease', async () => {
        const cur = await newest(dbName, lease.name);
        if ((cur?.gen ?? 0) + 1 !== lease.gen) return false;
        try {
          await col.insertOne({ _id: `${lease.name}#${lease.gen}`, ...lease });
        } catch (e) {
          if (isDuplicateKey(e)) return false;
          throw e;
        }
        await col.deleteMany({ name: lease.name, gen: { $lt: lease.gen - KEEP_LEASE_GENS } });
        return true;
      });
    },
  };
}
