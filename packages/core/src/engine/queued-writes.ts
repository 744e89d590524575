/**
 * create / update / delete / enrich with the fallback queue on (see
 * fallback.ts): each write gets a requestId before its first attempt (the
 * caller's, or a generated one), then the direct path's own checks and
 * request hash (write.ts `check*`), and runs through `queueable`, whose
 * direct attempt is the direct path on the already checked input.
 */
import {
  createId,
  type CheckedCreate,
  type CheckedEnrich,
  type CheckedRemove,
  type CheckedUpdate,
  type CreateArgs,
  type CreateResult,
  type DeleteArgs,
  type DeleteResult,
  type EnrichArgs,
  type EnrichResult,
  type UpdateArgs,
  type UpdateResult,
} from './write.js';
import type { EngineContext } from './context.js';
import { fallbackRequestId, queueable, type QueuedWrite } from './fallback.js';
import { checkRequestId, type WriteSetup } from './validate.js';
import * as write from './write.js';

/** The caller's requestId, or one generated for the queue (a queued write is always idempotent). */
const requestIdOf = (opts: { requestId?: unknown }): string => checkRequestId(opts.requestId) ?? fallbackRequestId();

/** What every queued body carries from the checked input: requestId, its hash, actor and reason. */
const common = (w: WriteSetup) => ({
  requestId: w.requestId!,
  requestHash: w.requestHash!,
  ...(w.actor !== undefined ? { actor: w.actor } : {}),
  ...(w.reason !== undefined ? { reason: w.reason } : {}),
});

export async function create(cx: EngineContext, ...[data, actor, reason, opts = {}]: CreateArgs): Promise<CreateResult | QueuedWrite> {
  const c: CheckedCreate = write.checkCreate(data, actor, reason, { ...opts, requestId: requestIdOf(opts) });
  return queueable(
    cx,
    {
      kind: 'create',
      id: createId(cx, c),
      ...(opts.id !== undefined ? { idGiven: true } : {}),
      ...common(c.w),
      data: c.input,
      ...(c.functionId !== undefined ? { functionId: c.functionId } : {}),
      ordered: opts.id !== undefined || opts.requestId !== undefined,
    },
    () => write.createChecked(cx, c),
  );
}

export async function update(cx: EngineContext, ...[id, data, expectedOv, actor, reason, opts = {}]: UpdateArgs): Promise<UpdateResult | QueuedWrite> {
  const c: CheckedUpdate = write.checkUpdate(id, data, expectedOv, actor, reason, requestIdOf(opts));
  return queueable(
    cx,
    { kind: 'update', id, ...common(c.w), data: c.input, ...(c.expectedOv !== undefined ? { expectedOv: c.expectedOv } : {}), ordered: true },
    () => write.updateChecked(cx, c),
  );
}

export async function remove(cx: EngineContext, ...[id, expectedOv, actor, reason, opts = {}]: DeleteArgs): Promise<DeleteResult | QueuedWrite> {
  const c: CheckedRemove = write.checkRemove(id, expectedOv, actor, reason, requestIdOf(opts));
  return queueable(cx, { kind: 'delete', id, ...common(c.w), ...(c.expectedOv !== undefined ? { expectedOv: c.expectedOv } : {}), ordered: true }, () =>
    write.removeChecked(cx, c),
  );
}

export async function enrich(cx: EngineContext, ...[id, patch, opts = {}]: EnrichArgs): Promise<EnrichResult | QueuedWrite> {
  const c: CheckedEnrich = write.checkEnrich(id, patch, { ...opts, requestId: requestIdOf(opts) });
  return queueable(
    cx,
    {
      kind: 'enrich',
      id,
      ...common(c.w),
      patches: c.patches,
      ...(c.expectedOv !== undefined ? { expectedOv: c.expectedOv } : {}),
      ...(c.functionId !== undefined ? { functionId: c.functionId } : {}),
      ordered: true,
    },
    () => write.enrichChecked(cx, c),
  );
}
