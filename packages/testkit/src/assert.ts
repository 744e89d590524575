/**
 * The testkit's own assertions: the subset of jest's `expect` the suites use,
 * built on node:assert's AssertionError, so the suites run under any runner
 * (jest, vitest, node:test) without being handed the runner's `expect`.
 *
 * Equality is structural and realm-blind, as jest's `toEqual`: plain objects
 * and arrays compare by content whatever realm made them (native drivers and
 * jest's sandbox use different `Object.prototype`s), properties whose value is
 * `undefined` count as absent, Dates by time, byte arrays by bytes.
 */
import { AssertionError } from 'node:assert';
import { inspect } from 'node:util';

type Ctor = abstract new (...args: never[]) => unknown;
const tag = (v: unknown) => Object.prototype.toString.call(v);
const show = (v: unknown) => inspect(v, { depth: 6, breakLength: 120 });

function fail(message: string, actual?: unknown, expected?: unknown, operator = 'expect'): never {
  throw new AssertionError({ message, actual, expected, operator });
}

/** Deep equality; `partial`: `b` may name a subset of `a`'s object keys (toMatchObject). */
export function equals(a: unknown, b: unknown, partial = false): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (tag(a) === '[object Date]' || tag(b) === '[object Date]') return tag(a) === tag(b) && Object.is((a as Date).getTime(), (b as Date).getTime());
  if (ArrayBuffer.isView(a) || ArrayBuffer.isView(b)) {
    if (!ArrayBuffer.isView(a) || !ArrayBuffer.isView(b) || a.byteLength !== b.byteLength) return false;
    const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    const y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    return x.every((v, i) => v === y[i]);
  }
  if (tag(a) === '[object Map]' || tag(a) === '[object Set]' || tag(b) === '[object Map]' || tag(b) === '[object Set]') {
    return tag(a) === tag(b) && equals([...(a as Iterable<unknown>)], [...(b as Iterable<unknown>)], partial);
  }
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) return a.length === (b as unknown[]).length && a.every((v, i) => equals(v, (b as unknown[])[i], partial));
  const defined = (o: object) => Object.keys(o).filter((k) => (o as Record<string, unknown>)[k] !== undefined);
  const kb = defined(b);
  if (!partial) {
    const ka = defined(a);
    if (ka.length !== kb.length || !ka.every((k) => kb.includes(k))) return false;
  }
  return kb.every((k) => Object.hasOwn(a, k) && equals((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], partial));
}

export interface Matchers {
  toBe(expected: unknown): void;
  toEqual(expected: unknown): void;
  toMatchObject(expected: object): void;
  toBeNull(): void;
  toBeUndefined(): void;
  toBeGreaterThan(n: number): void;
  toBeGreaterThanOrEqual(n: number): void;
  toBeLessThanOrEqual(n: number): void;
  toHaveLength(n: number): void;
  toContain(item: unknown): void;
  toBeInstanceOf(cls: Ctor): void;
  /** The value is a function that must throw (an instance of `cls` when given). */
  toThrow(cls?: Ctor): void;
}

export interface Expectation extends Matchers {
  not: Pick<Matchers, 'toBe' | 'toBeNull' | 'toContain' | 'toEqual'>;
  /** The value is a promise that must reject; the matcher applies to the reason. */
  rejects: { toBeInstanceOf(cls: Ctor): Promise<void>; toThrow(cls?: Ctor): Promise<void> };
  /** The value is a promise that must resolve; the matcher applies to the result. */
  resolves: { toBeUndefined(): Promise<void> };
}

function matchers(actual: unknown): Matchers {
  const num = (op: string, n: number, ok: (a: number) => boolean) => {
    if (typeof actual !== 'number' || !ok(actual)) fail(`expected ${show(actual)} ${op} ${n}`, actual, n, op);
  };
  return {
    toBe: (e) => void (Object.is(actual, e) || fail(`expected ${show(actual)} to be ${show(e)}`, actual, e, 'toBe')),
    toEqual: (e) => void (equals(actual, e) || fail(`expected values to be equal:\n${show(actual)}\nshould equal\n${show(e)}`, actual, e, 'toEqual')),
    toMatchObject: (e) => void (equals(actual, e, true) || fail(`expected ${show(actual)}\nto match ${show(e)}`, actual, e, 'toMatchObject')),
    toBeNull: () => void (actual === null || fail(`expected ${show(actual)} to be null`, actual, null, 'toBeNull')),
    toBeUndefined: () => void (actual === undefined || fail(`expected ${show(actual)} to be undefined`, actual, undefined, 'toBeUndefined')),
    toBeGreaterThan: (n) => num('>', n, (a) => a > n),
    toBeGreaterThanOrEqual: (n) => num('>=', n, (a) => a >= n),
    toBeLessThanOrEqual: (n) => num('<=', n, (a) => a <= n),
    toHaveLength: (n) => {
      const len = (actual as { length?: unknown } | null)?.length;
      if (len !== n) fail(`expected length ${n}, got ${show(len)} of ${show(actual)}`, len, n, 'toHaveLength');
    },
    toContain: (item) => {
      if (!Array.isArray(actual) && typeof actual !== 'string') fail(`expected an array or string, got ${show(actual)}`);
      if (!(actual as unknown[]).includes(item as never)) fail(`expected ${show(actual)} to contain ${show(item)}`, actual, item, 'toContain');
    },
    toBeInstanceOf: (cls) => void (actual instanceof cls || fail(`expected an instance of ${cls.name}, got ${show(actual)}`, actual, cls, 'toBeInstanceOf')),
    toThrow: (cls) => {
      if (typeof actual !== 'function') fail(`toThrow needs a function, got ${show(actual)}`);
      try {
        (actual as () => unknown)();
      } catch (e) {
        if (cls && !(e instanceof cls)) fail(`expected a throw of ${cls.name}, got ${show(e)}`, e, cls, 'toThrow');
        return;
      }
      fail('expected the function to throw, but it returned', undefined, cls, 'toThrow');
    },
  };
}

/** `expect(actual).toEqual(...)` and the rest of the subset above; a failure throws an AssertionError. */
export function expect(actual: unknown): Expectation {
  const settle = async (): Promise<{ ok: true; value: unknown } | { ok: false; reason: unknown }> => {
    try {
      return { ok: true, value: await (actual as Promise<unknown>) };
    } catch (reason) {
      return { ok: false, reason };
    }
  };
  const rejected = async () => {
    const r = await settle();
    if (r.ok) fail(`expected the promise to reject, but it resolved to ${show(r.value)}`, r.value, 'a rejection', 'rejects');
    return r.reason;
  };
  const negated = (name: string, holds: (arg: unknown) => boolean) => (arg?: unknown) => {
    if (holds(arg)) fail(`expected ${show(actual)} not ${name}${name === 'toBeNull' ? '' : ` ${show(arg)}`}`, actual, arg, `not.${name}`);
  };
  return {
    ...matchers(actual),
    not: {
      toBe: negated('toBe', (e) => Object.is(actual, e)),
      toBeNull: negated('toBeNull', () => actual === null),
      toContain: negated('toContain', (e) => (Array.isArray(actual) || typeof actual === 'string') && (actual as unknown[]).includes(e as never)),
      toEqual: negated('toEqual', (e) => equals(actual, e)),
    },
    rejects: {
      toBeInstanceOf: async (cls) => matchers(await rejected()).toBeInstanceOf(cls),
      toThrow: async (cls) => {
        const reason = await rejected();
        if (cls) matchers(reason).toBeInstanceOf(cls);
      },
    },
    resolves: {
      toBeUndefined: async () => {
        const r = await settle();
        if (!r.ok) fail(`expected the promise to resolve, but it rejected with ${show(r.reason)}`, r.reason, undefined, 'resolves');
        matchers(r.value).toBeUndefined();
      },
    },
  };
}
