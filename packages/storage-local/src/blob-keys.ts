/** Validation of object keys and bucket roles: a key can never name a path outside its bucket directory. */
import { ValidationError, type BucketRole } from '@chronos-db/core';

const KEY_CHARS = /^[A-Za-z0-9._/-]+$/;
const ROLES: ReadonlySet<string> = new Set(['json', 'content', 'backups']);
export const MAX_KEY_LENGTH = 1024;
const MAX_SEGMENT = 255;

const show = (k: unknown) => JSON.stringify(typeof k === 'string' ? k.slice(0, 80) : k);

export function assertRole(role: unknown): asserts role is BucketRole {
  if (typeof role !== 'string' || !ROLES.has(role)) throw new ValidationError(`Unknown bucket role ${show(role)}: use json, content or backups`);
}

/** Splits a key into its path segments, or throws ValidationError. */
export function keySegments(key: unknown): string[] {
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY_LENGTH || !KEY_CHARS.test(key)) {
    throw new ValidationError(`Invalid object key ${show(key)}: use 1-${MAX_KEY_LENGTH} characters of [A-Za-z0-9._/-]`);
  }
  const segs = key.split('/');
  for (const s of segs) {
    if (s === '' || s === '.' || s === '..' || s.length > MAX_SEGMENT) {
      throw new ValidationError(`Invalid object key ${show(key)}: no leading or trailing '/', no empty, '.' or '..' segment`);
    }
  }
  return segs;
}

/**
 * A list prefix: the same characters as keys, may be empty or end with '/',
 * but no '.' or '..' segment and no leading '/'. Returns the directory
 * segments and the partial name after the last '/'.
 */
export function prefixParts(prefix: unknown): { dirs: string[]; partial: string } {
  if (typeof prefix !== 'string' || prefix.length > MAX_KEY_LENGTH || (prefix.length > 0 && !KEY_CHARS.test(prefix))) {
    throw new ValidationError(`Invalid list prefix ${show(prefix)}: use at most ${MAX_KEY_LENGTH} characters of [A-Za-z0-9._/-]`);
  }
  if (prefix === '') return { dirs: [], partial: '' };
  const segs = prefix.split('/');
  const partial = segs.pop()!;
  for (const s of segs) {
    if (s === '' || s === '.' || s === '..') throw new ValidationError(`Invalid list prefix ${show(prefix)}: no leading '/', no empty, '.' or '..' segment`);
  }
  if (partial === '..' || partial === '.') throw new ValidationError(`Invalid list prefix ${show(prefix)}: no '.' or '..' segment`);
  return { dirs: segs, partial };
}
