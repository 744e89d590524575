/** Counter totals after a commit: which field, which rules (compiled once in the context). */
import { matchFilter } from '../filter.js';
import type { Op } from '../ports.js';
import type { Built } from './build.js';
import type { EngineContext } from './context.js';

/** Counts one committed version. A counter failure is logged; the write itself stands. */
export async function count(cx: EngineContext, op: Op, b: Built, payload?: Record<string, unknown>): Promise<void> {
  if (!cx.counters) return;
  const field = op === 'CREATE' ? 'created' : op === 'DELETE' ? 'deleted' : 'updated';
  const ruleOp = op === 'CREATE' ? 'CREATE' : op === 'DELETE' ? 'DELETE' : 'UPDATE';
  const rules: string[] = [];
  for (const r of cx.rules) {
    if (r.on && !r.on.includes(ruleOp)) continue;
    const subject = r.scope === 'payload' ? payload ?? b.version.metaIndexed : b.version.metaIndexed;
    if (matchFilter(r.when, subject)) rules.push(r.name);
  }
  const { dbName, collection, tenant } = cx.ns;
  try {
    await cx.counters.incrementCounters({ dbName, collection, ...(tenant ? { tenant } : {}) }, { field, rules });
  } catch (e) {
    cx.log.warn('counter update failed (the write itself succeeded)', { error: (e as Error).message });
  }
}
