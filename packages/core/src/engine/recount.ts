/**
 * Counter totals rebuilt from the version index (`CollectionEngine.recountCounters()`): every
 * version with cv <= the collection's current cv, counted as a commit counts it (counting.ts:
 * field by op; rules on metaIndexed, payload-scoped rules of CREATE / UPDATE / ENRICH versions
 * on the stored payload). The counter store replaces the totals and from then on ignores
 * increments the recount covers, so totals are exact again after a crash between a commit and
 * its count. Records removed by hardDelete are no longer counted.
 */
import { ValidationError } from '../errors.js';
import type { CounterIncrement, CounterTotals } from '../ports.js';
import type { EngineContext } from './context.js';
import { incrementFor } from './counting.js';
import { listVersionsAll } from './manifest-read.js';
import { loadStored } from './render.js';
import { headPages } from './restore.js';

const PAGE = 500;

export async function recountCounters(cx: EngineContext): Promise<CounterTotals> {
  if (!cx.counters?.recountCounters) throw new ValidationError('recount needs a counter store that implements recountCounters');
  await cx.ensure();
  const upToCv = await cx.meta.currentCv(cx.ns);
  async function* events(): AsyncGenerator<CounterIncrement> {
    const pages = cx.meta.scanHeads ? cx.meta.scanHeads(cx.ns, { includeDeleted: true, batchSize: PAGE }) : headPages(cx, PAGE);
    for await (const heads of pages) {
      for (const h of heads) {
        let afterOv: number | undefined;
        for (;;) {
          const vs = await listVersionsAll(cx, h.itemId, { ...(afterOv !== undefined ? { afterOv } : {}), limit: PAGE });
          for (const v of vs) {
            if (v.cv > upToCv) continue;
            const withPayload = v.op === 'CREATE' || v.op === 'UPDATE' || v.op === 'ENRICH';
            yield await incrementFor(
              cx,
              v.op,
              v.metaIndexed,
              async () => {
                if (!withPayload) return undefined;
                const p = await loadStored(cx, v);
                delete p._system;
                return p;
              },
              v.cv,
            );
          }
          if (vs.length < PAGE) break;
          afterOv = vs[vs.length - 1]!.ov;
        }
      }
    }
  }
  const { dbName, collection, tenant } = cx.ns;
  return cx.counters.recountCounters({ dbName, collection, ...(tenant ? { tenant } : {}) }, { events: events(), upToCv });
}
