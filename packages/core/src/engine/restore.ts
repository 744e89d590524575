/**
 * Restores: one record to an earlier version, or a whole collection to its
 * state at a cv or a time. Every restore appends versions (history is never
 * rewritten); a rerun after a failure resumes, because records already at
 * their target are skipped.
 */
import { ChronosError, NotFoundError, OptimisticLockError, ValidationError } from '../errors.js';
import { assertId, assertOv } from '../names.js';
import type { HeadDoc, VersionSelector } from '../ports.js';
import { pointerVersion, type Built } from './build.js';
import { commitBuilt, writeLoop } from './commit.js';
import { mapLimit, type StopSignal } from './concurrency.js';
import { MAX_RETRIES, type EngineContext } from './context.js';
import { count } from './counting.js';
import { versionAt } from './manifest-read.js';
import type { RestoreCollectionOptions, RestoreObjectOptions, RestoreProgress } from './types.js';
import { optString, selector, writeSetup } from './validate.js';

export async function restoreObject(
  cx: EngineContext,
  id: string,
  target: { ov: number } | { at: Date | string | number },
  opts: RestoreObjectOptions = {},
): Promise<{ id: string; newOv: number; newCv: number }> {
  assertId(id);
  const sel = selector(target);
  if (opts.expectedHeadOv !== undefined) assertOv(opts.expectedHeadOv, 'expectedHeadOv');
  const w = writeSetup(opts, () => ({ op: 'RESTORE', id, sel, expectedHeadOv: opts.expectedHeadOv }));
  await cx.ensure();
  const tv = await versionAt(cx, id, sel);
  if (!tv || tv.itemId !== id) throw new NotFoundError(`Record '${id}' has no version matching ${JSON.stringify(target)}`, { id });
  const r = await writeLoop(cx, id, opts.expectedHeadOv, w, async (head, at) => pointerVersion(head, tv, 'RESTORE', at, tv.deleted, w), 'UPDATE');
  return { id, newOv: r.ov, newCv: r.cv };
}

export async function restoreCollection(
  cx: EngineContext,
  target: { cv: number } | { at: Date | string | number },
  opts: RestoreCollectionOptions = {},
): Promise<{ target: { cv: number } | { at: Date }; planned: number; restored: number; scanned: number }> {
  const sel = selector(target);
  const pageSize = opts.pageSize ?? 200;
  const parallel = opts.parallel ?? 4;
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 5000) throw new ValidationError('pageSize must be an integer from 1 to 5000');
  if (!Number.isInteger(parallel) || parallel < 1 || parallel > 64) throw new ValidationError('parallel must be an integer from 1 to 64');
  const actor = optString(opts.actor, 'actor');
  const reason = optString(opts.reason, 'reason') ?? 'restoreCollection';
  await cx.ensure();
  const progress: RestoreProgress = { scanned: 0, planned: 0, restored: 0 };
  try {
    const pages = cx.meta.scanHeads ? cx.meta.scanHeads(cx.ns, { includeDeleted: true, batchSize: pageSize }) : headPages(cx, pageSize);
    for await (const heads of pages) {
      if (heads.length === 0) continue;
      if (cx.meta.commitMany && !opts.dryRun) {
        // Plan the page (one target lookup per record), then commit it in bulk; a record that
        // changed meanwhile (OptimisticLockError) is redone on its own from its new head.
        const plans = await mapLimit(heads, parallel, async (h) => ({ h, built: await planRestore(cx, h, sel, actor, reason) }));
        progress.scanned += heads.length;
        const todo = plans.filter((p): p is { h: HeadDoc; built: Built } => p.built !== null);
        const results = await cx.meta.commitMany(
          todo.map(({ h, built }) => ({
            ns: cx.ns,
            version: built.version,
            expectedOv: h.ov,
            head: { state: 'new', shadow: built.shadow },
            prev: { cv: h.cv, createdAt: h.createdAt },
          })),
        );
        const redo: HeadDoc[] = [];
        const landed: Array<{ built: Built; cv: number }> = [];
        let failed: { error: Error } | undefined;
        for (const [k, r] of results.entries()) {
          const { h, built } = todo[k]!;
          if (r.ok) {
            progress.planned++;
            progress.restored++;
            landed.push({ built, cv: r.cv });
          } else if (r.error instanceof OptimisticLockError) redo.push(h);
          else failed ??= { error: r.error };
        }
        await mapLimit(landed, parallel, ({ built, cv }) => count(cx, built.version.op, built, undefined, cv));
        if (failed) throw failed.error;
        await mapLimit(redo, parallel, async (h, _i, signal) => {
          const fresh = await cx.meta.getHead(cx.ns, h.itemId);
          if (fresh && (await restoreOne(cx, fresh, sel, false, actor, reason, signal))) {
            progress.planned++;
            progress.restored++;
          }
        });
      } else {
        await mapLimit(heads, parallel, async (h, _i, signal) => {
          progress.scanned++;
          const applied = await restoreOne(cx, h, sel, !!opts.dryRun, actor, reason, signal);
          if (applied) {
            progress.planned++;
            if (!opts.dryRun) progress.restored++;
          }
        });
      }
      opts.onProgress?.({ ...progress });
    }
  } catch (e) {
    throw withProgress(e, progress);
  }
  const shownTarget = 'cv' in sel ? { cv: sel.cv } : { at: new Date((sel as { at: number }).at) };
  return { target: shownTarget, planned: progress.planned, restored: progress.restored, scanned: progress.scanned };
}

/** Every head (deleted ones too) in itemId order, a page at a time, by keyset queries. */
export async function* headPages(cx: EngineContext, pageSize: number): AsyncGenerator<HeadDoc[]> {
  let afterId: string | undefined;
  for (;;) {
    const heads = await cx.meta.queryHeads(cx.ns, { limit: pageSize, includeDeleted: true, ...(afterId ? { afterId } : {}) });
    if (heads.length === 0) return;
    yield heads;
    if (heads.length < pageSize) return;
    afterId = heads[heads.length - 1]!.itemId;
  }
}

/** The version that brings a record from `head` to its state at `sel`, or null when it is there already. */
async function planRestore(cx: EngineContext, head: HeadDoc, sel: VersionSelector, actor: string | undefined, reason: string): Promise<Built | null> {
  const tv = await versionAt(cx, head.itemId, sel);
  const at = Math.max(cx.clock(), head.at);
  if (!tv) return head.deleted ? null : pointerVersion(head, head, 'DELETE', at, true, { actor, reason });
  if (head.jsonKey === tv.jsonKey && head.deleted === tv.deleted && head.sha256 === tv.sha256) return null;
  return pointerVersion(head, tv, 'RESTORE', at, tv.deleted, { actor, reason });
}

/** Brings one record to its state at `sel`. Returns whether a version was (or would be) appended. */
async function restoreOne(
  cx: EngineContext,
  first: HeadDoc,
  sel: VersionSelector,
  dryRun: boolean,
  actor: string | undefined,
  reason: string,
  signal: StopSignal,
): Promise<boolean> {
  let head: HeadDoc | null = first;
  for (let attempt = 0; attempt < MAX_RETRIES && head; attempt++) {
    const built = await planRestore(cx, head, sel, actor, reason);
    if (!built) return false;
    if (dryRun) return true;
    if (signal.stopped) return false; // another worker failed: commit nothing more
    try {
      const { cv } = await commitBuilt(cx, built, head.ov, built.version.at, { cv: head.cv, createdAt: head.createdAt });
      await count(cx, built.version.op, built, undefined, cv);
      return true;
    } catch (e) {
      if (!(e instanceof OptimisticLockError)) throw e;
      head = await cx.meta.getHead(cx.ns, first.itemId);
    }
  }
  if (!head) return false;
  throw new OptimisticLockError(`restoreCollection: record '${first.itemId}' kept changing; run the restore again`);
}

/**
 * The first error of a restore, saying how far it got: the records restored so far stay
 * restored (each one is a committed version), and running the same restore again resumes,
 * because records already at their target are skipped.
 */
function withProgress(e: unknown, p: RestoreProgress): unknown {
  if (!(e instanceof Error)) return e;
  const note = `restoreCollection stopped at the first error after restoring ${p.restored} of ${p.planned} planned records (${p.scanned} scanned); run it again with the same target to resume: records already restored are skipped`;
  e.message = `${e.message} (${note})`;
  if (e instanceof ChronosError) (e as { details?: Record<string, unknown> }).details = { ...e.details, restore: { ...p, resumable: true } };
  return e;
}
