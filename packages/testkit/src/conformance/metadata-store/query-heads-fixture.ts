/**
 * The records the queryHeads tests query, and the oracle they are checked against. Values of
 * different types sit under the same fields: the oracle (core's matchFilter) only matches
 * same-type comparisons, as MongoDB does.
 */
import { compileFilter, matchFilter, type Namespace } from '@chronos-db/core';
import { freshNs } from '../helpers.js';
import type { MetaSuite } from './context.js';

export const metas: Record<string, unknown>[] = [
  { s: 'apple', n: 1, b: true, mixed: 'x', tags: ['a', 'b'], o: { p: 1, q: 'deep' } },
  { s: 'banana', n: 2.5, b: false, mixed: 1, o: { p: 2 } },
  { s: 'cherry', n: -3, b: true, mixed: true, o: { p: 'two' } },
  { s: 'Apple', n: 0, mixed: null, o: null },
  { s: '', n: 1e9, b: false, mixed: '1', o: { q: 'deep', r: { z: 1 } } },
  { s: 'apple pie', n: 10, mixed: 0, o: 5 },
  { n: 1, mixed: false, o: { p: 1.5 } },
  { s: 'banana', b: null, mixed: 2, o: { p: null } },
  { s: 'date', n: 7, mixed: 'y', extra: 'only-here' },
  { s: 'elder', n: 7.0001, b: true, mixed: [1, 2], o: { p: -1 } },
  { s: 'fig', n: 100, mixed: { a: 1 }, o: { p: 100, q: 'shallow' } },
  {},
  { s: 'grape', n: 2, b: true, mixed: 'X', o: { p: 2, q: 'deep' } },
  { s: 'zz', n: -0.5, mixed: -1, o: { p: 'deep' } },
  { s: 'ü-umlaut', n: 3, b: false, mixed: 'ü', o: { p: 3 } },
  { s: 'kiwi', n: 4, mixed: 4, deletedOne: true },
];
export const ids = metas.map((_, i) => `q${String(i).padStart(2, '0')}`);
/** The record whose head is a delete version. */
export const DELETED = 15;

/** The ids core's matchFilter selects among the fixture's records. */
export function oracle(filter: unknown, includeDeleted = false): string[] {
  const node = compileFilter(filter);
  return ids.filter((_id, i) => (includeDeleted || i !== DELETED) && matchFilter(node, metas[i]!));
}

export interface QueryFixture {
  /** The fixture's namespace (set once its beforeAll ran). */
  readonly qn: Namespace;
  /** The ids the store's queryHeads returns for a filter, in itemId order. */
  run(filter: unknown, includeDeleted?: boolean): Promise<string[]>;
}

/** Registers, in the current describe, a beforeAll that writes the fixture's records to a fresh namespace. */
export function queryFixture(s: MetaSuite): QueryFixture {
  const { t, store, create, next } = s;
  let qn: Namespace | undefined;
  t.beforeAll(async () => {
    const n = freshNs();
    await store.ensureNamespace(n);
    for (let i = 0; i < metas.length; i++) await create(n, ids[i]!, { metaIndexed: metas[i]! });
    await next(n, ids[DELETED]!, 0, { op: 'DELETE', deleted: true, metaIndexed: metas[DELETED]! });
    qn = n;
  });
  const fixture: QueryFixture = {
    get qn() {
      if (!qn) throw new Error('the queryHeads fixture is not written yet');
      return qn;
    },
    async run(filter, includeDeleted = false) {
      const node = compileFilter(filter);
      const heads = await store.queryHeads(fixture.qn, { ...(node ? { filter: node } : {}), limit: 1000, includeDeleted });
      return heads.map((h) => h.itemId);
    },
  };
  return fixture;
}
