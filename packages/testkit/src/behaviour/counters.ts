/**
 * Counters: the factory gives a CounterStore exactly when told; creates, updates and deletes
 * counted, with conditional rules; totals exact again after counts lost between commits and
 * their increments (an injected failure), by a recount from the version index.
 */
import type { CounterStore } from '@chronos-db/core';
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

    const recount = wanted && opts.recount !== false;
    t.itIf(
      recount,
      wanted ? 'the CounterStore has no recountCounters (option recount: false)' : 'no CounterStore given (option counters: false)',
      'a count lost between commit and increment (injected failure) is restored exactly by recount; a second recount changes nothing',
      async () => {
        const counters = stores.counters!;
        let calls = 0;
        // the real counter store, whose every third increment fails after the commit it counts
        const flaky: CounterStore = {
          incrementCounters: async (s, inc) => {
            if (++calls % 3 === 0) throw new Error('injected: process died between commit and count');
            return counters.incrementCounters(s, inc);
          },
          getCounters: (s) => counters.getCounters(s),
          resetCounters: (s) => counters.resetCounters(s),
          recountCounters: (s, src) => counters.recountCounters!(s, src),
        };
        const e = engine({
          counters: flaky,
          map: { indexedProps: ['amount'] },
          counterRules: [
            { name: 'big', when: { amount: { $gte: 100 } } },
            { name: 'vipPayload', scope: 'payload', on: ['CREATE'], when: { vip: true } },
          ],
        });
        const scope = { dbName: e.ns.dbName, collection: e.ns.collection };
        const zeroFilled = (x: object | undefined) => ({ created: 0, updated: 0, deleted: 0, ...x });
        const norm = (tt: Awaited<ReturnType<CounterStore['getCounters']>>) => ({
          ...tt,
          rules: Object.fromEntries(Object.entries(tt.rules).map(([k, v]) => [k, zeroFilled(v)])),
        });
        const ids: string[] = [];
        for (let i = 0; i < 8; i++) ids.push((await e.create({ amount: i * 30, vip: i % 2 === 0 })).id);
        for (const id of ids.slice(0, 5)) await e.update(id, { amount: 500, vip: false });
        for (const id of ids.slice(0, 2)) await e.delete(id);
        const want = {
          created: 8,
          updated: 5,
          deleted: 2,
          rules: { big: { created: 4, updated: 5, deleted: 2 }, vipPayload: { created: 4, updated: 0, deleted: 0 } },
        };
        const before = await counters.getCounters(scope);
        expect(before.created + before.updated + before.deleted).toBe(15 - 5); // 5 of 15 counts were lost
        expect(norm(await e.recountCounters())).toEqual(want);
        expect(norm(await counters.getCounters(scope))).toEqual(want);
        expect(norm(await e.recountCounters())).toEqual(want);
        // an increment of a version the recount covers adds nothing; a later version adds
        await counters.incrementCounters(scope, { field: 'created', rules: ['big'], cv: 1 });
        calls = 0;
        await e.create({ amount: 1000 });
        expect(norm(await counters.getCounters(scope))).toEqual({ ...want, created: 9, rules: { ...want.rules, big: { ...want.rules.big, created: 5 } } });
      },
    );
  });
}
