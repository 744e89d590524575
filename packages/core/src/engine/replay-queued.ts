/**
 * Applies one queued write (the fallback worker calls it through
 * `CollectionEngine.applyQueued`). Idempotent by the write's requestId: a
 * version already committed with it (an earlier replay, or the original
 * commit that was never acknowledged) is returned as is. The payload PUT made
 * before the outage is reused while the record's head is where the write was
 * built; otherwise the write runs again through the normal path (same
 * requestId). Conflicts (an expectedOv the record moved past, a create over an
 * existing record) and missing records throw their typed errors: the worker
 * dead-letters them.
 */
import { erasedError, isErasedError } from '../erasure.js';
import { OptimisticLockError, ValidationError } from '../errors.js';
import type { Built } from './build.js';
import { commitBuilt, replay } from './commit.js';
import type { EngineContext } from './context.js';
import { isErased } from './erased.js';
import { count } from './counting.js';
import type { QueuedWriteBody } from './fallback.js';
import * as write from './write.js';

export async function applyQueued(cxIn: EngineContext, body: QueuedWriteBody): Promise<{ id: string; ov: number; cv: number }> {
  if (body?.v !== 1 || typeof body.requestId !== 'string' || typeof body.id !== 'string') throw new ValidationError('Not a queued write of this version');
  const cx: EngineContext = { ...cxIn, fallback: undefined };
  await cx.ensure();
  // A write queued for a record erased since (or while it waited): refused, and the payload PUT
  // before the outage goes with every stored version of it. The worker dead-letters it without content.
  if (await isErased(cx, body.id)) {
    await dropBuilt(cx, body);
    throw erasedError(body.id);
  }
  try {
    return await apply(cx, body);
  } catch (e) {
    if (isErasedError(e)) await dropBuilt(cx, body);
    throw e;
  }
}

/** Deletes the objects a queued write PUT before its commit failed (its record was erased). */
async function dropBuilt(cx: EngineContext, body: QueuedWriteBody): Promise<void> {
  const v = body.built?.version;
  if (!v) return;
  const keys: Array<['json' | 'content', string]> = [['json', v.jsonKey]];
  for (const ref of Object.values(v.blobs ?? {})) {
    keys.push(['content', ref.key]);
    if (ref.textKey) keys.push(['content', ref.textKey]);
  }
  const purge = cx.blobs.purgePrefix?.bind(cx.blobs);
  for (const [bucket, key] of keys) await (purge ? purge(bucket, key) : cx.blobs.delete(bucket, key));
  await cx.blobs.scrub?.();
}

async function apply(cx: EngineContext, body: QueuedWriteBody): Promise<{ id: string; ov: number; cv: number }> {
  const prior = await replay(cx, body.requestId, body.requestHash);
  if (prior) return { id: prior.itemId, ov: prior.ov, cv: prior.cv };
  const b = body.built;
  if (b) {
    const built: Built = { version: b.version, json: new Uint8Array(0), pending: [], shadow: b.shadow };
    const countAs = body.kind === 'create' ? 'CREATE' : body.kind === 'delete' ? 'DELETE' : 'UPDATE';
    const payload = body.kind === 'create' || body.kind === 'update' ? body.data : undefined;
    if (body.kind === 'create') {
      try {
        const { cv } = await commitBuilt(cx, built, null, b.version.at);
        await count(cx, countAs, built, payload, cv);
        return { id: body.id, ov: 0, cv };
      } catch (e) {
        if (!(e instanceof OptimisticLockError)) throw e;
        const again = await replay(cx, body.requestId, body.requestHash);
        if (again) return { id: again.itemId, ov: again.ov, cv: again.cv };
        throw new OptimisticLockError(`Record '${body.id}' already exists`, { id: body.id });
      }
    }
    const head = await cx.meta.getHead(cx.ns, body.id);
    if (head && !head.deleted && head.ov === b.on && b.version.ov === head.ov + 1 && (body.expectedOv === undefined || body.expectedOv === head.ov)) {
      try {
        const { cv } = await commitBuilt(cx, built, head.ov, b.version.at, { cv: head.cv, createdAt: head.createdAt });
        await count(cx, countAs, built, payload, cv);
        return { id: body.id, ov: b.version.ov, cv };
      } catch (e) {
        if (!(e instanceof OptimisticLockError)) throw e;
        const again = await replay(cx, body.requestId, body.requestHash);
        if (again) return { id: again.itemId, ov: again.ov, cv: again.cv };
        // The head moved meanwhile: run the write again below.
      }
    }
  }
  const opts = { requestId: body.requestId };
  const r = await rerun(cx, body, opts);
  if ('queued' in r) throw new ValidationError('A replayed write was queued again');
  return { id: r.id, ov: r.ov, cv: r.cv };
}

function rerun(cx: EngineContext, body: QueuedWriteBody, opts: { requestId: string }) {
  switch (body.kind) {
    case 'create':
      return write.create(cx, body.data, body.actor, body.reason, {
        ...opts,
        ...(body.idGiven ? { id: body.id } : {}),
        ...(body.functionId !== undefined ? { functionId: body.functionId } : {}),
      });
    case 'update':
      return write.update(cx, body.id, body.data, body.expectedOv, body.actor, body.reason, opts);
    case 'delete':
      return write.remove(cx, body.id, body.expectedOv, body.actor, body.reason, opts);
    case 'enrich':
      return write.enrich(cx, body.id, body.patches, {
        ...opts,
        ...(body.expectedOv !== undefined ? { expectedOv: body.expectedOv } : {}),
        ...(body.functionId !== undefined ? { functionId: body.functionId } : {}),
        ...(body.actor !== undefined ? { actor: body.actor } : {}),
        ...(body.reason !== undefined ? { reason: body.reason } : {}),
      });
    default:
      throw new ValidationError(`Unknown queued write kind '${String(body.kind)}'`);
  }
}
