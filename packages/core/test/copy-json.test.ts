/**
 * checkData's detached copy of a payload (copyJson) is what a JSON round trip gives, without
 * serializing: same JSON text (key order, Dates as ISO strings, undefined properties dropped),
 * and nothing of the caller's objects is shared.
 */
import fc from 'fast-check';
import { assertJsonPayload } from '@chronos-db/core';
import { checkedCopy, copyJson, MAX_DEPTH } from '../src/engine/payload.js';
import { newAttempt, newId } from '../src/names.js';

const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.string({ unit: 'binary' }),
    fc.date({ noInvalidDate: true }),
    fc.array(tie('v')),
    fc.dictionary(fc.string(), fc.oneof(tie('v'), fc.constant(undefined))),
  ),
})).v;
const payload = fc.dictionary(fc.string(), fc.oneof(value, fc.constant(undefined))).filter((p) => {
  try {
    assertJsonPayload(p);
    return true;
  } catch {
    return false; // '__proto__' keys and the like: checkData refuses them before copying
  }
});

/** Every object and array reachable from `v`. */
function containers(v: unknown, out = new Set<object>()): Set<object> {
  if (v !== null && typeof v === 'object' && !(v instanceof Date)) {
    out.add(v);
    for (const x of Object.values(v)) containers(x, out);
  }
  return out;
}

describe('copyJson (checkData copy)', () => {
  it('serializes exactly as the JSON round trip and as the original', () => {
    fc.assert(
      fc.property(payload, (p) => {
        const copy = copyJson(p);
        const text = JSON.stringify(p);
        expect(JSON.stringify(copy)).toBe(text);
        expect(JSON.stringify(copy)).toBe(JSON.stringify(JSON.parse(text)));
      }),
      { numRuns: 300 },
    );
  });

  it('shares no object or array with the original, holds no Date and no undefined property', () => {
    fc.assert(
      fc.property(payload, (p) => {
        const copy = copyJson(p);
        const mine = containers(p);
        for (const c of containers(copy)) {
          expect(mine.has(c)).toBe(false);
          for (const x of Object.values(c)) {
            expect(x).not.toBeUndefined();
            expect(x instanceof Date).toBe(false);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('a Date becomes its ISO string, a 64 KB string is kept as is', () => {
    const big = 'x'.repeat(64 * 1024);
    const d = new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 6));
    expect(copyJson({ at: d, nested: [{ at: d, gone: undefined }], big })).toEqual({
      at: '2026-01-02T03:04:05.006Z',
      nested: [{ at: '2026-01-02T03:04:05.006Z' }],
      big,
    });
  });
});

/** What assertJsonPayload throws for `v` (its class and message), or null. */
function refusal(v: unknown): string | null {
  try {
    assertJsonPayload(v);
    return null;
  } catch (e) {
    return `${(e as Error).name}: ${(e as Error).message}`;
  }
}

describe('checkedCopy (assertJsonPayload and copyJson in one walk)', () => {
  const anything = fc.dictionary(fc.string(), fc.oneof(value, fc.constant(undefined), fc.anything()));

  it('gives what copyJson gives for every accepted payload, and refuses with the same error as assertJsonPayload', () => {
    fc.assert(
      fc.property(anything, (p) => {
        const why = refusal(p);
        if (why === null) expect(JSON.stringify(checkedCopy(p))).toBe(JSON.stringify(copyJson(p)));
        else expect(() => checkedCopy(p)).toThrow(why.slice(why.indexOf(': ') + 2));
      }),
      { numRuns: 300 },
    );
  });

  it('refuses each case assertJsonPayload refuses, with its message', () => {
    let deep: Record<string, unknown> = {};
    const root = deep;
    for (let i = 0; i < MAX_DEPTH + 2; i++) deep = deep.x = {} as Record<string, unknown>;
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    const cases: unknown[] = [
      [],
      null,
      { n: Number.NaN },
      { n: Number.POSITIVE_INFINITY },
      { b: 1n },
      { f: () => 1 },
      { s: Symbol('x') },
      { d: new Date(Number.NaN) },
      { a: [1, undefined] },
      { m: new Map() },
      JSON.parse('{"__proto__": {"x": 1}}'),
      { constructor: { prototype: {} } },
      root,
      cyclic,
    ];
    for (const c of cases) {
      const why = refusal(c);
      expect(why).not.toBeNull();
      expect(() => checkedCopy(c)).toThrow(why!.slice(why!.indexOf(': ') + 2));
    }
    expect(checkedCopy({ constructor: 'fine', u: undefined, d: new Date(0) })).toEqual({ constructor: 'fine', d: '1970-01-01T00:00:00.000Z' });
  });
});

describe('ids', () => {
  it('newId is 12 hex of the time and 16 hex, in the order made; newAttempt 12 random hex; no repeats', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 5000; i++) {
      const id = newId();
      expect(id).toMatch(/^[0-9a-f]{28}$/);
      expect(newAttempt()).toMatch(/^[0-9a-f]{12}$/);
      seen.add(id);
    }
    expect(seen.size).toBe(5000);
    // made in this order, they sort in this order (several per millisecond count up from a random start)
    const made = [...seen];
    expect([...made].sort()).toEqual(made);
  });
});
