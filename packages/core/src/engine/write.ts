/**
 * The write path: create, update, delete and enrich. Every input is checked
 * before the first I/O; payloads are written before the version names them.
 */
import { OptimisticLockError, ValidationError } from '../errors.js';
import type { HeadDoc } from '../ports.js';
import { assertId, assertOv, newId } from '../names.js';
import { build, pointerVersion, type Built } from './build.js';
import { assertLive, commitBuilt, replay, writeLoop } from './commit.js';
import { derivedId, type EngineContext } from './context.js';
import { count } from './counting.js';
import { deepMerge } from './merge.js';
import { checkSize } from './payload.js';
import { loadStored } from './render.js';
import type { CreateOptions, EnrichOptions, WriteOptions } from './types.js';
import { checkData, optString, writeSetup, type WriteSetup } from './validate.js';

/*
 * What create, update, delete and enrich take after the context, and what they give back:
 * declared once for the engine's front (collection.ts), the direct path (here) and the
 * queued path (queued-writes.ts).
 */
export type CreateArgs = [data: unknown, actor?: string, reason?: string, opts?: CreateOptions];
export type UpdateArgs = [id: string, data: unknown, expectedOv?: number, actor?: string, reason?: string, opts?: WriteOptions];
export type DeleteArgs = [id: string, expectedOv?: number, actor?: string, reason?: string, opts?: WriteOptions];
export type EnrichArgs = [id: string, patch: unknown, opts?: EnrichOptions];
export type CreateResult = { id: string; ov: 0; cv: number; createdAt: Date };
export type UpdateResult = { id: string; ov: number; cv: number; updatedAt: Date };
export type DeleteResult = { id: string; ov: number; cv: number; deletedAt: Date };
export type EnrichResult = { id: string; ov: number; cv: number };

/** A create's input, checked before any I/O: what the direct and the queued path (queued-writes.ts) both start from. */
export interface CheckedCreate {
  input: Record<string, unknown>;
  w: WriteSetup;
  functionId: string | undefined;
  /** The caller's `{ id }`, when given. */
  idGiven: string | undefined;
}

export function checkCreate(data: unknown, actor: unknown, reason: unknown, opts: CreateOptions): CheckedCreate {
  const input = checkData(data, 'data', typeof opts.id === 'string' ? opts.id : undefined, false);
  const w = writeSetup({ actor, reason, requestId: opts.requestId }, () => ({ op: 'CREATE', id: opts.id, data: input }));
  const functionId = optString(opts.functionId, 'functionId');
  if (opts.id !== undefined) assertId(opts.id);
  return { input, w, functionId, idGiven: opts.id };
}

/** The id a checked create writes: the caller's, else derived from its requestId, else a new one. */
export const createId = (cx: EngineContext, c: CheckedCreate): string => c.idGiven ?? (c.w.requestId ? derivedId(cx, 'req', c.w.requestId) : newId());

export async function create(cx: EngineContext, ...[data, actor, reason, opts = {}]: CreateArgs): Promise<CreateResult> {
  return createChecked(cx, checkCreate(data, actor, reason, opts));
}

export async function createChecked(cx: EngineContext, c: CheckedCreate): Promise<CreateResult> {
  const { input, w, functionId } = c;
  const id = createId(cx, c);
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

export async function update(cx: EngineContext, ...[id, data, expectedOv, actor, reason, opts = {}]: UpdateArgs): Promise<UpdateResult> {
  return updateChecked(cx, checkUpdate(id, data, expectedOv, actor, reason, opts.requestId));
}

/** An update's input, checked before any I/O (the direct and the queued path share it). */
export interface CheckedUpdate {
  id: string;
  input: Record<string, unknown>;
  expectedOv: number | undefined;
  w: WriteSetup;
}

export function checkUpdate(id: string, data: unknown, expectedOv: unknown, actor: unknown, reason: unknown, requestId: unknown): CheckedUpdate {
  assertId(id);
  const input = checkData(data, 'data', id);
  if (expectedOv !== undefined && expectedOv !== null) assertOv(expectedOv);
  const w = writeSetup({ actor, reason, requestId }, () => ({ op: 'UPDATE', id, expectedOv, data: input }));
  return { id, input, expectedOv: (expectedOv ?? undefined) as number | undefined, w };
}

/** A writeLoop build step for a live record (update, delete, enrich): a deleted one is not found. */
const onLive =
  (buildOn: (head: HeadDoc, at: number) => Built | Promise<Built>) =>
  async (head: HeadDoc, at: number): Promise<Built> => {
    assertLive(head);
    return buildOn(head, at);
  };

/** The version an update writes on `head`: `doc` as the whole record (updateChecked, and updateMany in bulk.ts). */
export function buildUpdate(cx: EngineContext, head: HeadDoc, at: number, doc: Record<string, unknown>, w: WriteSetup): Built {
  return build(cx, {
    id: head.itemId,
    ov: head.ov + 1,
    op: 'UPDATE',
    at,
    createdAt: head.createdAt,
    doc,
    ...w,
    functionIds: head.functionIds,
    previousBlobs: head.blobs,
  });
}

export async function updateChecked(cx: EngineContext, c: CheckedUpdate): Promise<UpdateResult> {
  const { id, input, expectedOv, w } = c;
  const r = await writeLoop(
    cx,
    id,
    expectedOv,
    w,
    onLive((head, at) => buildUpdate(cx, head, at, input, w)),
    'UPDATE',
    input,
  );
  return { id, ov: r.ov, cv: r.cv, updatedAt: new Date(r.at) };
}

export async function remove(cx: EngineContext, ...[id, expectedOv, actor, reason, opts = {}]: DeleteArgs): Promise<DeleteResult> {
  return removeChecked(cx, checkRemove(id, expectedOv, actor, reason, opts.requestId));
}

/** A delete's input, checked before any I/O (the direct and the queued path share it). */
export interface CheckedRemove {
  id: string;
  expectedOv: number | undefined;
  w: WriteSetup;
}

export function checkRemove(id: string, expectedOv: unknown, actor: unknown, reason: unknown, requestId: unknown): CheckedRemove {
  assertId(id);
  if (expectedOv !== undefined && expectedOv !== null) assertOv(expectedOv);
  const w = writeSetup({ actor, reason, requestId }, () => ({ op: 'DELETE', id, expectedOv }));
  return { id, expectedOv: (expectedOv ?? undefined) as number | undefined, w };
}

export async function removeChecked(cx: EngineContext, c: CheckedRemove): Promise<DeleteResult> {
  const { id, expectedOv, w } = c;
  const r = await writeLoop(
    cx,
    id,
    expectedOv,
    w,
    onLive((head, at) => pointerVersion(head, head, 'DELETE', at, true, w)),
    'DELETE',
  );
  return { id, ov: r.ov, cv: r.cv, deletedAt: new Date(r.at) };
}

export async function enrich(cx: EngineContext, ...[id, patch, opts = {}]: EnrichArgs): Promise<EnrichResult> {
  return enrichChecked(cx, checkEnrich(id, patch, opts));
}

/** An enrich's input, checked before any I/O (the direct and the queued path share it). */
export interface CheckedEnrich {
  id: string;
  patches: Record<string, unknown>[];
  expectedOv: number | undefined;
  functionId: string | undefined;
  w: WriteSetup;
}

export function checkEnrich(id: string, patch: unknown, opts: EnrichOptions): CheckedEnrich {
  assertId(id);
  const list = Array.isArray(patch) ? patch : [patch];
  if (list.length === 0) throw new ValidationError('enrich needs at least one patch');
  const patches = list.map((p, i) => checkData(p, `patch[${i}]`, id));
  if (opts.expectedOv !== undefined) assertOv(opts.expectedOv);
  const functionId = optString(opts.functionId, 'functionId');
  const w = writeSetup(opts, () => ({ op: 'ENRICH', id, expectedOv: opts.expectedOv, patches, functionId }));
  return { id, patches, expectedOv: opts.expectedOv, functionId, w };
}

export async function enrichChecked(cx: EngineContext, c: CheckedEnrich): Promise<EnrichResult> {
  const { id, patches: checked, functionId, w } = c;
  let merged: Record<string, unknown> = {};
  const r = await writeLoop(
    cx,
    id,
    c.expectedOv,
    w,
    onLive(async (head, at) => {
      const current = await loadStored(cx, head);
      delete current._system;
      merged = checked.reduce((acc, p) => deepMerge(acc, p), current);
      checkSize(Buffer.byteLength(JSON.stringify(merged)), cx.maxBytes);
      const functionIds = functionId ? Array.from(new Set([...(head.functionIds ?? []), functionId])) : head.functionIds;
      return build(cx, { id, ov: head.ov + 1, op: 'ENRICH', at, createdAt: head.createdAt, doc: merged, ...w, functionIds, previousBlobs: head.blobs });
    }),
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
    {},
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
