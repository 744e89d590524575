/** Counters: the factory gives a CounterStore exactly when told; creates, updates and deletes counted, with conditional rules. */
import { expect } from '../assert.js';
import type { BehaviourSuite } from './context.js';

export function counterTests(b: BehaviourSuite): void {
  const { t, stores, engine, opts } = b;
  t.describe('counters', () => {
    const wanted = opts.counters !== false;
    t.it(`the factory ${wanted ? 'gives' : 'gives no'} CounterStore (option counters: ${wanted})`, async () => {
      expect(typeof stores.counters?.getCounters).toBe(wanted ? 'function' : 'undefined');
    });

    t.itIf(wanted, 'no CounterStore given (option counters: false)', 'counters count creates, updates and deletes, with conditional rules', async () => {
      const counters = stores.counters!;
      const e = engine({
        map: { indexedProps: ['status'] },
        counterRules: [
          { name: 'active', when: { status: 'active' } },
          { name: 'gone', on: ['DELETE'], when: {} },
        ],
      });
      const a = await e.create({ status: 'active' });
      await e.create({ status: 'idle' });
      await e.update(a.id, { status: 'idle' });
      await e.delete(a.id);
      const totals = await counters.getCounters({ dbName: e.ns.dbName, collection: e.ns.collection });
      expect(totals).toMatchObject({ created: 2, updated: 1, deleted: 1 });
      const zeroFilled = (x: object | undefined) => ({ created: 0, updated: 0, deleted: 0, ...x });
      expect(zeroFilled(totals.rules.active)).toEqual({ created: 1, updated: 0, deleted: 0 });
      expect(zeroFilled(totals.rules.gone)).toEqual({ created: 0, updated: 0, deleted: 1 });
    });
  });
}
