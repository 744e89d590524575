/** smartInsert: create the record identified by its unique keys, or merge into it. */
import { NotFoundError, OptimisticLockError, ValidationError } from '../errors.js';
import { assertPropPath } from '../names.js';
import { backoff, compileUserFilter, derivedId, MAX_RETRIES, type EngineContext } from './context.js';
import { canonicalJson } from './payload.js';
import type { SmartInsertOptions } from './types.js';
import { checkData } from './validate.js';
import { create, enrich, update } from './write.js';

export async function smartInsert(cx: EngineContext, data: unknown, opts: SmartInsertOptions): Promise<{ id: string; ov: number; cv: number; created: boolean }> {
  const input = checkData(data);
  if (!opts || !Array.isArray(opts.uniqueKeys) || opts.uniqueKeys.length === 0) throw new ValidationError('smartInsert needs uniqueKeys: a non-empty array of property names');
  const filter: Record<string, unknown> = {};
  for (const k of opts.uniqueKeys) {
    assertPropPath(k);
    const v = input[k];
    if (v === undefined || (v !== null && typeof v === 'object')) throw new ValidationError(`smartInsert: data.${k} must be a scalar value (it is a unique key)`);
    filter[k] = v;
  }
  const compiled = compileUserFilter(cx, filter);
  const { actor, reason, functionId } = opts;
  const id = derivedId(cx, 'uk', canonicalJson(filter));
  for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
    await cx.ensure();
    const found = await cx.meta.queryHeads(cx.ns, { filter: compiled, limit: 1 });
    const match = found[0];
    if (match) {
      try {
        const r = await enrich(cx, match.itemId, input, { ...(functionId ? { functionId } : {}), ...(actor ? { actor } : {}), ...(reason ? { reason } : {}) });
        return { ...r, created: false };
      } catch (e) {
        if (e instanceof OptimisticLockError || e instanceof NotFoundError) continue;
        throw e;
      }
    }
    const head = await cx.meta.getHead(cx.ns, id);
    try {
      if (head && head.deleted) {
        const r = await update(cx, id, input, head.ov, actor, reason);
        return { id, ov: r.ov, cv: r.cv, created: true };
      }
      if (head) continue; // the deterministic record exists but its keys changed: query again
      const r = await create(cx, input, actor, reason, { id, ...(functionId ? { functionId } : {}) });
      return { id, ov: r.ov, cv: r.cv, created: true };
    } catch (e) {
      if (e instanceof OptimisticLockError || e instanceof NotFoundError) {
        await backoff(attempt);
        continue;
      }
      throw e;
    }
  }
  throw new OptimisticLockError('smartInsert lost too many races; try again');
}
