/**
 * Garbage collection of payload objects that no version references (orphans
 * of failed, lost or interrupted writes), older than a grace period.
 *
 * It streams: keys are read from the store's listing and checked in batches of
 * GC_BATCH (one `findVersions` call per batch where the store has it, else one
 * `getVersion` per key), so memory stays bounded whatever the number of objects;
 * the result holds the count of removed objects and at most GC_SAMPLE of their keys.
 *
 * The grace period is at least twice the operation timeout: an object younger
 * than that may belong to a write attempt still in flight, whose commit has not
 * happened yet.
 */
import { ValidationError } from '../errors.js';
import { keyPrefix, parseJsonKey } from '../names.js';
import type { BucketRole, VersionDoc } from '../ports.js';
import { mapLimit } from './concurrency.js';
import type { EngineContext } from './context.js';
import { manifestVersions } from './manifest-read.js';

export const GC_BATCH = 500;
export const GC_SAMPLE = 20;
const DEFAULT_GRACE_MS = 3600_000;

export interface GcOptions {
  /** Only objects older than this are candidates. Default 1 hour; at least 2 x operationTimeoutMs. */
  graceMs?: number;
  /** Count (and sample) what would be removed, delete nothing. */
  dryRun?: boolean;
}

export interface GcResult {
  /** Objects listed in the json and content buckets under this namespace. */
  scanned: number;
  /** Objects removed (or, with dryRun, that would be). */
  removed: number;
  /** Up to GC_SAMPLE removed keys as `bucket:key`, only when something was removed. */
  removedSample?: string[];
}

interface Candidate {
  key: string;
  itemId: string;
  ov: number;
  /** Content objects: the externalized property they belong to. */
  prop?: string;
}

/** The smallest grace period accepted: twice the operation timeout. */
export const gcGraceFloor = (cx: EngineContext): number => 2 * cx.operationTimeoutMs;

export async function collectGarbage(cx: EngineContext, opts: GcOptions = {}): Promise<GcResult> {
  const floor = gcGraceFloor(cx);
  const grace = opts.graceMs ?? Math.max(DEFAULT_GRACE_MS, floor);
  if (typeof grace !== 'number' || !Number.isFinite(grace) || grace < floor) {
    throw new ValidationError(
      `graceMs must be at least ${floor} ms (twice the operation timeout of ${cx.operationTimeoutMs} ms): a younger object may belong to a write still in flight`,
      { graceMs: grace, floorMs: floor },
    );
  }
  await cx.ensure();
  const prefix = keyPrefix(cx.ns);
  const cutoff = cx.clock() - grace;
  const out: GcResult = { scanned: 0, removed: 0 };
  for (const bucket of ['json', 'content'] as const) {
    let batch: Candidate[] = [];
    for await (const e of cx.blobs.list(bucket, prefix)) {
      out.scanned++;
      if (e.lastModified.getTime() > cutoff) continue;
      const c = bucket === 'json' ? jsonCandidate(cx, e.key) : contentCandidate(prefix, e.key);
      if (!c) continue;
      batch.push(c);
      if (batch.length >= GC_BATCH) {
        await sweep(cx, bucket, batch, !!opts.dryRun, out);
        batch = [];
      }
    }
    if (batch.length) await sweep(cx, bucket, batch, !!opts.dryRun, out);
  }
  return out;
}

function jsonCandidate(cx: EngineContext, key: string): Candidate | null {
  const p = parseJsonKey(cx.ns, key);
  return p ? { key, itemId: p.id, ov: p.ov } : null;
}

function contentCandidate(prefix: string, key: string): Candidate | null {
  const segs = key.slice(prefix.length).split('/');
  if (segs.length < 5) return null;
  const ovSeg = segs[segs.length - 3]!;
  if (!/^v\d+$/.test(ovSeg)) return null;
  return { key, itemId: segs[segs.length - 4]!, ov: Number(ovSeg.slice(1)), prop: segs.slice(0, -4).join('/') };
}

const refKey = (itemId: string, ov: number) => `${itemId}\u0000${ov}`;

/** Looks up the versions of one batch, then deletes the objects none of them references. */
async function sweep(cx: EngineContext, bucket: BucketRole, batch: Candidate[], dryRun: boolean, out: GcResult): Promise<void> {
  const refs = new Map<string, { itemId: string; ov: number }>();
  for (const c of batch) refs.set(refKey(c.itemId, c.ov), { itemId: c.itemId, ov: c.ov });
  const versions = new Map<string, VersionDoc>();
  if (cx.meta.findVersions) {
    for (const v of await cx.meta.findVersions(cx.ns, [...refs.values()])) versions.set(refKey(v.itemId, v.ov), v);
  } else {
    await mapLimit([...refs.values()], 8, async (r) => {
      const v = await cx.meta.getVersion(cx.ns, r.itemId, { ov: r.ov });
      if (v && v.itemId === r.itemId && v.ov === r.ov) versions.set(refKey(r.itemId, r.ov), v);
    });
  }
  // rows pruned from the index live on in manifests: their payloads are not orphans
  const missing = [...refs].filter(([k]) => !versions.has(k)).map(([, r]) => r);
  if (missing.length) for (const v of await manifestVersions(cx, missing)) versions.set(refKey(v.itemId, v.ov), v);
  const orphans = batch.filter((c) => {
    const v = versions.get(refKey(c.itemId, c.ov));
    if (!v) return true;
    if (c.prop === undefined) return v.jsonKey !== c.key;
    const ref = v.blobs?.[c.prop];
    return !ref || (ref.key !== c.key && ref.textKey !== c.key);
  });
  for (const o of orphans) {
    out.removed++;
    if ((out.removedSample ??= []).length < GC_SAMPLE) out.removedSample.push(`${bucket}:${o.key}`);
  }
  if (!dryRun) await mapLimit(orphans, 8, (o) => cx.blobs.delete(bucket, o.key));
}
