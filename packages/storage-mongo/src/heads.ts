/**
 * Head writes and repair (protocol steps 3 and 4, and what readers do about a lagging head).
 *
 * The head (`_head`) is derived from the versions (`_ver`). A commit writes it after its
 * version insert (the commit point) and then clears the version's `_h` flag in the background.
 * A crash in between leaves a head behind its newest version: readers rebuild it (repairHead)
 * from the versions, and queryHeads/scanHeads repair the heads of flagged versions first.
 */
import type { ClientSession } from 'mongodb';
import type { CommitInput, HeadDoc, VersionDoc } from '@chronos-db/core';
import { remember, type Guess, type HeadWriteEntry } from './client-state.js';
import type { Cols, StoreCtx } from './context.js';
import {
  OPTIONAL_VERSION_KEYS,
  OV_MARK,
  parseVersionId,
  storedVersionFields,
  toVersion,
  versionId,
  type StoredHead,
  type StoredPending,
  type StoredVersion,
} from './docs.js';
import { duplicateKeyIndexes, isDuplicateKey } from './errors.js';
import { hasVersion, isErased, latestVersion } from './versions.js';

const MAX_PENDING_REPAIR = 100;
// Statements per bulk update command: FerretDB 1.24 holds an open query per statement until the
// command ends, plus one connection for the write, out of 100 per database: a command of ~100
// statements, or bulk commands side by side, wait forever. 20 per command, and bulk flag clears
// one command at a time per store, keep well clear of it.
export const HEAD_BATCH = 20;

export const guessOf = (ctx: StoreCtx, c: Cols, itemId: string): Guess | undefined => ctx.shared.guesses.get(c.itemKey(itemId));
export const rememberGuess = (ctx: StoreCtx, c: Cols, itemId: string, g: Guess): void => remember(ctx.shared, c.itemKey(itemId), g);
export const rememberHead = (ctx: StoreCtx, c: Cols, h: StoredHead): void => {
  rememberGuess(ctx, c, h._id, { ov: h.ov, at: h.at, cv: h.cv, createdAt: typeof h.createdAt === 'number' ? h.createdAt : h.at });
};
export const forgetGuess = (ctx: StoreCtx, c: Cols, itemId: string): void => void ctx.shared.guesses.delete(c.itemKey(itemId));

/**
 * Moves the head to `v` where it is behind (upsert; a duplicate key means a
 * newer head is already there). `shadow`: object sets, null clears, undefined keeps.
 * `ferret`: the FerretDB branch runs (the `dialect`); `ferretQuirks`: the server is FerretDB.
 */
export const headUpdate = (v: VersionDoc, createdAt: number, headIn: CommitInput['head'], ferret: boolean, inTxn: boolean, ferretQuirks: boolean) => {
  const fields = storedVersionFields(v) as Record<string, unknown>;
  const $set: Record<string, unknown> = { ...fields, createdAt };
  const $unset: Record<string, ''> = {};
  for (const k of OPTIONAL_VERSION_KEYS) if (fields[k] === undefined) $unset[k] = '';
  if (headIn!.state !== undefined) $set.state = headIn!.state;
  if (headIn!.shadow) $set.shadow = headIn!.shadow;
  else if (headIn!.shadow === null) $unset.shadow = '';
  const update: Record<string, unknown> = { $set };
  if (Object.keys($unset).length) update.$unset = $unset;
  if (headIn!.state === undefined) update.$setOnInsert = { state: 'new' };
  // In a transaction the head cannot be ahead of us; outside, never move it backwards.
  // Except on FerretDB, where `{ _id, ov: { $lt } }` scans the whole collection (and its updates
  // are not atomic anyway): there the head is written by `_id` alone. A head that a slow writer
  // moved backwards is a lagging head, which readers and writers repair (getHead, queryHeads).
  if (ferretQuirks) {
    // FerretDB 1.24 skips a `$set` of an embedded document whose values equal the old one's
    // under other keys ({ n: 0 } -> { racer: 0 } is "unchanged"). A per-version marker that
    // readers strip (OV_MARK) makes every version's embedded documents differ.
    if ($set.metaIndexed && typeof $set.metaIndexed === 'object') $set.metaIndexed = { ...($set.metaIndexed as object), [OV_MARK]: v.ov };
    if ($set.blobs && typeof $set.blobs === 'object') $set.blobs = { ...($set.blobs as object), [OV_MARK]: v.ov };
  }
  const filter: Record<string, unknown> = inTxn || ferret ? { _id: v.itemId } : { _id: v.itemId, ov: { $lt: v.ov } };
  return { filter, update };
};

export const writeHead = async (
  ctx: StoreCtx,
  c: Cols,
  v: VersionDoc,
  createdAt: number,
  headIn: CommitInput['head'],
  session?: ClientSession,
): Promise<void> => {
  const { filter, update } = headUpdate(v, createdAt, headIn ?? {}, await ctx.idSeeks(), !!session, await ctx.isFerret());
  const write = async () => {
    try {
      await c.head.updateOne(filter, update, { upsert: true, ...(session ? { session } : {}) });
    } catch (e) {
      if (!isDuplicateKey(e) || session) throw e;
      // a head at or beyond v.ov exists: nothing to do
    }
  };
  if (session) await write();
  else await serialHeadWrite(ctx, c, v.itemId, { ov: v.ov, at: v.at, cv: v.cv, createdAt }, write);
};

/**
 * Head writes of one record from this process go one at a time, and a write older than one
 * already done is skipped: a slow writer (or a repair that read an older version) can never
 * move a head backwards from inside this process, whatever the server's update atomicity.
 */
const serialHeadWrite = async (ctx: StoreCtx, c: Cols, itemId: string, g: Guess, write: () => Promise<void>): Promise<void> => {
  const ov = g.ov;
  const m = ctx.shared.headWrites;
  const k = c.itemKey(itemId);
  let e = m.get(k);
  if (!e) m.set(k, (e = { ov: -1, tail: Promise.resolve(), users: 0 }));
  const entry = e;
  entry.users++;
  const mine = entry.tail.then(async () => {
    if (entry.ov >= ov) return;
    await write();
    entry.ov = ov;
    rememberGuess(ctx, c, itemId, g);
  });
  entry.tail = mine.catch(() => {});
  try {
    await mine;
  } finally {
    if (--entry.users === 0 && m.get(k) === entry) m.delete(k);
  }
};

/**
 * The heads of several records in bulk (see writeHead for one). Records with a head write of
 * this process in flight take the one-at-a-time path; the others are held for the batch, so
 * no head write of this process can overtake it and no head moves backwards from here.
 */
export const writeHeads = async (ctx: StoreCtx, c: Cols, items: Array<{ v: VersionDoc; createdAt: number; head: CommitInput['head'] }>): Promise<void> => {
  const m = ctx.shared.headWrites;
  const ferret = await ctx.idSeeks();
  const quirks = await ctx.isFerret();
  const held: Array<{ k: string; entry: HeadWriteEntry; item: (typeof items)[number] }> = [];
  const queued: Array<Promise<void>> = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  for (const item of items) {
    const k = c.itemKey(item.v.itemId);
    if (m.has(k)) {
      queued.push(writeHead(ctx, c, item.v, item.createdAt, item.head));
      continue;
    }
    const entry = { ov: -1, tail: gate, users: 1 };
    m.set(k, entry);
    held.push({ k, entry, item });
  }
  try {
    const upsert = (item: (typeof items)[number]) => {
      const { filter, update } = headUpdate(item.v, item.createdAt, item.head ?? {}, ferret, false, quirks);
      return { updateOne: { filter, update, upsert: true } };
    };
    // creates: one insertMany (an update costs FerretDB ~10x an insert); a duplicate key (a head is
    // already there: a reader repaired it from this version, or a stale one) takes the upsert below
    const creates = held.filter((h) => h.item.v.ov === 0);
    const ops = held.filter((h) => h.item.v.ov !== 0).map((h) => upsert(h.item));
    if (creates.length) {
      try {
        await c.head.insertMany(
          creates.map(({ item }) => {
            const { update } = headUpdate(item.v, item.createdAt, item.head ?? {}, ferret, false, quirks);
            return { _id: item.v.itemId, ...(update.$set as object), ...((update.$setOnInsert as object | undefined) ?? {}) } as StoredHead;
          }),
          { ordered: false },
        );
      } catch (e) {
        const dup = duplicateKeyIndexes(e);
        if (!dup) throw e;
        for (const k of dup) ops.push(upsert(creates[k]!.item));
      }
    }
    for (let k = 0; k < ops.length; k += HEAD_BATCH) {
      try {
        await c.head.bulkWrite(ops.slice(k, k + HEAD_BATCH) as never, { ordered: false });
      } catch (e) {
        // only duplicate keys: a head at or beyond that ov is already there (MongoDB's `ov < v.ov` upsert)
        if (!duplicateKeyIndexes(e)) throw e;
      }
    }
    for (const { entry, item } of held) {
      entry.ov = item.v.ov;
      rememberGuess(ctx, c, item.v.itemId, { ov: item.v.ov, at: item.v.at, cv: item.v.cv, createdAt: item.createdAt });
    }
  } finally {
    release();
    for (const { k, entry } of held) if (--entry.users === 0 && m.get(k) === entry) m.delete(k);
  }
  await Promise.all(queued);
};

/** Clears `_h` on these versions by `_id` (FerretDB scans for any other filter), HEAD_BATCH per command. */
export const clearFlags = async (c: Cols, ids: string[]): Promise<void> => {
  if (ids.length === 1) {
    await c.ver.updateOne({ _id: ids[0]! }, { $unset: { _h: '' } });
    return;
  }
  for (let k = 0; k < ids.length; k += HEAD_BATCH) {
    await c.ver.bulkWrite(
      ids.slice(k, k + HEAD_BATCH).map((_id) => ({ updateOne: { filter: { _id }, update: { $unset: { _h: '' } } } })),
      { ordered: false },
    );
  }
};

/**
 * Versions whose flags this process cleared lately, after writing their heads (the newest
 * RECENTLY_CLEARED per store): a read that got such a flag just before its clear landed needs no
 * repair (settleObserved), and a feed reading right behind its writers would otherwise check each.
 */
const RECENTLY_CLEARED = 10_000;
const recentlyCleared = new WeakMap<StoreCtx, Set<string>>();
const noteCleared = (ctx: StoreCtx, keys: string[]): void => {
  let set = recentlyCleared.get(ctx);
  if (!set) recentlyCleared.set(ctx, (set = new Set()));
  for (const k of keys) set.add(k);
  for (const k of set) {
    if (set.size <= RECENTLY_CLEARED) break;
    set.delete(k);
  }
};
/** Whether this process wrote the head of this version (its flag clear is in flight or done lately). */
const headWritten = (ctx: StoreCtx, c: Cols, versionKey: string): boolean =>
  ctx.clearing.has(c.itemKey(versionKey)) || !!recentlyCleared.get(ctx)?.has(c.itemKey(versionKey));

/** After this process wrote their heads: the flags go in the background, known to queryHeads meanwhile. */
export const clearInBackground = (ctx: StoreCtx, c: Cols, ids: string[]): void => {
  if (!ids.length) return;
  const keys = ids.map(c.itemKey);
  for (const k of keys) ctx.clearing.add(k);
  const clear = () =>
    clearFlags(c, ids).finally(() => {
      for (const k of keys) ctx.clearing.delete(k);
      noteCleared(ctx, keys);
    });
  if (ids.length === 1) ctx.inBackground('clearing the pending flag', clear);
  else {
    const mine = ctx.bulkClears.then(clear);
    ctx.bulkClears = mine.catch(() => {});
    ctx.inBackground('clearing pending flags', () => mine);
  }
};

/** A head rebuilt from its newest version (the stored head lags or is missing), written back. */
export const repairHead = async (ctx: StoreCtx, c: Cols, latest: StoredVersion, head: StoredHead | null, pendingIds?: string[]): Promise<HeadDoc> => {
  const v = toVersion(latest);
  const createdAt = typeof latest._ca === 'number' ? latest._ca : (head?.createdAt ?? latest.at);
  const state = head?.state ?? 'new';
  ctx.log.warn('repairing a head that lags behind its newest version (interrupted commit)', {
    collection: c.name,
    itemId: v.itemId,
    headOv: head?.ov ?? null,
    ov: v.ov,
  });
  // the shadow belonged to an older version: drop it
  await writeHead(ctx, c, v, createdAt, { state, shadow: null });
  // a repair that lands after an erasure began removes its head again (lifecycle.ts)
  if (ctx.opts.erasure !== false && (await isErased(c, v.itemId))) {
    await c.head.deleteOne({ _id: v.itemId });
    forgetGuess(ctx, c, v.itemId);
  }
  if (pendingIds) await clearFlags(c, pendingIds);
  else await c.ver.updateMany({ itemId: v.itemId, _h: true, ov: { $lte: v.ov } }, { $unset: { _h: '' } });
  return { ...v, createdAt, state };
};

/** The newest version of a record, knowing version `from` exists (FerretDB: `_id` seeks upward, no scan). */
export const newestFrom = async (ctx: StoreCtx, c: Cols, itemId: string, from: number): Promise<StoredVersion | null> => {
  if (!(await ctx.idSeeks())) return latestVersion(c, itemId);
  const first: StoredVersion | null = await c.ver.findOne({ _id: versionId(itemId, from) });
  if (!first) return latestVersion(c, itemId);
  let doc: StoredVersion = first;
  for (;;) {
    const n: StoredVersion | null = await c.ver.findOne({ _id: versionId(itemId, doc.ov + 1) });
    if (!n) return doc;
    doc = n;
  }
};

type Pending = Array<{ _id: string; itemId: string; ov: number }>;

/**
 * When a store looks for interrupted commits (versions still flagged `_h`) before a heads query.
 * (Bulk commits' `_pending` documents are looked up at every query: that collection holds only
 * batches in flight.)
 *
 * MongoDB: every time (the look reads the sparse `_h` index). FerretDB pushes down only `_id`
 * equality, so there the look scans the whole version collection: its cost grows with every
 * version ever written (a page of 100 heads at 1,000 versions per record paid for 100,000
 * documents), not with the page. There a store looks on its first heads query of a namespace
 * (awaited, as on MongoDB), and after that in the background, at most once per
 * max(PENDING_LOOK_MIN_MS, PENDING_LOOK_FACTOR x the last look's duration).
 *
 * Why queries stay exact: every read that returns a version (getVersion, listVersions,
 * findByRequestId, changesAfter) first repairs the head of a flagged version it returns
 * (settleObserved: the flag is in the document it read, so this costs nothing unless one is
 * flagged); getHead checks version head.ov + 1 itself; an acknowledged commit wrote its head
 * before returning. So a head lags behind a version only while that version's commit is
 * unacknowledged (in flight, or its process died) and no read has returned it: indistinguishable
 * from a commit still in flight, which a query may or may not see. No query shows a head older
 * than an acknowledged version or than a version some read returned.
 */
export const PENDING_LOOK_MIN_MS = 1000;
const PENDING_LOOK_FACTOR = 20;

/** Whether this heads query must look for interrupted commits itself; if not, it may start a look in the background. */
export const mustLook = async (ctx: StoreCtx, c: Cols): Promise<boolean> => {
  if (!(await ctx.idSeeks())) return true;
  const look = ctx.pendingLooks.get(c.key);
  if (!look) return true;
  if (!look.running && Date.now() - look.startedAt >= Math.max(PENDING_LOOK_MIN_MS, PENDING_LOOK_FACTOR * look.ms)) {
    look.running = true;
    ctx.inBackground('looking for interrupted commits', () =>
      repairRounds(ctx, c, MAX_LOOK_ROUNDS, true, false).finally(() => {
        look.running = false;
      }),
    );
  }
  return false;
};

const MAX_LOOK_ROUNDS = 3;

/**
 * A bulk commit's `_pending` document older than this is over (its writer died): once the listed
 * versions that exist show in their heads, a reader deletes it even if some never landed. A live
 * writer sends its version insert right after its `_pending` insert, so a lease of minutes is
 * never reached by one (see commitManyPlain).
 */
export const PENDING_LEASE_MS = 15 * 60_000;
const MAX_PENDING_DOCS = 20;

/**
 * The bulk commits (`_pending`) of other processes, or of this one before its heads are written:
 * every listed version that exists gets its head (repairHead where the head lags); a document
 * with nothing left that could land (each head at or past its version) is deleted, as is one
 * past the lease. Whether a head was repaired.
 */
const checkBulkPending = async (ctx: StoreCtx, c: Cols, docs: StoredPending[]): Promise<boolean> => {
  let repaired = false;
  for (const d of docs) {
    let open = 0;
    let next = 0;
    const items = Array.isArray(d.items) ? d.items : [];
    await Promise.all(
      Array.from({ length: Math.min(8, items.length) }, async () => {
        while (next < items.length) {
          const [id, ov] = parseVersionId(String(items[next++]));
          if (!id || !Number.isSafeInteger(ov)) continue;
          const h = await c.head.findOne({ _id: id });
          // a head at or past ov: that version exists (chains are gapless), ours or a concurrent writer's
          if (h && h.ov >= ov) continue;
          if (!(await hasVersion(c, id, ov))) {
            open++; // not landed (yet): nothing committed to show
            continue;
          }
          const latest = await newestFrom(ctx, c, id, ov);
          if (latest) await repairHead(ctx, c, latest, h, []);
          repaired = true;
        }
      }),
    );
    if (open === 0 || Date.now() - d.at > PENDING_LEASE_MS) await c.pend.deleteOne({ _id: d._id });
  }
  return repaired;
};

/**
 * Versions whose head write is unconfirmed (interrupted commits), except those whose heads this
 * process wrote (their flag clear is in flight): 'none', 'settle' (only in-flight ones, as many
 * as one look returns: wait for them and look again), or the ones to repair. Bulk commits
 * (`_pending`, looked up in parallel) are repaired here; a repair answers `[]` (look again).
 */
export const openPending = async (ctx: StoreCtx, c: Cols, versions = true): Promise<'none' | 'settle' | Pending> => {
  const startedAt = Date.now();
  const [pending, bulk] = await Promise.all([
    versions
      ? c.ver
          .find({ _h: true }, { projection: { itemId: 1, ov: 1 } })
          .limit(MAX_PENDING_REPAIR)
          .toArray()
      : [],
    c.pend.find({}).limit(MAX_PENDING_DOCS).toArray(),
  ]);
  const theirs = bulk.filter((d) => !ctx.closing.has(d._id));
  const repaired = theirs.length > 0 && (await checkBulkPending(ctx, c, theirs));
  const open = pending.filter((p) => !ctx.clearing.has(c.itemKey(p._id)));
  if (open.length) return open as Pending;
  if (repaired) return [];
  if (pending.length >= MAX_PENDING_REPAIR) return 'settle';
  if (versions) {
    // nothing left to repair: the namespace was looked at (mustLook)
    const ms = Date.now() - startedAt;
    const look = ctx.pendingLooks.get(c.key);
    if (look) Object.assign(look, { startedAt, ms });
    else ctx.pendingLooks.set(c.key, { startedAt, ms, running: false });
  }
  return 'none';
};

/**
 * Versions a read is about to return: a flagged one (head write unconfirmed) whose head this
 * process did not write has its head repaired first (see PENDING_LOOK_MIN_MS for why).
 */
export const settleObserved = async (ctx: StoreCtx, c: Cols, docs: ReadonlyArray<StoredVersion | null | undefined>): Promise<void> => {
  const flagged = docs.filter((d): d is StoredVersion => !!d && d._h === true && !headWritten(ctx, c, d._id));
  if (!flagged.length) return;
  // a head write of this process in flight goes first (it carries its commit's state and shadow)
  await Promise.all(flagged.map((d) => ctx.shared.headWrites.get(c.itemKey(d.itemId))?.tail));
  const open = flagged.filter((d) => !headWritten(ctx, c, d._id)).map((d) => ({ _id: d._id, itemId: d.itemId, ov: d.ov }));
  if (open.length) await repairPending(ctx, c, open);
};

/** Brings the heads of these records up to their newest versions and clears their `_h` flags. */
export const repairPending = async (ctx: StoreCtx, c: Cols, pending: Pending): Promise<void> => {
  const byItem = new Map<string, { ids: string[]; maxOv: number }>();
  for (const p of pending) {
    const e = byItem.get(p.itemId) ?? { ids: [], maxOv: -1 };
    e.ids.push(p._id);
    e.maxOv = Math.max(e.maxOv, p.ov);
    byItem.set(p.itemId, e);
  }
  const items = [...byItem.entries()];
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(8, items.length) }, async () => {
      while (next < items.length) {
        const [id, { ids, maxOv }] = items[next++]!;
        const h = await c.head.findOne({ _id: id });
        // the head already shows these versions (their commits only missed the flag clear)
        if (h && h.ov >= maxOv && !(await hasVersion(c, id, h.ov + 1))) {
          await clearFlags(c, ids);
          continue;
        }
        const latest = await newestFrom(ctx, c, id, maxOv);
        if (latest) await repairHead(ctx, c, latest, h, ids);
      }
    }),
  );
};

/**
 * Repairs pending heads (up to `rounds` looks; `versions`: the `_h` look too, see mustLook);
 * `wait`: for this process's flag clears (never from the background: it would wait for itself).
 */
const repairRounds = async (ctx: StoreCtx, c: Cols, rounds: number, versions: boolean, wait: boolean): Promise<void> => {
  for (let round = 0; round < rounds; round++) {
    const pending = await openPending(ctx, c, versions);
    if (pending === 'none') return;
    if (pending === 'settle') {
      if (!wait) return;
      await ctx.settle();
    } else await repairPending(ctx, c, pending);
  }
};

/** Repairs pending heads before a scan of heads (the `_h` look when this store must look now: mustLook). */
export const repairBeforeScan = async (ctx: StoreCtx, c: Cols): Promise<void> => {
  await repairRounds(ctx, c, MAX_LOOK_ROUNDS, await mustLook(ctx, c), true);
};
