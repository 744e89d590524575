/** Validation of names and ids, and the keys built from them. Every key is built here. */
import { ValidationError } from './errors.js';
import type { Namespace } from './ports.js';
import { isFieldPath } from './port-rules.js';

const COLLECTION_RE = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
const DBNAME_RE = /^[A-Za-z0-9_-]{1,63}$/;
const TENANT_RE = /^[A-Za-z0-9_-]{1,64}$/;
const ID_RE = /^[A-Za-z0-9_-]{1,128}$/;

const show = (v: unknown) => JSON.stringify(typeof v === 'string' ? v.slice(0, 64) : v);

export function assertCollection(name: unknown): asserts name is string {
  if (typeof name !== 'string' || !COLLECTION_RE.test(name) || name.toLowerCase().startsWith('system')) {
    throw new ValidationError(`Invalid collection name ${show(name)}: use 1-64 letters, digits, '_' or '-', starting with a letter, not 'system*'`);
  }
}

export function assertDbName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || !DBNAME_RE.test(name) || name === 'admin' || name === 'local' || name === 'config') {
    throw new ValidationError(`Invalid dbName ${show(name)}: use 1-63 letters, digits, '_' or '-'`);
  }
}

export function assertTenant(name: unknown): asserts name is string {
  if (typeof name !== 'string' || !TENANT_RE.test(name)) {
    throw new ValidationError(`Invalid tenant ${show(name)}: use 1-64 letters, digits, '_' or '-'`);
  }
}

export function assertNamespace(ns: Namespace): void {
  assertDbName(ns.dbName);
  assertCollection(ns.collection);
  if (ns.tenant !== undefined) assertTenant(ns.tenant);
}

/** Whether this is a valid record id (assertId without the throw). */
export function isId(id: unknown): id is string {
  return typeof id === 'string' && ID_RE.test(id);
}

export function assertId(id: unknown): asserts id is string {
  if (!isId(id)) {
    throw new ValidationError(`Invalid record id ${show(id)}: use 1-128 letters, digits, '_' or '-'`);
  }
}

export function assertPropPath(p: unknown): asserts p is string {
  if (!isFieldPath(p)) {
    throw new ValidationError(`Invalid property path ${show(p)}`);
  }
}

export function assertOv(ov: unknown, name = 'expectedOv'): asserts ov is number {
  if (typeof ov !== 'number' || !Number.isSafeInteger(ov) || ov < 0) {
    throw new ValidationError(`${name} must be a non-negative integer, got ${show(ov)}`);
  }
}

/** Most requestIds one `MetadataStore.findByRequestIds` call takes. */
export const MAX_REQUEST_IDS = 1000;

/** The argument of `findByRequestIds`: an array of at most MAX_REQUEST_IDS non-empty strings of at most 256 characters. */
export function assertRequestIds(ids: unknown): asserts ids is readonly string[] {
  if (!Array.isArray(ids) || ids.length > MAX_REQUEST_IDS)
    throw new ValidationError(`findByRequestIds takes an array of at most ${MAX_REQUEST_IDS} requestIds`);
  for (const r of ids) {
    if (typeof r !== 'string' || r.length === 0 || r.length > 256)
      throw new ValidationError(`Invalid requestId ${show(r)}: a non-empty string of at most 256 characters`);
  }
}

/** Physical name of a namespace inside its database: `<tenant>__<collection>` or `<collection>`. */
export function physicalName(ns: Namespace): string {
  return ns.tenant ? `${ns.tenant}__${ns.collection}` : ns.collection;
}

/** Prefix of every object key of a namespace: `<dbName>/[t.<tenant>/]<collection>/`. */
export function keyPrefix(ns: Namespace): string {
  return `${ns.dbName}/${ns.tenant ? `t.${ns.tenant}/` : ''}${ns.collection}/`;
}

/**
 * Key of a version payload. The attempt suffix makes every write attempt use
 * a fresh key, so a losing writer can never overwrite a winner's payload.
 */
export function jsonKey(ns: Namespace, id: string, ov: number, attempt: string): string {
  return `${keyPrefix(ns)}${id}/v${ov}/${attempt}/item.json`;
}

export function blobKey(ns: Namespace, prop: string, id: string, ov: number, attempt: string, kind: 'blob.bin' | 'text.txt' = 'blob.bin'): string {
  return `${keyPrefix(ns)}${prop}/${id}/v${ov}/${attempt}/${kind}`;
}

/** Parses a json-bucket key back to (id, ov) for garbage collection. */
export function parseJsonKey(ns: Namespace, key: string): { id: string; ov: number } | null {
  const prefix = keyPrefix(ns);
  if (!key.startsWith(prefix)) return null;
  const m = /^([A-Za-z0-9_-]{1,128})\/v(\d+)\/[A-Za-z0-9_-]+\/item\.json$/.exec(key.slice(prefix.length));
  return m ? { id: m[1]!, ov: Number(m[2]) } : null;
}

/** Two hex digits per byte value. */
const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));
/**
 * Random bytes for ids, drawn from a pool refilled 4 KiB at a time: one call into the CSPRNG
 * per ~300 ids instead of one per id (each call costs microseconds, a pid check included).
 */
const pool = new Uint8Array(4096);
let poolAt = pool.length;

function randomHex(bytes: number): string {
  if (poolAt + bytes > pool.length) {
    globalThis.crypto.getRandomValues(pool);
    poolAt = 0;
  }
  let s = '';
  for (let i = 0; i < bytes; i++) s += HEX[pool[poolAt++]!];
  return s;
}

let lastMs = -1;
let lastHex = '';
let hi = 0;
let lo = 0;
const hex8 = (n: number) => n.toString(16).padStart(8, '0');

/**
 * Time-ordered, URL- and path-safe id: 12 hex of ms time + 16 hex. The 16 are random for the
 * first id of a millisecond and count up from there for the next ones of the same millisecond,
 * so a process's ids sort in the order it made them (keyset pages, appends at the end of indexes).
 */
export function newId(): string {
  const now = Date.now();
  if (now !== lastMs) {
    lastMs = now;
    lastHex = now.toString(16).padStart(12, '0');
    const r = randomHex(8);
    hi = Number.parseInt(r.slice(0, 8), 16);
    lo = Number.parseInt(r.slice(8), 16);
  } else {
    lo = (lo + 1) >>> 0;
    if (lo === 0) hi = (hi + 1) >>> 0;
  }
  return lastHex + hex8(hi) + hex8(lo);
}

export function newAttempt(): string {
  return randomHex(6);
}
