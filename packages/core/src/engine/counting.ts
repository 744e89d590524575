/** Counter totals after a commit: which field, which rules (compiled once in the context). */
import { matchFilter } from '../filter.js';
import type { CounterIncrement, Op } from '../ports.js';
import type { Built } from './build.js';
import type { EngineContext } from './context.js';

/**
 * The increment of one committed version (`cv`): field by op, rules matched on metaIndexed or,
 * for payload-scoped rules, on `payload()` (asked at most once; missing: metaIndexed).
 */
export async function incrementFor(
  cx: EngineContext,
  op: Op,
  metaIndexed: Record<string, unknown>,
  payload: () => Promise<Record<string, unknown> | undefined> | Record<string, unknown> | undefined,
  cv: number,
): Promise<CounterIncrement> {
  const field = op === 'CREATE' ? 'created' : op === 'DELETE' ? 'deleted' : 'updated';
  const ruleOp = op === 'CREATE' ? 'CREATE' : op === 'DELETE' ? 'DELETE' : 'UPDATE';
  const rules: string[] = [];
  let loaded: { p: Record<string, unknown> | undefined } | undefined;
  for (const r of cx.rules) {
    if (r.on && !r.on.includes(ruleOp)) continue;
    if (r.scope === 'payload' && !loaded) loaded = { p: await payload() };
    const subject = r.scope === 'payload' ? (loaded!.p ?? metaIndexed) : metaIndexed;
    if (matchFilter(r.when, subject)) rules.push(r.name);
  }
  return { field, rules, cv };
}

/** Counts one committed version (its `cv`: counted once). A counter failure is logged; the write itself stands. */
export async function count(cx: EngineContext, op: Op, b: Built, payload: Record<string, unknown> | undefined, cv: number): Promise<void> {
  if (!cx.counters) return;
  const inc = await incrementFor(cx, op, b.version.metaIndexed, () => payload, cv);
  const { dbName, collection, tenant } = cx.ns;
  try {
    await cx.counters.incrementCounters({ dbName, collection, ...(tenant ? { tenant } : {}) }, inc);
  } catch (e) {
    cx.log.warn('counter update failed (the write itself succeeded)', { error: (e as Error).message });
  }
}
