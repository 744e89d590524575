/**
 * create / update / delete / enrich with the fallback queue on (see
 * fallback.ts): each write gets a requestId before its first attempt (the
 * caller's, or a generated one), the same checks and request hash as the
 * direct path, and runs through `queueable`.
 */
import { assertId, assertOv } from '../names.js';
import { derivedId, type EngineContext } from './context.js';
import { fallbackRequestId, queueable, type QueuedWrite } from './fallback.js';
import type { CreateOptions, EnrichOptions, WriteOptions } from './types.js';
import { checkData, checkRequestId, optString, writeSetup } from './validate.js';
import { ValidationError } from '../errors.js';
import * as write from './write.js';

type Who = { actor?: string | undefined; reason?: string | undefined };
const who = (w: { actor: string | undefined; reason: string | undefined }): Who => ({
  ...(w.actor !== undefined ? { actor: w.actor } : {}),
  ...(w.reason !== undefined ? { reason: w.reason } : {}),
});

export async function create(
  cx: EngineContext,
  data: unknown,
  actor?: string,
  reason?: string,
  opts: CreateOptions = {},
): Promise<Awaited<ReturnType<typeof write.create>> | QueuedWrite> {
  const input = checkData(data);
  const requestId = checkRequestId(opts.requestId) ?? fallbackRequestId();
  const w = writeSetup({ actor, reason, requestId }, () => ({ op: 'CREATE', id: opts.id, data: input }));
  const functionId = optString(opts.functionId, 'functionId');
  if (opts.id !== undefined) assertId(opts.id);
  const id = opts.id ?? derivedId(cx, 'req', requestId);
  return queueable(
    cx,
    {
      kind: 'create',
      id,
      ...(opts.id !== undefined ? { idGiven: true } : {}),
      requestId,
      requestHash: w.requestHash!,
      ...who(w),
      data: input,
      ...(functionId !== undefined ? { functionId } : {}),
      ordered: opts.id !== undefined || opts.requestId !== undefined,
    },
    () => write.create(cx, data, actor, reason, { ...opts, requestId }),
  );
}

export async function update(
  cx: EngineContext,
  id: string,
  data: unknown,
  expectedOv?: number,
  actor?: string,
  reason?: string,
  opts: WriteOptions = {},
): Promise<Awaited<ReturnType<typeof write.update>> | QueuedWrite> {
  assertId(id);
  const input = checkData(data);
  if (expectedOv !== undefined && expectedOv !== null) assertOv(expectedOv);
  const requestId = checkRequestId(opts.requestId) ?? fallbackRequestId();
  const w = writeSetup({ actor, reason, requestId }, () => ({ op: 'UPDATE', id, expectedOv, data: input }));
  return queueable(
    cx,
    {
      kind: 'update',
      id,
      requestId,
      requestHash: w.requestHash!,
      ...who(w),
      data: input,
      ...(typeof expectedOv === 'number' ? { expectedOv } : {}),
      ordered: true,
    },
    () => write.update(cx, id, data, expectedOv, actor, reason, { ...opts, requestId }),
  );
}

export async function remove(
  cx: EngineContext,
  id: string,
  expectedOv?: number,
  actor?: string,
  reason?: string,
  opts: WriteOptions = {},
): Promise<Awaited<ReturnType<typeof write.remove>> | QueuedWrite> {
  assertId(id);
  if (expectedOv !== undefined && expectedOv !== null) assertOv(expectedOv);
  const requestId = checkRequestId(opts.requestId) ?? fallbackRequestId();
  const w = writeSetup({ actor, reason, requestId }, () => ({ op: 'DELETE', id, expectedOv }));
  return queueable(
    cx,
    {
      kind: 'delete',
      id,
      requestId,
      requestHash: w.requestHash!,
      ...who(w),
      ...(typeof expectedOv === 'number' ? { expectedOv } : {}),
      ordered: true,
    },
    () => write.remove(cx, id, expectedOv, actor, reason, { ...opts, requestId }),
  );
}

export async function enrich(
  cx: EngineContext,
  id: string,
  patch: unknown,
  opts: EnrichOptions = {},
): Promise<Awaited<ReturnType<typeof write.enrich>> | QueuedWrite> {
  assertId(id);
  const patches = Array.isArray(patch) ? patch : [patch];
  if (patches.length === 0) throw new ValidationError('enrich needs at least one patch');
  const checked = patches.map((p, i) => checkData(p, `patch[${i}]`));
  if (opts.expectedOv !== undefined) assertOv(opts.expectedOv);
  const functionId = optString(opts.functionId, 'functionId');
  const requestId = checkRequestId(opts.requestId) ?? fallbackRequestId();
  const w = writeSetup({ ...opts, requestId }, () => ({ op: 'ENRICH', id, expectedOv: opts.expectedOv, patches: checked, functionId }));
  return queueable(
    cx,
    {
      kind: 'enrich',
      id,
      requestId,
      requestHash: w.requestHash!,
      ...who(w),
      patches: checked,
      ...(opts.expectedOv !== undefined ? { expectedOv: opts.expectedOv } : {}),
      ...(functionId !== undefined ? { functionId } : {}),
      ordered: true,
    },
    () => write.enrich(cx, id, patch, { ...opts, requestId }),
  );
}
