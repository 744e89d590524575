/** The testkit's own assertions must fail where jest's would, and pass where jest's would. */
import { AssertionError } from 'node:assert';
import { runInNewContext } from 'node:vm';
import { equals, expect as check } from '../src/assert';

const fails = (f: () => void) => expect(f).toThrow(AssertionError);
const rejects = (p: Promise<void>) => expect(p).rejects.toBeInstanceOf(AssertionError);

describe('testkit assertions', () => {
  it('toEqual is structural: key order, undefined properties and realms do not matter; values do', () => {
    check({ a: 1, b: [1, { c: 'x' }], u: undefined }).toEqual({ b: [1, { c: 'x' }], a: 1 });
    check(runInNewContext('({ a: [1, 2], d: new Date(5) })')).toEqual({ a: [1, 2], d: new Date(5) });
    check(new Uint8Array([1, 2])).toEqual(Buffer.from([1, 2]));
    fails(() => check({ a: 1 }).toEqual({ a: 1, b: 2 }));
    fails(() => check({ a: 1, b: 2 }).toEqual({ a: 1 }));
    fails(() => check([1, 2]).toEqual([2, 1]));
    fails(() => check({ a: { b: [1] } }).toEqual({ a: { b: [1, 1] } }));
    fails(() => check(new Date(1)).toEqual(new Date(2)));
    fails(() => check(new Uint8Array([1])).toEqual(new Uint8Array([2])));
    fails(() => check(new Map([[1, 'a']])).toEqual(new Map([[1, 'b']])));
    fails(() => check(null).toEqual({}));
    fails(() => check([]).toEqual({}));
    expect(equals(0, -0)).toBe(false);
    expect(equals(NaN, NaN)).toBe(true);
  });

  it('toMatchObject checks a subset of keys, arrays whole', () => {
    check({ a: 1, b: { c: 2, d: 3 }, e: [{ f: 1, g: 2 }] }).toMatchObject({ b: { c: 2 }, e: [{ f: 1 }] });
    fails(() => check({ a: 1 }).toMatchObject({ a: 2 }));
    fails(() => check({ a: 1 }).toMatchObject({ b: undefined, c: 1 }));
    fails(() => check({ e: [1, 2] }).toMatchObject({ e: [1] }));
  });

  it('the other matchers pass and fail as jest documents them', () => {
    check(1).toBe(1);
    fails(() => check({}).toBe({}));
    check(null).toBeNull();
    fails(() => check(undefined).toBeNull());
    check(undefined).toBeUndefined();
    fails(() => check(null).toBeUndefined());
    check(2).toBeGreaterThan(1);
    fails(() => check(1).toBeGreaterThan(1));
    check(1).toBeGreaterThanOrEqual(1);
    fails(() => check('2').toBeGreaterThanOrEqual(1));
    check(1).toBeLessThanOrEqual(1);
    fails(() => check(2).toBeLessThanOrEqual(1));
    check([1, 2]).toHaveLength(2);
    fails(() => check([1]).toHaveLength(2));
    check(['a']).toContain('a');
    fails(() => check(['a']).toContain('b'));
    check(new RangeError('x')).toBeInstanceOf(Error);
    fails(() => check({}).toBeInstanceOf(Error));
    check(() => {
      throw new RangeError('x');
    }).toThrow(RangeError);
    fails(() =>
      check(() => {
        throw new Error('x');
      }).toThrow(RangeError),
    );
    fails(() => check(() => 1).toThrow());
    check(1).not.toBe(2);
    fails(() => check(1).not.toBe(1));
    check(1).not.toBeNull();
    fails(() => check(null).not.toBeNull());
    check(['a']).not.toContain('b');
    fails(() => check(['a']).not.toContain('a'));
  });

  it('rejects and resolves await the promise', async () => {
    await check(Promise.reject(new RangeError('x'))).rejects.toBeInstanceOf(RangeError);
    await rejects(check(Promise.reject(new Error('x'))).rejects.toBeInstanceOf(RangeError));
    await rejects(check(Promise.resolve(1)).rejects.toThrow());
    await check(Promise.reject(new Error('x'))).rejects.toThrow();
    await check(Promise.resolve(undefined)).resolves.toBeUndefined();
    await rejects(check(Promise.resolve(1)).resolves.toBeUndefined());
    await rejects(check(Promise.reject(new Error('x'))).resolves.toBeUndefined());
  });
});
