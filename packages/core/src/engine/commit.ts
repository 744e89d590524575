/**
 * The write protocol: payloads first, then the compare-and-set commit of the
 * version; rebuild-and-retry on a moved head (last writer wins) unless the
 * caller named the ov it expects; idempotent replay by requestId.
 */
import { NotFoundError, OptimisticLockError, ValidationError } from '../errors.js';
import { isErasedError } from '../erasure.js';
import { MAX_REQUEST_IDS } from '../names.js';
import type { CommitInput, HeadDoc, VersionDoc } from '../ports.js';
import type { Built } from './build.js';
import { mapLimit } from './concurrency.js';
import { backoff, MAX_RETRIES, type EngineContext } from './context.js';
import { count } from './counting.js';
import { isErased } from './erased.js';
import { tagBuilt } from './fallback.js';

/**
 * PUTs the payload (and blobs) of a built version, then commits it. A commit the store
 * refused (OptimisticLockError: the head moved, or the record or requestId exists) is known
 * lost: this attempt's own objects are deleted, best effort (their keys are unique to the
 * attempt, so no winner names them). On any other failure the outcome is unknown (the commit
 * may have landed) and nothing is deleted; collectGarbage removes real orphans later.
 */
export async function commitBuilt(
  cx: EngineContext,
  b: Built,
  expectedOv: number | null,
  at: number,
  prev?: { cv: number; createdAt: number },
): Promise<{ cv: number }> {
  const payloads = allInline(cx, b) ?? (await putPayloads(cx, b));
  try {
    return await commitOnly(cx, b, expectedOv, at, prev, payloads);
  } catch (e) {
    // refused: a concurrent writer won, or the record was erased (its tombstone refuses every commit).
    // Payloads handed to the commit were not written: only what was PUT is this attempt's to remove
    if ((e instanceof OptimisticLockError || isErasedError(e)) && b.json.length > 0)
      await removeLost(cx, b, new Set(payloads?.map((p) => p.key)), isErasedError(e));
    throw e;
  }
}

/**
 * PUTs the payload objects of a built version, content first and the json last. When the
 * metadata store writes this blob store's payloads in its commits (PayloadLink: the embedded
 * store), those up to the link's size are returned instead, for the commit to write.
 */
export async function putPayloads(cx: EngineContext, b: Built): Promise<CommitInput['payloads']> {
  if (b.json.length === 0) return undefined;
  const link = cx.meta.payloadLink;
  const max = link && link === cx.blobs.payloadLink ? link.maxBytes : -1;
  const inline: NonNullable<CommitInput['payloads']> = [];
  const puts: Promise<void>[] = [];
  const add = (role: 'json' | 'content', key: string, body: Uint8Array, contentType: string) => {
    if (body.length <= max) inline.push({ role, key, body });
    else if (role === 'content') puts.push(cx.blobs.put(role, key, body, { contentType }));
  };
  for (const p of b.pending) {
    add('content', p.ref.key, p.bytes, p.ref.contentType);
    if (p.text && p.ref.textKey) add('content', p.ref.textKey, p.text, 'text/plain; charset=utf-8');
  }
  await Promise.all(puts);
  if (b.json.length <= max) inline.push({ role: 'json', key: b.version.jsonKey, body: b.json });
  else await cx.blobs.put('json', b.version.jsonKey, b.json, { contentType: 'application/json' });
  return inline.length ? inline : undefined;
}

/**
 * The payloads of a built version when the commit writes all of them itself (a linked store,
 * each within the link's size: the embedded store's small writes): no PUT, no wait. Else null.
 */
export function allInline(cx: EngineContext, b: Built): CommitInput['payloads'] | null {
  const link = cx.meta.payloadLink;
  if (!link || link !== cx.blobs.payloadLink || b.pending.length > 0 || b.json.length > link.maxBytes) return null;
  return b.json.length === 0 ? undefined : [{ role: 'json', key: b.version.jsonKey, body: b.json }];
}

/** Deletes the objects a lost attempt wrote; counts what could not be deleted (engine stats, warn log). */
async function removeLost(cx: EngineContext, b: Built, notPut: Set<string>, erased = false): Promise<void> {
  const all: Array<['json' | 'content', string]> = [['json', b.version.jsonKey]];
  for (const p of b.pending) {
    all.push(['content', p.ref.key]);
    if (p.text && p.ref.textKey) all.push(['content', p.ref.textKey]);
  }
  const keys = all.filter(([, k]) => !notPut.has(k));
  if (keys.length === 0) return;
  let left = 0;
  // A refusal can hide a commit that landed (a driver retrying an insert that had succeeded
  // sees its own duplicate): delete only when the version at (itemId, ov) is not this attempt's.
  let ours = true;
  try {
    const there = await cx.meta.getVersion(cx.ns, b.version.itemId, { ov: b.version.ov });
    ours = !!there && there.jsonKey === b.version.jsonKey;
    if (!ours) {
      // a record being erased keeps no bytes: every stored version of the keys goes (they are this
      // attempt's alone), so a versioned bucket keeps no noncurrent copy, and the store's own files are scrubbed
      const erasing = erased || (await isErased(cx, b.version.itemId).catch(() => false));
      const purge = erasing && cx.blobs.purgePrefix ? cx.blobs.purgePrefix.bind(cx.blobs) : undefined;
      const results = await Promise.allSettled(keys.map(([bucket, key]) => (purge ? purge(bucket, key) : cx.blobs.delete(bucket, key))));
      if (erasing) await cx.blobs.scrub?.().catch(() => false);
      for (const r of results) {
        if (r.status === 'fulfilled') cx.stats.lostWriteObjectsRemoved++;
        else left++;
      }
    }
  } catch {
    left = keys.length; // the check failed: the outcome is unknown, keep them
  }
  if (left > 0) {
    cx.stats.lostWriteObjectsLeft += left;
    cx.log.warn('a lost write attempt could not delete its own payload objects; collectGarbage removes them after the grace period', {
      id: b.version.itemId,
      ov: b.version.ov,
      left,
      totalLeft: cx.stats.lostWriteObjectsLeft,
    });
  }
}

function commitOnly(
  cx: EngineContext,
  b: Built,
  expectedOv: number | null,
  at: number,
  prev: { cv: number; createdAt: number } | undefined,
  payloads: CommitInput['payloads'],
): Promise<{ cv: number }> {
  // Every new version (create, update, enrich, delete, restore) makes the record `new` again:
  // `processed` marks the version that was processed, not the ones after it.
  const head: CommitInput['head'] = expectedOv === null ? { createdAt: at, state: 'new', shadow: b.shadow } : { state: 'new', shadow: b.shadow };
  const input: CommitInput = { ns: cx.ns, version: b.version, expectedOv, head };
  if (payloads) input.payloads = payloads;
  if (prev) input.prev = prev;
  return cx.meta.commit(input).catch((e: unknown) => {
    throw tagBuilt(e, b, expectedOv);
  });
}

/** The version an earlier attempt with this requestId committed, or null; a reuse with another payload is refused. */
export async function replay(cx: EngineContext, requestId: string, requestHash: string): Promise<VersionDoc | null> {
  return replayed(await cx.meta.findByRequestId(cx.ns, requestId), requestId, requestHash);
}

/**
 * The versions earlier attempts committed with these requestIds (for `replay` in bulk), by
 * requestId. A key may name the version its write would have made (`at`: a create's is
 * (id, 0)): those are read by id first (`findVersions`: `_id` seeks, which FerretDB answers
 * without a scan) and kept where they carry the requestId. The rest: one `findByRequestIds`
 * call per MAX_REQUEST_IDS where the store has it, else `findByRequestId` per requestId,
 * `concurrency` at a time. Check each with `replayed`.
 */
export async function priorsOf(
  cx: EngineContext,
  keys: ReadonlyArray<{ requestId: string; at?: { itemId: string; ov: number } }>,
  concurrency: number,
): Promise<Map<string, VersionDoc>> {
  const out = new Map<string, VersionDoc>();
  const hinted = keys.filter((k) => k.at);
  if (hinted.length && cx.meta.findVersions) {
    for (let i = 0; i < hinted.length; i += MAX_REQUEST_IDS) {
      const part = hinted.slice(i, i + MAX_REQUEST_IDS);
      const wanted = new Set(part.map((k) => k.requestId));
      for (const v of await cx.meta.findVersions(
        cx.ns,
        part.map((k) => k.at!),
      ))
        if (v.requestId !== undefined && wanted.has(v.requestId)) out.set(v.requestId, v);
    }
  }
  const ids = [...new Set(keys.map((k) => k.requestId).filter((r) => !out.has(r)))];
  const found: VersionDoc[] = [];
  if (cx.meta.findByRequestIds) {
    for (let i = 0; i < ids.length; i += MAX_REQUEST_IDS) found.push(...(await cx.meta.findByRequestIds(cx.ns, ids.slice(i, i + MAX_REQUEST_IDS))));
  } else {
    for (const v of await mapLimit(ids, concurrency, (r) => cx.meta.findByRequestId(cx.ns, r))) if (v) found.push(v);
  }
  for (const v of found) if (v.requestId !== undefined) out.set(v.requestId, v);
  return out;
}

/** What `replay` answers for a version found by requestId (or none): it, or a ValidationError when the requestId was used for another write. */
export function replayed(prior: VersionDoc | null | undefined, requestId: string, requestHash: string): VersionDoc | null {
  if (!prior) return null;
  if (prior.requestHash !== requestHash) throw new ValidationError(`requestId '${requestId}' was already used for a different write`, { requestId });
  return prior;
}

/** A write's idempotency key and the hash of what it asked for (a WriteSetup has both; none for internal writes). */
export interface RequestKey {
  requestId?: string | undefined;
  requestHash?: string | undefined;
}

/** A version is built only on a live head: a deleted record is not found (update, delete, enrich). */
export function assertLive(head: HeadDoc): void {
  if (head.deleted) throw new NotFoundError(`Record '${head.itemId}' not found`, { id: head.itemId });
}

/**
 * Reads the head, builds a version from it and commits with compare-and-set.
 * With an explicit expectedOv a conflict is final; without one the write is
 * rebuilt on the new head (last writer wins), a bounded number of times.
 */
export async function writeLoop(
  cx: EngineContext,
  id: string,
  expectedOv: number | undefined,
  { requestId, requestHash }: RequestKey,
  buildOn: (head: HeadDoc, at: number) => Promise<Built>,
  countAs: 'CREATE' | 'UPDATE' | 'DELETE',
  payload?: Record<string, unknown> | (() => Record<string, unknown>),
): Promise<{ ov: number; cv: number; at: number }> {
  await cx.ensure();
  if (requestId) {
    const prior = await replay(cx, requestId, requestHash!);
    if (prior) return { ov: prior.ov, cv: prior.cv, at: prior.at };
  }
  for (let attempt = 0; ; attempt++) {
    // The first attempt trusts the head (a lagging one loses the commit on the unique
    // (itemId, ov) index); a retry reads it checked against the version index.
    const head = await cx.meta.getHead(cx.ns, id, attempt === 0 ? { forWrite: true } : undefined);
    if (!head) throw new NotFoundError(`Record '${id}' not found`, { id });
    if (expectedOv !== undefined && head.ov !== expectedOv) {
      throw new OptimisticLockError(`Record '${id}' is at ov ${head.ov}, expected ${expectedOv}`, { id, expectedOv, actualOv: head.ov });
    }
    const at = Math.max(cx.clock(), head.at);
    const built = await buildOn(head, at);
    try {
      const { cv } = await commitBuilt(cx, built, head.ov, at, { cv: head.cv, createdAt: head.createdAt });
      await count(cx, countAs, built, typeof payload === 'function' ? payload() : payload, cv);
      return { ov: built.version.ov, cv, at };
    } catch (e) {
      if (!(e instanceof OptimisticLockError)) throw e;
      if (requestId) {
        const prior = await replay(cx, requestId, requestHash!);
        if (prior) return { ov: prior.ov, cv: prior.cv, at: prior.at };
      }
      if (expectedOv !== undefined || attempt >= MAX_RETRIES) {
        throw new OptimisticLockError(`Record '${id}' was changed by another writer`, { id, expectedOv: head.ov });
      }
      await backoff(attempt);
    }
  }
}
