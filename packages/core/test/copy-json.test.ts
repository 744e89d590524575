/**
 * checkData's detached copy of a payload (copyJson) is what a JSON round trip gives, without
 * serializing: same JSON text (key order, Dates as ISO strings, undefined properties dropped),
 * and nothing of the caller's objects is shared.
 */
import fc from 'fast-check';
import { assertJsonPayload } from '@chronos-db/core';
import { copyJson } from '../src/engine/payload.js';

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
