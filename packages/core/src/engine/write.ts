/**
 * The write path: create, update, delete and enrich. Every input is checked
 * before the first I/O; payloads are written before the version names them.
 */
import { NotFoundError, OptimisticLockError, ValidationError } from '../errors.js';
import { assertId, assertOv, newId } from '../names.js';
import { build, pointerVersion } from './build.js';
import { commitBuilt, replay, writeLoop } from './commit.js';
import { derivedId, type EngineContext } from './context.js';
import { count } from './counting.js';
import { deepMerge } from './merge.js';
import { checkSize } from './payload.js';
import { loadStored } from './render.js';
import type { CreateOptions, EnrichOptions, WriteOptions } from './types.js';
import { checkData, optString, writeSetup } from './validate.js';

export async function create(
  cx: EngineContext,
  data: unknown,
  actorIn?: string,
  reasonIn?: string,
  opts: CreateOptions = {},
): Promise<{ id: string; ov: 0; cv: number; createdAt: Date }> {
  const input = checkData(data, 'data', typeof opts.id === 'string' ? opts.id : undefined, false);
  const w = writeSetup({ actor: actorIn, reason: reasonIn, requestId: opts.requestId }, () => ({ op: 'CREATE', id: opts.id, data: input }));
  const functionId = optString(opts.functionId, 'functionId');
  if (opts.id !== undefined) assertId(opts.id);
  const id = opts.id ?? (w.requestId ? derivedId(cx, 'req', w.requestId) : newId());
  await cx.ensure();
  if (w.requestId) {
    const prior = await replay(cx, w.requestId, w.requestHash!);
    if (prior) return { id: prior.itemId, ov: 0, cv: prior.cv, createdAt: new Date(prior.at) };
  }
  const at = cx.clock();
  const built = build(cx, { id, ov: 0, op: 'CREATE', at, createdAt: at, doc: input, ...w, functionIds: functionId ? [functionId] : undefined });
  try {
    const { cv } = await commitBuilt(cx, built, null, at);
    await count(cx, 'CREATE', built, input, cv);
    return { id, ov: 0, cv, createdAt: new Date(at) };
  } catch (e) {
    if (e instanceof OptimisticLockError && w.requestId) {
      const prior = await replay(cx, w.requestId, w.requestHash!);
      if (prior) return { id: prior.itemId, ov: 0, cv: prior.cv, createdAt: new Date(prior.at) };
    }
    if (e instanceof OptimisticLockError) throw new OptimisticLockError(`Record '${id}' already exists`, { id });
    throw e;
  }
}

export async function update(
  cx: EngineContext,
  id: string,
  data: unknown,
  expectedOv?: number,
  actor?: string,
  reason?: string,
  opts: WriteOptions = {},
): Promise<{ id: string; ov: number; cv: number; updatedAt: Date }> {
  assertId(id);
  const input = checkData(data, 'data', id);
  if (expectedOv !== undefined && expectedOv !== null) assertOv(expectedOv);
  const w = writeSetup({ actor, reason, requestId: opts.requestId }, () => ({ op: 'UPDATE', id, expectedOv, data: input }));
  const r = await writeLoop(
    cx,
    id,
    expectedOv ?? undefined,
    w.requestId,
    w.requestHash,
    async (head, at) => {
      if (head.deleted) throw new NotFoundError(`Record '${id}' not found`, { id });
      return build(cx, {
        id,
        ov: head.ov + 1,
        op: 'UPDATE',
        at,
        createdAt: head.createdAt,
        doc: input,
        ...w,
        functionIds: head.functionIds,
        previousBlobs: head.blobs,
      });
    },
    'UPDATE',
    input,
  );
  return { id, ov: r.ov, cv: r.cv, updatedAt: new Date(r.at) };
}

export async function remove(
  cx: EngineContext,
  id: string,
  expectedOv?: number,
  actor?: string,
  reason?: string,
  opts: WriteOptions = {},
): Promise<{ id: string; ov: number; cv: number; deletedAt: Date }> {
  assertId(id);
  if (expectedOv !== undefined && expectedOv !== null) assertOv(expectedOv);
  const w = writeSetup({ actor, reason, requestId: opts.requestId }, () => ({ op: 'DELETE', id, expectedOv }));
  const r = await writeLoop(
    cx,
    id,
    expectedOv ?? undefined,
    w.requestId,
    w.requestHash,
    async (head, at) => {
      if (head.deleted) throw new NotFoundError(`Record '${id}' not found`, { id });
      return pointerVersion(head, head, 'DELETE', at, true, w);
    },
    'DELETE',
  );
  return { id, ov: r.ov, cv: r.cv, deletedAt: new Date(r.at) };
}

export async function enrich(cx: EngineContext, id: string, patch: unknown, opts: EnrichOptions = {}): Promise<{ id: string; ov: number; cv: number }> {
  assertId(id);
  const patches = Array.isArray(patch) ? patch : [patch];
  if (patches.length === 0) throw new ValidationError('enrich needs at least one patch');
  const checked = patches.map((p, i) => checkData(p, `patch[${i}]`, id));
  if (opts.expectedOv !== undefined) assertOv(opts.expectedOv);
  const functionId = optString(opts.functionId, 'functionId');
  const w = writeSetup(opts, () => ({ op: 'ENRICH', id, expectedOv: opts.expectedOv, patches: checked, functionId }));
  let merged: Record<string, unknown> = {};
  const r = await writeLoop(
    cx,
    id,
    opts.expectedOv,
    w.requestId,
    w.requestHash,
    async (head, at) => {
      if (head.deleted) throw new NotFoundError(`Record '${id}' not found`, { id });
      const current = await loadStored(cx, head);
      delete current._system;
      merged = checked.reduce((acc, p) => deepMerge(acc, p), current);
      checkSize(Buffer.byteLength(JSON.stringify(merged)), cx.maxBytes);
      const functionIds = functionId ? Array.from(new Set([...(head.functionIds ?? []), functionId])) : head.functionIds;
      return build(cx, { id, ov: head.ov + 1, op: 'ENRICH', at, createdAt: head.createdAt, doc: merged, ...w, functionIds, previousBlobs: head.blobs });
    },
    'UPDATE',
    () => merged,
  );
  return { id, ov: r.ov, cv: r.cv };
}

/**
 * Writes `input` as the next version of a deleted record (smartInsert revives the record
 * holding its derived id). A record that is live again by then is a lost race.
 */
export async function revive(
  cx: EngineContext,
  id: string,
  input: Record<string, unknown>,
  expectedOv: number,
  who: { actor?: string | undefined; reason?: string | undefined; functionId?: string | undefined },
): Promise<{ ov: number; cv: number }> {
  const r = await writeLoop(
    cx,
    id,
    expectedOv,
    undefined,
    undefined,
    async (head, at) => {
      if (!head.deleted) throw new OptimisticLockError(`Record '${id}' was revived by another writer`, { id });
      const functionIds = who.functionId ? [who.functionId] : undefined;
      return build(cx, { id, ov: head.ov + 1, op: 'UPDATE', at, createdAt: head.createdAt, doc: input, actor: who.actor, reason: who.reason, functionIds });
    },
    'UPDATE',
    input,
  );
  return { ov: r.ov, cv: r.cv };
}
