import fc from 'fast-check';
import { ValidationError } from '@chronos-db/core';
import { rendezvous } from '@chronos-db/router';
import { KEYS, countMoves, shuffle } from './helpers';

const names = fc.uniqueArray(fc.stringMatching(/^[A-Za-z0-9_-]{1,12}$/), { minLength: 1, maxLength: 12 });

describe('rendezvous', () => {
  it('returns one of the nodes, and the same one whatever their order (I12)', () => {
    fc.assert(
      fc.property(names, fc.array(fc.string(), { minLength: 1, maxLength: 20 }), fc.nat(), (nodes, keys, seed) => {
        const shuffled = shuffle(nodes, seed);
        for (const k of keys) {
          const a = rendezvous(k, nodes);
          expect(nodes).toContain(a);
          expect(rendezvous(k, shuffled)).toBe(a);
        }
      }),
    );
  });

  it('is the same in every process: fixed answers (SHA-256 weights, no seed)', () => {
    // Checked independently in Python: max(nodes, key=lambda n: sha256((n + '\0' + k).encode()).digest()).
    // A change here means every deployment would reshuffle its data.
    const nodes = ['alpha', 'beta', 'gamma', 'delta'];
    const got = ['a', 'b', 'c', 'users', 'db1|users|', 'db1|users|t1'].map((k) => rendezvous(k, nodes));
    expect(got).toEqual(['gamma', 'beta', 'delta', 'gamma', 'delta', 'alpha']);
  });

  it('adding one backend to n moves about 1/(n+1) of 100,000 keys, all to the new one, whatever its name (I12)', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.stringMatching(/^[A-Za-z0-9_-]{1,10}$/), { minLength: 2, maxLength: 8 }), (all) => {
        const added = all[0]!;
        const nodes = all.slice(1);
        const n = nodes.length;
        const { moved, movedElsewhere } = countMoves(
          (k) => rendezvous(k, nodes),
          (k) => rendezvous(k, [...nodes, added]),
          added,
        );
        expect(movedElsewhere).toBe(0);
        expect(Math.abs(moved / KEYS - 1 / (n + 1))).toBeLessThan(0.05);
      }),
      { numRuns: 3 },
    );
  });

  it('removing a backend moves only the keys it held', () => {
    const nodes = ['n1', 'n2', 'n3', 'n4', 'n5'];
    let held = 0;
    for (let i = 0; i < 5000; i++) {
      const k = `k${i}`;
      const before = rendezvous(k, nodes);
      const after = rendezvous(
        k,
        nodes.filter((x) => x !== 'n3'),
      );
      if (before === 'n3') held++;
      else expect(after).toBe(before);
    }
    expect(held).toBeGreaterThan(0);
  });

  it('spreads keys evenly', () => {
    const nodes = ['a', 'b', 'c', 'd'];
    const counts = new Map<string, number>();
    for (let i = 0; i < 20000; i++) {
      const n = rendezvous(`key-${i}`, nodes);
      counts.set(n, (counts.get(n) ?? 0) + 1);
    }
    for (const n of nodes) expect(Math.abs((counts.get(n) ?? 0) / 20000 - 0.25)).toBeLessThan(0.03);
  });

  it('refuses an empty node list', () => {
    expect(() => rendezvous('k', [])).toThrow(ValidationError);
  });
});
