import fc from 'fast-check';
import { compileFilter, matchFilter, ValidationError } from '@chronos-db/core';

describe('filter language', () => {
  it('compiles comparisons, $in/$nin, $exists, $and/$or', () => {
    const f = compileFilter({ a: 1, b: { $gte: 2, $lt: 5 }, $or: [{ c: { $in: ['x', 'y'] } }, { d: { $exists: false } }] });
    expect(matchFilter(f, { a: 1, b: 3, c: 'x' })).toBe(true);
    expect(matchFilter(f, { a: 1, b: 3, c: 'z', d: 1 })).toBe(false);
    expect(matchFilter(f, { a: 1, b: 3, c: 'z' })).toBe(true);
    expect(matchFilter(f, { a: 1, b: 5 })).toBe(false);
    expect(matchFilter(compileFilter({ n: { $gt: 1 } }), { n: '5' })).toBe(false); // same-type comparisons only
  });

  it.each([
    [{ $where: 'x' }],
    [{ $function: {} }],
    [{ $expr: {} }],
    [{ $accumulator: {} }],
    [{ a: { $regex: 'x' } }],
    [JSON.parse('{"__proto__": {"a": 1}}')],
    [{ 'a.__proto__': 1 }],
    [{ 'constructor.prototype': 1 }],
    [{ a: { $in: 'x' } }],
    [{ a: { b: 1 } }],
    [{ $and: [] }],
    [{ a: () => 1 }],
  ])('refuses %j', (f) => {
    expect(() => compileFilter(f)).toThrow(ValidationError);
  });

  it('restricts fields when indexes are explicit', () => {
    expect(() => compileFilter({ email: 'x' }, { allowedFields: ['email'] })).not.toThrow();
    expect(() => compileFilter({ other: 'x' }, { allowedFields: ['email'] })).toThrow(/not indexed/);
  });

  it('with topLevelOnly a dotted field is a ValidationError naming it, also inside $or', () => {
    expect(() => compileFilter({ 'email.x': 1 }, { topLevelOnly: true })).toThrow(/'email\.x'/);
    expect(() => compileFilter({ $or: [{ a: 1 }, { 'b.c': { $exists: true } }] }, { topLevelOnly: true })).toThrow(/'b\.c'/);
    expect(compileFilter({ email: 'a' }, { topLevelOnly: true })).toEqual({ op: 'eq', field: 'email', value: 'a' });
    expect(compileFilter({ 'email.x': 1 })).toEqual({ op: 'eq', field: 'email.x', value: 1 });
  });

  it('matchFilter of $nin is the negation of $in', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 5 })), fc.integer({ min: 0, max: 5 }), (vals, v) => {
        const meta = { x: v };
        expect(matchFilter(compileFilter({ x: { $in: vals } }), meta)).toBe(!matchFilter(compileFilter({ x: { $nin: vals } }), meta));
      }),
    );
  });
});
