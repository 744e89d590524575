/**
 * smartInsert: merge into the live record whose unique keys equal the given
 * values, or create it.
 *
 * Semantics (also in the package README):
 * - Every unique key needs a scalar value: a null, undefined or missing one is a
 *   ValidationError (a null filter would also match records that lack the key).
 * - A created record gets an id derived from the keys (`uk-<hash>`), so concurrent
 *   callers with the same keys converge on one record: exactly one of them creates
 *   it (`created: true`), the others merge into it.
 * - When the record holding that id has since had its key fields changed, it is no
 *   longer "the record with these keys": the next id of a deterministic chain
 *   (`uk-<hash of keys + 1>`, `+ 2`, ...) is used, so smartInsert creates a new record
 *   (concurrent callers still converge) instead of retrying forever. A deleted record
 *   on the chain is revived: its next version holds the new data (`created: true`,
 *   same id, history kept).
 * - Retries happen only after a lost race (another writer made progress) and are
 *   bounded; nothing loops on a state that cannot change.
 */
import { NotFoundError, OptimisticLockError, ValidationError } from '../errors.js';
import { matchFilter, type FilterNode } from '../filter.js';
import { assertPropPath } from '../names.js';
import { backoff, compileUserFilter, derivedId, MAX_RETRIES, type EngineContext } from './context.js';
import { canonicalJson } from './payload.js';
import type { SmartInsertOptions } from './types.js';
import { checkData, optString } from './validate.js';
import { create, enrich, revive } from './write.js';

/** Ids a key set may walk through (each step means a record on the chain had its keys changed). */
export const MAX_KEY_GENERATIONS = 64;

type Result = { id: string; ov: number; cv: number; created: boolean };

export async function smartInsert(cx: EngineContext, data: unknown, opts: SmartInsertOptions): Promise<Result> {
  const input = checkData(data);
  if (!opts || !Array.isArray(opts.uniqueKeys) || opts.uniqueKeys.length === 0)
    throw new ValidationError('smartInsert needs uniqueKeys: a non-empty array of property names');
  const filter: Record<string, unknown> = {};
  for (const k of opts.uniqueKeys) {
    assertPropPath(k);
    const v = input[k];
    if (v === undefined || v === null) {
      throw new ValidationError(`smartInsert: data.${k} is ${v === null ? 'null' : 'missing'}, but it is a unique key: every unique key needs a value`, {
        key: k,
      });
    }
    if (typeof v === 'object') throw new ValidationError(`smartInsert: data.${k} must be a scalar value (it is a unique key)`, { key: k });
    filter[k] = v;
  }
  const compiled = compileUserFilter(cx, filter);
  const actor = optString(opts.actor, 'actor');
  const reason = optString(opts.reason, 'reason');
  const functionId = optString(opts.functionId, 'functionId');
  const who = { ...(functionId ? { functionId } : {}), ...(actor ? { actor } : {}), ...(reason ? { reason } : {}) };
  const keyText = canonicalJson(filter);
  await cx.ensure();
  for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
    try {
      const found = await cx.meta.queryHeads(cx.ns, { filter: compiled, limit: 1 });
      if (found[0]) return { ...(await enrich(cx, found[0].itemId, input, who)), created: false };
      return await onChain(cx, input, compiled, keyText, who);
    } catch (e) {
      // A lost race: someone else created, revived, changed or deleted the record meanwhile.
      if (!(e instanceof OptimisticLockError || e instanceof NotFoundError) || e instanceof KeyChainExhausted) throw e;
      await backoff(attempt);
    }
  }
  throw new OptimisticLockError('smartInsert lost too many races to concurrent writers; try again');
}

class KeyChainExhausted extends OptimisticLockError {}

/** Walks the chain of derived ids until one is free, deleted, or held by a record with these keys. */
async function onChain(
  cx: EngineContext,
  input: Record<string, unknown>,
  compiled: FilterNode | undefined,
  keyText: string,
  who: { functionId?: string; actor?: string; reason?: string },
): Promise<Result> {
  let first = '';
  for (let gen = 0; gen < MAX_KEY_GENERATIONS; gen++) {
    const id = derivedId(cx, 'uk', gen === 0 ? keyText : `${keyText}\u0000${gen}`);
    if (gen === 0) first = id;
    const head = await cx.meta.getHead(cx.ns, id);
    if (!head) {
      const r = await create(cx, input, who.actor, who.reason, { id, ...(who.functionId ? { functionId: who.functionId } : {}) });
      return { id, ov: r.ov, cv: r.cv, created: true };
    }
    if (head.deleted) {
      const r = await revive(cx, id, input, head.ov, who);
      return { id, ov: r.ov, cv: r.cv, created: true };
    }
    if (matchFilter(compiled, head.metaIndexed)) return { ...(await enrich(cx, id, input, who)), created: false };
    // This id is held by a record whose keys changed since: try the next id of the chain.
  }
  throw new KeyChainExhausted(
    `smartInsert: the ${MAX_KEY_GENERATIONS} ids derived from these unique keys (from '${first}') are all held by records whose keys were changed since; create this record with create()`,
    { id: first },
  );
}
