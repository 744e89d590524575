/**
 * The CounterStore contract (core/src/ports.ts), executable. Every test uses
 * scopes of its own (random dbName / collection / tenant).
 */
import type { CounterIncrement, CounterScope, CounterStore, CounterTotals, CounterTriple } from '@chronos-db/core';
import { expect } from '../assert.js';
import { registrar, type TestRunner } from '../runner.js';
import { checkSkipList, expectCode, freshNs, rand, setUpStore, VALIDATION, type StoreFactory, type SuiteOptions } from './helpers.js';

export type CounterStoreFactory = StoreFactory<CounterStore>;

export interface CounterStoreOptions extends SuiteOptions {
  /** Whether the store offers the optional `recountCounters` (checked; its test skips when false). Default false. */
  recount?: boolean;
}

/** Totals with every rule triple filled with zeros, so adapters may omit untouched fields. */
function norm(t: CounterTotals): { created: number; updated: number; deleted: number; rules: Record<string, Required<CounterTriple>> } {
  const rules: Record<string, Required<CounterTriple>> = {};
  for (const [k, v] of Object.entries(t.rules ?? {})) rules[k] = { created: v.created ?? 0, updated: v.updated ?? 0, deleted: v.deleted ?? 0 };
  return { created: t.created, updated: t.updated, deleted: t.deleted, rules };
}

const ZERO = { created: 0, updated: 0, deleted: 0, rules: {} };

export function runCounterStoreConformance(runner: TestRunner, name: string, factory: CounterStoreFactory, opts: CounterStoreOptions = {}): void {
  const suite = registrar(runner, opts.skip);
  const it = suite.it;

  suite.describe(`CounterStore conformance: ${name}`, () => {
    const store = setUpStore(suite, 'CounterStore', factory);

    const scope = (o: Parameters<typeof freshNs>[0] = {}): CounterScope => freshNs(o);

    it('a fresh scope has zero totals and no rules', async () => {
      expect(norm(await store.getCounters(scope()))).toEqual(ZERO);
      expect(norm(await store.getCounters(scope({ tenant: true })))).toEqual(ZERO);
    });

    it('increments totals and rule counters', async () => {
      const s = scope();
      await store.incrementCounters(s, { field: 'created', rules: [] });
      await store.incrementCounters(s, { field: 'created', rules: ['big'] });
      await store.incrementCounters(s, { field: 'created', rules: ['big', 'vip'] });
      await store.incrementCounters(s, { field: 'updated', rules: ['big'] });
      await store.incrementCounters(s, { field: 'updated', rules: [] });
      await store.incrementCounters(s, { field: 'deleted', rules: ['vip'] });
      expect(norm(await store.getCounters(s))).toEqual({
        created: 3,
        updated: 2,
        deleted: 1,
        rules: {
          big: { created: 2, updated: 1, deleted: 0 },
          vip: { created: 1, updated: 0, deleted: 1 },
        },
      });
    });

    it('loses no increment under concurrency', async () => {
      const s = scope();
      await Promise.all(
        Array.from({ length: 24 }, (_, i) => store.incrementCounters(s, { field: i % 3 === 0 ? 'deleted' : 'created', rules: i % 2 === 0 ? ['even'] : [] })),
      );
      const t = norm(await store.getCounters(s));
      expect(t.created).toBe(16);
      expect(t.deleted).toBe(8);
      expect(t.updated).toBe(0);
      expect(t.rules.even).toEqual({ created: 8, updated: 0, deleted: 4 });
    });

    it('keeps scopes isolated (collection, tenant, dbName)', async () => {
      const dbName = `ck_${rand(10)}`;
      const collection = `c${rand(8)}`;
      const tenant = `t${rand(8)}`;
      const scopes: CounterScope[] = [
        { dbName, collection },
        { dbName, collection: `${collection}x` },
        { dbName, collection, tenant },
        { dbName, collection, tenant: `${tenant}2` },
        { dbName: `ck_${rand(10)}`, collection },
      ];
      for (let i = 0; i < scopes.length; i++) {
        for (let k = 0; k <= i; k++) await store.incrementCounters(scopes[i]!, { field: 'created', rules: [`r${i}`] });
      }
      for (let i = 0; i < scopes.length; i++) {
        expect(norm(await store.getCounters(scopes[i]!))).toEqual({
          created: i + 1,
          updated: 0,
          deleted: 0,
          rules: { [`r${i}`]: { created: i + 1, updated: 0, deleted: 0 } },
        });
      }
    });

    it('reset clears one scope only, and counting starts again from zero', async () => {
      const a = scope({ tenant: true });
      const b: CounterScope = { ...a, tenant: `${a.tenant}b` };
      for (const s of [a, b]) {
        await store.incrementCounters(s, { field: 'created', rules: ['r'] });
        await store.incrementCounters(s, { field: 'updated', rules: ['r'] });
      }
      await store.resetCounters(a);
      expect(norm(await store.getCounters(a))).toEqual(ZERO);
      expect(norm(await store.getCounters(b))).toEqual({ created: 1, updated: 1, deleted: 0, rules: { r: { created: 1, updated: 1, deleted: 0 } } });
      await store.resetCounters(a); // idempotent
      await store.resetCounters(scope()); // never-used scope
      await store.incrementCounters(a, { field: 'deleted', rules: ['s'] });
      expect(norm(await store.getCounters(a))).toEqual({ created: 0, updated: 0, deleted: 1, rules: { s: { created: 0, updated: 0, deleted: 1 } } });
    });

    it('accepts every valid rule name (letters, digits, _ and -)', async () => {
      const s = scope();
      const names = ['high-value', 'eu_only', 'V2', '_x', '-y', 'created'];
      await store.incrementCounters(s, { field: 'created', rules: names });
      const t = norm(await store.getCounters(s));
      expect(Object.keys(t.rules).sort()).toEqual([...names].sort());
      for (const n of names) expect(t.rules[n]).toEqual({ created: 1, updated: 0, deleted: 0 });
    });

    it('an increment carrying a cv is counted once, however often it is repeated', async () => {
      const s = scope({ tenant: true });
      await store.incrementCounters(s, { field: 'created', rules: ['r'], cv: 7 });
      await store.incrementCounters(s, { field: 'created', rules: ['r'], cv: 7 });
      await Promise.all([1, 2, 3].map(() => store.incrementCounters(s, { field: 'updated', rules: [], cv: 8 })));
      expect(norm(await store.getCounters(s))).toEqual({ created: 1, updated: 1, deleted: 0, rules: { r: { created: 1, updated: 0, deleted: 0 } } });
      await expectCode(store.incrementCounters(s, { field: 'created', rules: [], cv: -1 }), VALIDATION);
    });

    suite.itIf(
      !!opts.recount,
      'recountCounters not offered (option recount: false)',
      'recountCounters replaces the totals with the recount; increments it covers add nothing, later ones add',
      async () => {
        const s = scope();
        const inc = (cv: number): CounterIncrement => ({ field: cv % 2 ? 'created' : 'updated', rules: cv % 3 ? [] : ['third'], cv });
        // the count of cv 3 was lost (a crash between its commit and its increment), cv 4 counted twice
        for (const cv of [1, 2, 4, 4, 5]) await store.incrementCounters(s, inc(cv));
        expect(norm(await store.getCounters(s))).toMatchObject({ created: 2, updated: 2 });
        const source = () => ({ events: [1, 2, 3, 4, 5].map(inc), upToCv: 5 });
        const want = { created: 3, updated: 2, deleted: 0, rules: { third: { created: 1, updated: 0, deleted: 0 } } };
        expect(norm(await store.recountCounters!(s, source()))).toEqual(want);
        expect(norm(await store.getCounters(s))).toEqual(want);
        expect(norm(await store.recountCounters!(s, source()))).toEqual(want); // a second recount changes nothing
        // a replayed increment of a version the recount covers adds nothing; a later version adds
        await store.incrementCounters(s, inc(3));
        await store.incrementCounters(s, inc(6));
        expect(norm(await store.getCounters(s))).toEqual({ ...want, updated: 3, rules: { third: { created: 1, updated: 1, deleted: 0 } } });
        await expectCode(store.recountCounters!(s, { events: [], upToCv: -1 }), VALIDATION);
      },
    );

    it('offers recountCounters exactly as the suite was told (option recount)', async () => {
      expect(typeof store.recountCounters).toBe(opts.recount ? 'function' : 'undefined');
    });

    checkSkipList(suite);
  });
}
