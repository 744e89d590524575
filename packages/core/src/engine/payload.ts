/** Payload checks done before any I/O: JSON-safe, bounded depth, no prototype keys, size limit. */
import * as crypto from 'node:crypto';
import { PayloadTooLargeError, ValidationError } from '../errors.js';

export const MAX_DEPTH = 64;
const MAX_NODES = 2_000_000;
export const DEFAULT_MAX_PAYLOAD_BYTES = 16 * 1024 * 1024;

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/**
 * Walks a value iteratively (no recursion, so 10,000-deep nesting cannot
 * overflow the stack) and throws a ValidationError for anything that is not
 * plain JSON or could pollute a prototype.
 */
export function assertJsonPayload(value: unknown, what = 'data'): asserts value is Record<string, unknown> {
  if (!isPlainObject(value)) throw new ValidationError(`${what} must be a plain JSON object`);
  const stack: Array<[unknown, number, string]> = [[value, 0, what]];
  let nodes = 0;
  while (stack.length) {
    const [v, depth, path] = stack.pop()!;
    if (++nodes > MAX_NODES) throw new PayloadTooLargeError(`${what} has more than ${MAX_NODES} values`);
    if (v === null || typeof v === 'string' || typeof v === 'boolean') continue;
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw new ValidationError(`${path} is not a finite number`);
      continue;
    }
    if (v instanceof Date) {
      if (Number.isNaN(v.getTime())) throw new ValidationError(`${path} is an invalid Date`);
      continue;
    }
    if (typeof v === 'bigint') throw new ValidationError(`${path} is a BigInt, which JSON cannot hold`);
    if (typeof v !== 'object') throw new ValidationError(`${path} is a ${typeof v}, which JSON cannot hold`);
    if (depth >= MAX_DEPTH) throw new ValidationError(`${what} is nested deeper than ${MAX_DEPTH} levels (or contains a cycle)`);
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const item = v[i];
        if (item === undefined) throw new ValidationError(`${path}[${i}] is undefined`);
        stack.push([item, depth + 1, `${path}[${i}]`]);
      }
      continue;
    }
    if (!isPlainObject(v)) throw new ValidationError(`${path} is not a plain object`);
    for (const key of Object.keys(v)) {
      if (key === '__proto__') throw new ValidationError(`${path} has a '__proto__' key`);
      if (key === 'constructor' && v[key] !== null && typeof v[key] === 'object' && 'prototype' in (v[key] as object)) {
        throw new ValidationError(`${path} has a 'constructor.prototype' key`);
      }
      const item = v[key];
      if (item === undefined) continue;
      stack.push([item, depth + 1, `${path}.${key.slice(0, 64)}`]);
    }
  }
}

export function checkSize(bytes: number, max: number, what = 'payload'): void {
  if (bytes > max) throw new PayloadTooLargeError(`${what} is ${bytes} bytes; the limit is ${max}`, { bytes, max });
}

/** Node's one-shot digest (20.12+, about twice as fast on small inputs); the hash object before it. */
const oneShot = (crypto as { hash?: (algorithm: string, data: Uint8Array | string, encoding: 'hex') => string }).hash;

export function sha256(data: Uint8Array | string): string {
  return oneShot ? oneShot('sha256', data, 'hex') : crypto.createHash('sha256').update(data).digest('hex');
}

/** Deterministic JSON (sorted keys) for request hashes and derived ids. */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (v instanceof Date) return JSON.stringify(v.toISOString());
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
    .join(',')}}`;
}

/**
 * A detached copy of a value `assertJsonPayload` accepted, as JSON.parse(JSON.stringify(v))
 * would give it (Dates as ISO strings, undefined properties dropped, same key order), without
 * serializing it: objects and arrays are copied, strings shared (immutable), so a 64 KB string
 * costs nothing to copy. Only -0 differs (JSON reads it back as 0; it serializes as 0 either way).
 */
export function copyJson<T>(v: T): T {
  if (v === null || typeof v !== 'object') return v;
  if (v instanceof Date) return v.toISOString() as T;
  if (Array.isArray(v)) return v.map(copyJson) as T;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v)) {
    const x = (v as Record<string, unknown>)[k];
    if (x !== undefined) out[k] = copyJson(x);
  }
  return out as T;
}

/** What `copyChecked` returns for anything `assertJsonPayload` would refuse. */
const REFUSED: unique symbol = Symbol('refused');

/**
 * `assertJsonPayload` then `copyJson` in one walk: the copy, or the very error
 * assertJsonPayload throws (the refusing value is found again by it, with its path,
 * only when the fast walk refuses). Recursion is bounded: it stops at MAX_DEPTH.
 */
export function checkedCopy(value: unknown, what = 'data'): Record<string, unknown> {
  const n = { nodes: 0 };
  const out = isPlainObject(value) ? copyNode(value, 0, n) : REFUSED;
  if (out === REFUSED) {
    assertJsonPayload(value, what);
    throw new ValidationError(`${what} is not plain JSON`); // not reached: assertJsonPayload refuses what the walk refused
  }
  return out as Record<string, unknown>;
}

function copyNode(v: unknown, depth: number, n: { nodes: number }): unknown {
  if (++n.nodes > MAX_NODES) return REFUSED;
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : REFUSED;
  if (typeof v !== 'object') return REFUSED;
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? REFUSED : v.toISOString();
  if (depth >= MAX_DEPTH) return REFUSED;
  if (Array.isArray(v)) {
    const arr = new Array<unknown>(v.length);
    for (let i = 0; i < v.length; i++) {
      const item = v[i];
      if (item === undefined) return REFUSED;
      const c = copyNode(item, depth + 1, n);
      if (c === REFUSED) return REFUSED;
      arr[i] = c;
    }
    return arr;
  }
  if (!isPlainObject(v)) return REFUSED;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(v)) {
    const item = v[key];
    if (key === '__proto__') return REFUSED;
    if (key === 'constructor' && item !== null && typeof item === 'object' && 'prototype' in item) return REFUSED;
    if (item === undefined) continue;
    const c = copyNode(item, depth + 1, n);
    if (c === REFUSED) return REFUSED;
    out[key] = c;
  }
  return out;
}
