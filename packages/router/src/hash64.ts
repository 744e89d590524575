/** The one stable hash every routing decision is built on. */
import { createHash } from 'node:crypto';

/**
 * A stable 64-bit hash of a string: the first 8 bytes (big-endian) of the
 * SHA-256 of its UTF-8 bytes. Same value in every process, platform and
 * Node version; no seed.
 */
export function hash64(s: string): bigint {
  return createHash('sha256').update(s, 'utf8').digest().readBigUInt64BE(0);
}

/** Plain code-unit order: never locale-dependent, so every process sorts the same way. */
export function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
