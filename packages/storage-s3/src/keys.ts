/** Key and prefix validation: the BlobStore contract's safe key alphabet, nothing that can escape the bucket. */
import { ValidationError } from '@chronos-db/core';

const KEY_RE = /^[A-Za-z0-9._/-]+$/;
const MAX_KEY = 1024;

const show = (v: unknown) => JSON.stringify(typeof v === 'string' ? v.slice(0, 64) : v);

function unsafe(s: string, allowTrailingSlash: boolean): boolean {
  if (!KEY_RE.test(s) || s.length > MAX_KEY) return true;
  if (s.startsWith('/')) return true;
  const segs = s.split('/');
  if (allowTrailingSlash && segs[segs.length - 1] === '') segs.pop();
  return segs.some((seg) => seg === '' || seg === '.' || seg === '..');
}

/** Throws ValidationError unless `key` is a safe object key: [A-Za-z0-9._/-], no empty, '.' or '..' segment, no leading '/'. */
export function assertBlobKey(key: unknown): asserts key is string {
  if (typeof key !== 'string' || unsafe(key, false)) {
    throw new ValidationError(`Invalid object key ${show(key)}: use 1-${MAX_KEY} characters of [A-Za-z0-9._/-] without '.', '..' or empty segments`);
  }
}

/** A list prefix: empty, or a key that may end with '/'. Segments are checked like keys, except the last may be partial. */
export function assertBlobPrefix(prefix: unknown): asserts prefix is string {
  if (prefix === '') return;
  if (typeof prefix !== 'string' || !KEY_RE.test(prefix) || prefix.length > MAX_KEY || prefix.startsWith('/')) {
    throw new ValidationError(`Invalid key prefix ${show(prefix)}`);
  }
  const segs = prefix.split('/');
  const last = segs.pop();
  if (segs.some((seg) => seg === '' || seg === '.' || seg === '..') || last === '..') {
    throw new ValidationError(`Invalid key prefix ${show(prefix)}`);
  }
}
