/**
 * Deep merge for `enrich`: objects merge key by key, arrays are unioned
 * (objects carrying `id` or `_id` merge by identity, other values are added
 * when not already present), scalars and null replace.
 */
import { canonicalJson, isPlainObject } from './payload.js';

function identity(v: unknown): string | undefined {
  if (!isPlainObject(v)) return undefined;
  const id = v.id ?? v._id;
  return typeof id === 'string' || typeof id === 'number' ? `${typeof id}:${id}` : undefined;
}

function unionArrays(base: unknown[], patch: unknown[]): unknown[] {
  const out = base.slice();
  const byId = new Map<string, number>();
  const seen = new Set<string>();
  out.forEach((v, i) => {
    const id = identity(v);
    if (id !== undefined) byId.set(id, i);
    else seen.add(canonicalJson(v));
  });
  for (const item of patch) {
    const id = identity(item);
    if (id !== undefined) {
      const at = byId.get(id);
      if (at !== undefined) out[at] = deepMerge(out[at] as Record<string, unknown>, item as Record<string, unknown>);
      else {
        byId.set(id, out.length);
        out.push(item);
      }
      continue;
    }
    const key = canonicalJson(item);
    if (!seen.has(key)) {
      seen.add(key);
      out.push(item);
    }
  }
  return out;
}

/** Returns a new object; inputs are not modified. Inputs are validated JSON (bounded depth). */
export function deepMerge(base: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const key of Object.keys(patch)) {
    const pv = patch[key];
    if (pv === undefined) continue;
    const bv = out[key];
    if (isPlainObject(pv) && isPlainObject(bv)) out[key] = deepMerge(bv, pv);
    else if (Array.isArray(pv) && Array.isArray(bv)) out[key] = unionArrays(bv, pv);
    else out[key] = pv;
  }
  return out;
}
