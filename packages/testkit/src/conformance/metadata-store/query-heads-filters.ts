/** queryHeads filters: every operator, and random filters, agree with core's matchFilter. */
import fc from 'fast-check';
import { expect } from '../../assert.js';
import type { MetaSuite } from './context.js';
import { oracle, queryFixture } from './query-heads-fixture.js';

export function queryHeadsFilterTests(s: MetaSuite): void {
  const { t } = s;
  t.describe('queryHeads filters', () => {
    const { run } = queryFixture(s);
    const cases: Record<string, unknown>[] = [
      {},
      { s: 'apple' },
      { s: { $eq: 'banana' } },
      { s: { $ne: 'banana' } },
      { s: { $gt: 'banana' } },
      { s: { $gte: 'banana' } },
      { s: { $lt: 'banana' } },
      { s: { $lte: 'banana' } },
      { s: { $gt: 'a', $lt: 'd' } },
      { n: 1 },
      { n: { $gt: 1 } },
      { n: { $gte: 1 } },
      { n: { $lt: 2.5 } },
      { n: { $lte: 2.5 } },
      { n: { $ne: 1 } },
      { n: { $gt: -1, $lte: 7 } },
      { n: { $in: [1, 2, 7] } },
      { n: { $nin: [1, 2, 7] } },
      { b: true },
      { b: false },
      { b: { $ne: true } },
      { b: null },
      { b: { $ne: null } },
      { b: { $exists: true } },
      { b: { $exists: false } },
      { mixed: 1 },
      { mixed: '1' },
      { mixed: true },
      { mixed: false },
      { mixed: 0 },
      { mixed: null },
      { mixed: { $gt: 0 } },
      { mixed: { $gte: 'x' } },
      { mixed: { $lt: 'y' } },
      { mixed: { $gt: true } },
      { mixed: { $lte: null } },
      { mixed: { $in: ['x', 1, true, null] } },
      { mixed: { $nin: ['x', 1, true, null] } },
      { mixed: { $in: [] } },
      { mixed: { $nin: [] } },
      { mixed: { $exists: true } },
      { 'o.p': 1 },
      { 'o.p': { $gt: 1 } },
      { 'o.p': { $gte: 'deep' } },
      { 'o.p': null },
      { 'o.p': { $exists: true } },
      { 'o.p': { $exists: false } },
      { 'o.q': 'deep' },
      { 'o.r.z': 1 },
      { 'o.r.z': { $exists: true } },
      { o: null },
      { o: 5 },
      { o: { $exists: true } },
      { tags: 'a' },
      { tags: { $exists: true } },
      { extra: { $exists: true } },
      { nope: { $exists: true } },
      { nope: null },
      { nope: { $ne: 1 } },
      { $or: [{ s: 'apple' }, { n: { $gte: 10 } }] },
      { $and: [{ b: true }, { n: { $lt: 5 } }] },
      { $or: [{ $and: [{ b: true }, { 'o.p': { $gte: 2 } }] }, { mixed: { $in: ['y', 'X'] } }] },
      { s: { $gte: 'b' }, n: { $lt: 100 }, b: { $exists: true } },
      { $or: [{ s: { $exists: false } }, { n: { $exists: false } }] },
      { s: 'kiwi' },
      { deletedOne: true },
    ];

    t.it('every operator agrees with core matchFilter (table of cases)', async () => {
      for (const c of cases) {
        const got = await run(c);
        expect({ filter: c, ids: got }).toEqual({ filter: c, ids: oracle(c) });
      }
    });

    t.it('random filters agree with core matchFilter (property)', async () => {
      const field = fc.constantFrom('s', 'n', 'b', 'mixed', 'o', 'o.p', 'o.q', 'o.r.z', 'tags', 'nope');
      const value = fc.oneof(
        fc.constantFrom<string | number | boolean | null>('apple', 'banana', 'x', 'X', '1', '', 'deep', 'ü', 1, 2, 0, -1, 2.5, 7, 1e9, true, false, null),
        fc.integer({ min: -5, max: 12 }),
        fc.string({ maxLength: 3 }),
      );
      const leaf = fc.oneof(
        fc.tuple(field, value).map(([f, v]) => ({ [f]: v })),
        fc.tuple(field, fc.constantFrom('$eq', '$ne', '$gt', '$gte', '$lt', '$lte'), value).map(([f, op, v]) => ({ [f]: { [op]: v } })),
        fc.tuple(field, fc.constantFrom('$in', '$nin'), fc.array(value, { maxLength: 4 })).map(([f, op, v]) => ({ [f]: { [op]: v } })),
        fc.tuple(field, fc.boolean()).map(([f, v]) => ({ [f]: { $exists: v } })),
      );
      const filter = fc.oneof(
        { weight: 3, arbitrary: leaf },
        { weight: 1, arbitrary: fc.tuple(fc.constantFrom('$and', '$or'), fc.array(leaf, { minLength: 1, maxLength: 3 })).map(([op, l]) => ({ [op]: l })) },
      );
      await fc.assert(
        fc.asyncProperty(filter, fc.boolean(), async (f, includeDeleted) => {
          expect({ filter: f, ids: await run(f, includeDeleted) }).toEqual({ filter: f, ids: oracle(f, includeDeleted) });
        }),
        { numRuns: 120 },
      );
    });
  });
}
