/**
 * Jump consistent hash (Lamping & Veach, "A Fast, Minimal Memory, Consistent
 * Hash Algorithm", 2014), with exact 64-bit arithmetic in BigInt and the
 * same double-precision step as the published C++ code, so it returns the
 * same bucket as every other faithful implementation.
 */
import { ValidationError } from '@chronos-db/core';
import { compareCodeUnits, hash64 } from './hash64.js';

const MASK64 = (1n << 64n) - 1n;
const MULT = 2862933555777941757n;
const TWO_31 = 2147483648; // double(1LL << 31)

/**
 * Bucket in [0, buckets) for a key. A string key is first hashed with
 * `hash64` (SHA-256, first 8 bytes); a bigint is taken modulo 2^64.
 * When `buckets` grows from n to n+1, a key either keeps its bucket or moves
 * to the new bucket n, and about 1/(n+1) of the keys move.
 */
export function jumpHash(key: bigint | string, buckets: number): number {
  if (!Number.isSafeInteger(buckets) || buckets < 1 || buckets > 0x7fffffff) {
    throw new ValidationError(`jumpHash: buckets must be an integer in [1, 2^31-1], got ${String(buckets)}`);
  }
  let k = typeof key === 'string' ? hash64(key) : BigInt.asUintN(64, key);
  let b = -1;
  let j = 0;
  while (j < buckets) {
    b = j;
    k = (k * MULT + 1n) & MASK64;
    j = Math.floor((b + 1) * (TWO_31 / (Number(k >> 33n) + 1)));
  }
  return b;
}

/**
 * Jump over named nodes. Jump is positional (it maps to bucket numbers), so
 * the nodes are first sorted by name in code-unit order: the config order
 * never matters. Tradeoff: adding a node moves only ~1/(n+1) of the keys when
 * its name sorts after every existing name (e.g. `shard-07` after `shard-06`);
 * a name that sorts earlier shifts the positions after it and moves more.
 * Rendezvous has no such condition.
 */
export function jumpNode(key: string, nodes: readonly string[]): string {
  if (nodes.length === 0) throw new ValidationError('jumpNode: no nodes to choose from');
  const sorted = [...nodes].sort(compareCodeUnits);
  return sorted[jumpHash(key, sorted.length)]!;
}
