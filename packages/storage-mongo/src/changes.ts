/**
 * The change feed (`changesAfter`): the versions of a namespace in cv order, exact.
 *
 * How cvs commit here (versions.ts, commit.ts): a writer takes a cv from a process-local hint
 * and inserts its version; the unique index on cv refuses a cv taken by anyone else. So a cv
 * can become visible after a higher one (a slow writer, a stale hint), and a cv can be burned
 * (allocated, then the insert lost on (itemId, ov): an OptimisticLockError, or a crash).
 *
 * The rule that keeps the feed exact: a page never goes past a missing cv (a gap). A page that
 * starts at a gap waits SETTLE_MS once (a writer in flight usually lands in that time), then
 * SEALS the gap: it inserts a marker version document holding that cv (itemId BURNED_ITEM,
 * never a record id). The same unique index that decides between writers decides here: the
 * marker wins (the cv is burned for good: a writer that still holds it gets a duplicate key
 * and commits with a new, higher cv, which the feed delivers later) or loses (the version
 * landed: it is delivered). Nothing is skipped, nothing stalls, no clock is trusted.
 * Markers are skipped by the feed and read by nothing else (every other read goes by itemId,
 * `_id` of a record, requestId or the `_h` flag); maxCv counts them, which is what it must do.
 * A reader of the feed therefore needs write access to the version collection.
 *
 * MongoDB: `{ cv: { $gt } }` sorted by cv is a range scan of the unique cv index.
 * FerretDB (1.x): that query scans the version collection (it pushes down only `_id`
 * equality); there is no `_id` by cv to seek, so each page costs a scan of the namespace.
 */
import {
  StorageError,
  ValidationError,
  type ChangeSignal,
  type ChangeSignalListener,
  type ChangesInput,
  type ChangesPage,
  type Namespace,
  type VersionDoc,
} from '@chronos-db/core';
import type { Cols, StoreCtx } from './context.js';
import { toVersion, type StoredVersion } from './docs.js';
import { duplicateKeyIndexes, isDuplicateKey } from './errors.js';
import { settleObserved } from './heads.js';

/** itemId of the marker documents that seal burned cvs (record ids are [A-Za-z0-9_-]). */
export const BURNED_ITEM = '~cv';
const MAX_LIMIT = 10_000;
/** How long a page that starts at a gap waits before it seals the gap. */
const SETTLE_MS = 100;
/** Most cvs sealed per call (a hard-deleted record can leave a long run of them). */
const MAX_SEAL = 1000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Inserts markers for cvs from..to; a cv whose version landed meanwhile refuses its marker. */
const seal = async (c: Cols, from: number, to: number): Promise<void> => {
  const docs: StoredVersion[] = [];
  const at = Date.now();
  for (let cv = from; cv <= to && docs.length < MAX_SEAL; cv++) {
    docs.push({
      _id: `${BURNED_ITEM}:${cv}`,
      itemId: BURNED_ITEM,
      ov: cv,
      cv,
      at,
      op: 'DELETE',
      jsonKey: '',
      size: 0,
      sha256: '',
      metaIndexed: {},
      deleted: true,
      reason: 'burned cv',
    });
  }
  try {
    await c.ver.insertMany(docs, { ordered: false });
  } catch (e) {
    if (!isDuplicateKey(e) && !duplicateKeyIndexes(e)) throw e;
  }
};

export const changesAfter = async (ctx: StoreCtx, ns: Namespace, q: ChangesInput): Promise<ChangesPage> => {
  const c = ctx.cols(ns);
  if (!q || typeof q !== 'object') throw new ValidationError('changesAfter needs { afterCv, limit }');
  const { afterCv, limit } = q;
  if (!Number.isSafeInteger(afterCv) || afterCv < 0) throw new ValidationError('afterCv must be a non-negative integer');
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_LIMIT) throw new ValidationError(`limit must be an integer from 1 to ${MAX_LIMIT}`);
  await ctx.ensure(ns);
  return ctx.run('changes', async () => {
    for (let round = 0; ; round++) {
      const docs = await c.ver
        .find({ cv: { $gt: afterCv } })
        .sort({ cv: 1 })
        .limit(limit)
        .toArray();
      const versions: VersionDoc[] = [];
      const delivered: StoredVersion[] = [];
      let next = afterCv;
      let gapEnd = -1;
      for (const d of docs) {
        if (d.cv !== next + 1) {
          gapEnd = d.cv - 1;
          break;
        }
        next = d.cv;
        if (d.itemId !== BURNED_ITEM) {
          versions.push(toVersion(d));
          delivered.push(d);
        }
      }
      // no gap, or a prefix to deliver before it: the gap is judged by a later page
      if (gapEnd < 0 || next > afterCv) {
        // a delivered version's head is at or past it first (heads.ts, settleObserved)
        await settleObserved(ctx, c, delivered);
        return { versions, nextCv: next };
      }
      if (round === 0) await sleep(SETTLE_MS);
      else await seal(c, afterCv + 1, gapEnd);
    }
  });
};

/** The change signals open per store: closed with the store. */
const openSignals = new WeakMap<StoreCtx, Set<ChangeSignal>>();

/**
 * A change stream on the version collection, as a wake-up for `watch({ changeStream: true })`:
 * inserts only, and nothing but the event's resume token (the feed reads the versions with
 * `changesAfter`). The server must be a replica set or mongos; FerretDB (no change streams) and a
 * standalone server are refused with a ValidationError, so the caller polls instead. The driver
 * resumes the stream by itself after a resumable error; any other error ends it (`lost`).
 * `changed` is called once when the stream's cursor is open (its first resume token: a poll
 * then sees whatever committed before) and at each insert after that.
 */
export const openChangeSignal = async (ctx: StoreCtx, ns: Namespace, listener: ChangeSignalListener): Promise<ChangeSignal> => {
  if (!listener || typeof listener.changed !== 'function' || typeof listener.lost !== 'function')
    throw new ValidationError('openChangeSignal needs a listener { changed, lost }');
  const c = ctx.cols(ns);
  await ctx.ensure(ns);
  if ((await ctx.isFerret()) || !(await ctx.serverHasSessions()))
    throw new ValidationError(
      `watch({ changeStream: true }) needs change streams, which ${ctx.where} does not offer (FerretDB, or a MongoDB server that is not a replica set or mongos); omit changeStream to poll`,
    );
  ctx.assertOpen();
  const cs = c.ver.watch([{ $match: { operationType: 'insert' } }, { $project: { _id: 1 } }]);
  let closed = false;
  const set = openSignals.get(ctx) ?? new Set<ChangeSignal>();
  openSignals.set(ctx, set);
  const signal: ChangeSignal = {
    async close() {
      if (closed) return;
      closed = true;
      set.delete(signal);
      await cs.close().catch(() => {});
    },
  };
  const changed = () => {
    if (!closed) listener.changed();
  };
  cs.once('resumeTokenChanged', changed);
  cs.on('change', changed);
  cs.on('error', (e) => {
    if (!closed) listener.lost(new StorageError(`change stream on ${ctx.where}: ${ctx.redact(String((e as Error)?.message ?? e))}`));
    void signal.close();
  });
  set.add(signal);
  return signal;
};

/** Closes the change signals still open on this store (store.close()). */
export const closeChangeSignals = async (ctx: StoreCtx): Promise<void> => {
  const set = openSignals.get(ctx);
  if (set) await Promise.all([...set].map((s) => s.close()));
};
