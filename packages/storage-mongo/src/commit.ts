/**
 * Commit paths (protocol steps 1-4): one record without a transaction (commitPlain), many
 * records in bulk (commitManyPlain), and one record in a transaction (commitTxn).
 *
 * Why the commit point is an insert and not a compare-and-set update: FerretDB 1.24
 * (SQLite) applies update / findAndModify as "select, compute, replace by _id" without a
 * lock, so two concurrent `updateOne({ _id, ov: n })` can both match (we measured 4 winners
 * of 16) and concurrent `$inc`s lose increments. A unique-index violation on insert is the
 * one atomic conditional write that FerretDB and every MongoDB share, so the protocol rests
 * on it:
 *   1. update only: read version `expectedOv` (must exist, else OptimisticLockError);
 *   2. insert version `ov` with cv = next cv (process-local hint, at least previous cv + 1).
 *      Duplicate key: if (itemId, ov) exists a concurrent writer won -> OptimisticLockError;
 *      otherwise the cv was taken by another process -> re-read max cv and retry.
 *      COMMIT POINT. A loser leaves nothing; (itemId, ov) unique keeps the chain gapless.
 *      The version is inserted with `_h: true` ("its head write is not confirmed").
 *   3. write the head (upsert where head.ov < ov; heads.ts);
 *   4. clear `_h` on the version, in the background (housekeeping, not part of the commit:
 *      a flag left by a crash only makes the next queryHeads check that head).
 *   5. look for an erasure tombstone (lifecycle.ts): found, undo steps 2-3 and fail.
 * Bulk commits (commitManyPlain) stand for the `_h` flags of a batch with one `_pending` document.
 * Create = 4 commands, update = 4 when the caller passes `prev` (the engine does: it read
 * the head it builds on), 5 otherwise; steps 2, 3 and 5 are the round trips a commit waits for.
 * With transactions (opt-in: `transactions.enabled`; replica set / mongos), steps 1-3 run in one transaction.
 */
import {
  OptimisticLockError,
  StorageError,
  TxnError,
  ValidationError,
  ITEM_STATES,
  assertId,
  assertNamespace,
  assertOv,
  erasedError,
  isErasedError,
  type CommitInput,
  type CommitManyResult,
  type CommitResult,
  type ItemState,
  type VersionDoc,
} from '@chronos-db/core';
import { randomUUID } from 'node:crypto';
import type { Cols, StoreCtx } from './context.js';
import { storedVersionFields, versionId } from './docs.js';
import { duplicateKeyIndexes, isDuplicateKey, lockError } from './errors.js';
import { clearInBackground, writeHead, writeHeads } from './heads.js';
import { erasedAmong, undoIfErased } from './lifecycle.js';
import { hasVersion, nextCv } from './versions.js';

export const STATES: ReadonlySet<ItemState> = new Set(ITEM_STATES);
const MAX_CV_RETRIES = 50;
const REFUSED_SEEKS = 16;

export const validateCommit = (input: CommitInput): void => {
  if (!input || typeof input !== 'object' || !input.version || typeof input.version !== 'object')
    throw new ValidationError('commit needs { ns, version, expectedOv, head }');
  const v = input.version;
  assertNamespace(input.ns);
  assertId(v.itemId);
  if (input.expectedOv === null) {
    if (v.ov !== 0) throw new ValidationError(`A create must be ov 0, got ${JSON.stringify(v.ov)}`);
  } else {
    assertOv(input.expectedOv);
    if (v.ov !== input.expectedOv + 1) throw new ValidationError(`version.ov must be expectedOv + 1 (${input.expectedOv + 1}), got ${JSON.stringify(v.ov)}`);
  }
  if (typeof v.at !== 'number' || !Number.isFinite(v.at)) throw new ValidationError('version.at must be a finite number');
  if (typeof v.jsonKey !== 'string' || v.jsonKey.length === 0) throw new ValidationError('version.jsonKey is required');
  const st = input.head?.state;
  if (st !== undefined && !STATES.has(st)) throw new ValidationError(`Invalid state ${JSON.stringify(st)}`);
};

export const commitPlain = async (ctx: StoreCtx, c: Cols, input: CommitInput): Promise<CommitResult> => {
  const { ns, version, expectedOv } = input;
  const hook = ctx.hook;
  const itemId = version.itemId;
  let createdAt: number;
  let floor = 1;
  if (expectedOv !== null && input.prev) {
    // the caller read version expectedOv (as the head): no need to read it again
    createdAt = input.prev.createdAt;
    floor = input.prev.cv + 1;
  } else if (expectedOv !== null) {
    const prev = await c.ver.findOne({ _id: versionId(itemId, expectedOv) }, { projection: { cv: 1, _ca: 1, at: 1 } });
    if (!prev) throw lockError(c.name, itemId, expectedOv);
    createdAt = typeof prev._ca === 'number' ? prev._ca : prev.at;
    floor = prev.cv + 1;
  } else {
    createdAt = input.head?.createdAt ?? version.at;
  }
  let cv = await nextCv(ctx, c, floor, false);
  if (hook) await hook('checked', { ns, itemId, ov: version.ov, cv });
  for (let attempt = 0; ; attempt++) {
    try {
      await c.ver.insertOne({ _id: versionId(itemId, version.ov), ...storedVersionFields({ ...version, cv } as VersionDoc), _ca: createdAt, _h: true });
      break;
    } catch (e) {
      if (!isDuplicateKey(e)) throw e;
      if (await hasVersion(c, itemId, version.ov)) throw lockError(c.name, itemId, expectedOv);
      if (attempt >= MAX_CV_RETRIES) throw new StorageError(`Could not allocate a collection version in ${c.name} after ${MAX_CV_RETRIES} attempts`);
      cv = await nextCv(ctx, c, floor, true); // another process took this cv
    }
  }
  if (hook) await hook('version', { ns, itemId, ov: version.ov, cv });
  await writeHead(ctx, c, { ...version, cv } as VersionDoc, createdAt, input.head ?? {});
  if (hook) await hook('head', { ns, itemId, ov: version.ov, cv });
  // an erasure that began before this look removes nothing of ours yet: undo, and fail (lifecycle.ts)
  if (await undoIfErased(ctx, c, itemId, version.ov)) throw erasedError(itemId);
  // by _id alone: FerretDB scans the whole collection for any other filter ($unset of a missing field is a no-op)
  clearInBackground(ctx, c, [versionId(itemId, version.ov)]);
  return { cv };
};

/** One entry of commitMany: what commit returned, or its OptimisticLockError (anything else is thrown). */
export const asResult = async (commitOne: () => Promise<CommitResult>): Promise<CommitManyResult> => {
  try {
    return { ok: true, cv: (await commitOne()).cv };
  } catch (e) {
    if (e instanceof OptimisticLockError || isErasedError(e)) return { ok: false, error: e as Error };
    throw e;
  }
};

/**
 * Many records at once, the same protocol in bulk: a `_pending` document listing the batch's
 * versions (it stands for their `_h` flags: readers repair the heads of what it lists, heads.ts),
 * one insertMany of the versions (no `_h`; unordered: each refused insert fails only its own
 * entry; the commit point of each), the heads of the inserted ones in bulk (creates: one
 * insertMany; updates: HEAD_BATCH upserts per command, see heads.ts), then the `_pending`
 * document deleted in the background. 4 commands per batch of creates, 3 awaited in sequence.
 * Entries without `prev`, and entries whose cv was taken by another process, go through commitPlain.
 */
export const commitManyPlain = async (ctx: StoreCtx, c: Cols, inputs: CommitInput[]): Promise<CommitManyResult[]> => {
  const hook = ctx.hook;
  const results: CommitManyResult[] = new Array(inputs.length);
  const bulk: Array<{ i: number; cv: number; createdAt: number }> = [];
  const alone: number[] = [];
  for (const [i, input] of inputs.entries()) {
    if (input.expectedOv !== null && !input.prev) alone.push(i);
    else {
      const createdAt = input.expectedOv === null ? (input.head?.createdAt ?? input.version.at) : input.prev!.createdAt;
      bulk.push({ i, cv: await nextCv(ctx, c, input.expectedOv === null ? 1 : input.prev!.cv + 1, false), createdAt });
    }
  }
  const docs = bulk.map((b) => {
    const v = inputs[b.i]!.version;
    return { _id: versionId(v.itemId, v.ov), ...storedVersionFields({ ...v, cv: b.cv } as VersionDoc), _ca: b.createdAt };
  });
  const refused = new Set<number>();
  // instead of one `_h` flag per version (and one update per version to clear it), one `_pending`
  // document lists the batch, inserted before the versions (crash safety) and deleted after the heads
  const pendingId = docs.length ? randomUUID() : undefined;
  if (pendingId) {
    await c.pend.insertOne({ _id: pendingId, at: Date.now(), items: docs.map((d) => d._id) });
    try {
      await c.ver.insertMany(docs, { ordered: false });
    } catch (e) {
      const dup = duplicateKeyIndexes(e);
      if (!dup) throw e;
      for (const k of dup) refused.add(k);
    }
  }
  // refused: a concurrent writer took (itemId, ov) -> lock error; else the cv was taken -> one at a time.
  // (`_id` seeks, REFUSED_SEEKS at a time: a rerun's batch is refused whole, and a pool of 100
  // connections shared with the other writers must not be taken by one batch)
  const refusedList = [...refused];
  for (let s = 0; s < refusedList.length; s += REFUSED_SEEKS) {
    await Promise.all(
      refusedList.slice(s, s + REFUSED_SEEKS).map(async (k) => {
        const b = bulk[k]!;
        const v = inputs[b.i]!.version;
        if (await hasVersion(c, v.itemId, v.ov)) results[b.i] = { ok: false, error: lockError(c.name, v.itemId, inputs[b.i]!.expectedOv) };
        else alone.push(b.i);
      }),
    );
  }
  const landed = bulk.filter((_, k) => !refused.has(k));
  for (const b of landed) results[b.i] = { ok: true, cv: b.cv };
  if (hook) for (const b of landed) await hook('version', { ns: inputs[b.i]!.ns, itemId: inputs[b.i]!.version.itemId, ov: inputs[b.i]!.version.ov, cv: b.cv });
  await writeHeads(
    ctx,
    c,
    landed.map((b) => ({ v: { ...inputs[b.i]!.version, cv: b.cv } as VersionDoc, createdAt: b.createdAt, head: inputs[b.i]!.head ?? {} })),
  );
  if (hook) for (const b of landed) await hook('head', { ns: inputs[b.i]!.ns, itemId: inputs[b.i]!.version.itemId, ov: inputs[b.i]!.version.ov, cv: b.cv });
  const erased =
    ctx.opts.erasure === false
      ? new Set<string>()
      : await erasedAmong(
          c,
          landed.map((b) => inputs[b.i]!.version.itemId),
        );
  for (const b of landed) {
    const v = inputs[b.i]!.version;
    if (!erased.has(v.itemId)) continue;
    await undoIfErased(ctx, c, v.itemId, v.ov);
    results[b.i] = { ok: false, error: erasedError(v.itemId) };
  }
  if (pendingId) {
    ctx.closing.add(pendingId);
    ctx.inBackground('closing a bulk commit', () => c.pend.deleteOne({ _id: pendingId }).finally(() => ctx.closing.delete(pendingId)));
  }
  for (const i of alone) results[i] = await asResult(() => commitPlain(ctx, c, inputs[i]!));
  return results;
};

export const commitTxn = async (ctx: StoreCtx, c: Cols, input: CommitInput): Promise<CommitResult> => {
  const { version, expectedOv } = input;
  const itemId = version.itemId;
  let refresh = false;
  for (let attempt = 0; attempt <= MAX_CV_RETRIES; attempt++) {
    const session = ctx.client.startSession();
    let cv = 0;
    try {
      await session.withTransaction(async () => {
        let createdAt = input.head?.createdAt ?? version.at;
        let floor = 1;
        if (expectedOv !== null) {
          const prev = await c.ver.findOne({ _id: versionId(itemId, expectedOv) }, { projection: { cv: 1, _ca: 1, at: 1 }, session });
          if (!prev) throw lockError(c.name, itemId, expectedOv);
          createdAt = typeof prev._ca === 'number' ? prev._ca : prev.at;
          floor = prev.cv + 1;
        }
        cv = await nextCv(ctx, c, floor, refresh, session);
        await c.ver.insertOne({ _id: versionId(itemId, version.ov), ...storedVersionFields({ ...version, cv } as VersionDoc), _ca: createdAt }, { session });
        await writeHead(ctx, c, { ...version, cv } as VersionDoc, createdAt, input.head ?? {}, session);
      });
      if (await undoIfErased(ctx, c, itemId, version.ov)) throw erasedError(itemId);
      return { cv };
    } catch (e) {
      if (e instanceof OptimisticLockError || isErasedError(e)) throw e;
      if (isDuplicateKey(e)) {
        if (await hasVersion(c, itemId, version.ov)) throw lockError(c.name, itemId, expectedOv);
        refresh = true;
        continue;
      }
      const labels = (e as { errorLabelSet?: Set<string> }).errorLabelSet;
      if (labels?.has('TransientTransactionError')) {
        throw new TxnError(`Transaction for '${itemId}' in ${c.name} was not committed: ${ctx.redact(String((e as Error).message))}`);
      }
      throw e;
    } finally {
      await session.endSession().catch(() => {});
    }
  }
  throw new StorageError(`Could not allocate a collection version in ${c.name}`);
};
