import fc from 'fast-check';
import { ValidationError } from '@chronos-db/core';
import { hash64, jumpHash, jumpNode } from '@chronos-db/router';
import { KEYS, countMoves, shuffle } from './helpers';

describe('jumpHash (Lamping-Veach)', () => {
  it('matches published reference vectors (dgryski/go-jump) and a native uint64 Go run', () => {
    // [key, buckets, expected]: the first five are go-jump's test vectors; the rest were
    // computed with the paper's algorithm in Go (native uint64 arithmetic).
    const vectors: [bigint, number, number][] = [
      [1n, 1, 0],
      [42n, 57, 43],
      [0xdead10ccn, 1, 0],
      [0xdead10ccn, 666, 361],
      [256n, 1024, 520],
      [0n, 100, 0],
      [0xffffffffffffffffn, 10, 9],
      [0xffffffffffffffffn, 1000, 313],
      [123456789n, 7, 0],
      [9876543210123n, 100000, 4268],
      [3n, 3, 2],
      [10n, 10, 7],
    ];
    for (const [k, n, want] of vectors) expect([k, n, jumpHash(k, n)]).toEqual([k, n, want]);
  });

  it('hashes string keys with the first 8 bytes of SHA-256 (checked against Go)', () => {
    expect(hash64('')).toBe(16406829232824261652n);
    expect(hash64('a')).toBe(14598278634844962250n);
    expect(hash64('runtime-generic')).toBe(2259282116489259844n);
    expect(jumpHash('', 10)).toBe(5);
    expect(jumpHash('', 1000)).toBe(22);
    expect(jumpHash('a', 1000)).toBe(912);
    expect(jumpHash('runtime-generic', 10)).toBe(3);
    expect(jumpHash('db1|users|', 1000)).toBe(551);
  });

  it('maps key 0 to bucket 0 for every n', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 1_000_000 }), (n) => jumpHash(0n, n) === 0));
  });

  it('stays in range and takes keys modulo 2^64', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.integer({ min: 1, max: 100_000 }), (k, n) => {
        const b = jumpHash(k, n);
        expect(Number.isInteger(b) && b >= 0 && b < n).toBe(true);
        expect(jumpHash(k + (1n << 64n), n)).toBe(b);
      }),
    );
    expect(jumpHash(-1n, 1000)).toBe(jumpHash(0xffffffffffffffffn, 1000));
  });

  it('is monotone: when n grows, a key keeps its bucket or moves to the new bucket n', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.integer({ min: 1, max: 5000 }), (k, n) => {
        const before = jumpHash(k, n);
        const after = jumpHash(k, n + 1);
        return after === before || after === n;
      }),
      { numRuns: 500 },
    );
  });

  it('rejects a bucket count that is not a positive 31-bit integer', () => {
    for (const bad of [0, -1, 1.5, Number.NaN, Infinity, 2 ** 31]) expect(() => jumpHash(1n, bad)).toThrow(ValidationError);
  });
});

describe('jumpNode (jump over backends sorted by name)', () => {
  const names = fc.uniqueArray(fc.stringMatching(/^[A-Za-z0-9_-]{1,12}$/), { minLength: 1, maxLength: 12 });

  it('gives the same answer whatever the order of the nodes (I12)', () => {
    fc.assert(
      fc.property(names, fc.array(fc.string(), { minLength: 1, maxLength: 20 }), fc.nat(), (nodes, keys, seed) => {
        const shuffled = shuffle(nodes, seed);
        for (const k of keys) expect(jumpNode(k, shuffled)).toBe(jumpNode(k, nodes));
      }),
    );
  });

  it('adding a backend whose key sorts last moves about 1/(n+1) of 100,000 keys, all to it (I12)', () => {
    for (const n of [1, 2, 3, 4, 7, 9]) {
      const nodes = Array.from({ length: n }, (_, i) => `shard-${String(i).padStart(3, '0')}`);
      const added = `shard-${String(n).padStart(3, '0')}`;
      const { moved, movedElsewhere } = countMoves(
        (k) => jumpNode(k, nodes),
        (k) => jumpNode(k, [added, ...nodes]),
        added,
      );
      expect(movedElsewhere).toBe(0);
      expect(Math.abs(moved / KEYS - 1 / (n + 1))).toBeLessThan(0.05);
    }
  });

  it('documented tradeoff: a new key that sorts first shifts every position and moves most keys', () => {
    const nodes = ['b', 'c', 'd'];
    const { moved } = countMoves(
      (k) => jumpNode(k, nodes),
      (k) => jumpNode(k, ['a', ...nodes]),
      'a',
    );
    // Only keys that stayed in bucket n-1 -> n keep their backend: 1 - 1/(n(n+1)) = 11/12 move.
    expect(Math.abs(moved / KEYS - 11 / 12)).toBeLessThan(0.05);
  });
});
