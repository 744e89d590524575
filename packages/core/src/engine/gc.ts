/**
 * Garbage collection of payload objects that no version references (orphans
 * of failed or lost writes), older than a grace period.
 */
import { ValidationError } from '../errors.js';
import { keyPrefix, parseJsonKey } from '../names.js';
import type { EngineContext } from './context.js';

export interface GcOptions {
  graceMs?: number;
  dryRun?: boolean;
}

export async function collectGarbage(cx: EngineContext, opts: GcOptions = {}): Promise<{ scanned: number; removed: string[] }> {
  const grace = opts.graceMs ?? 3600_000;
  if (!Number.isFinite(grace) || grace < 0) throw new ValidationError('graceMs must be a non-negative number');
  await cx.ensure();
  const prefix = keyPrefix(cx.ns);
  const cutoff = cx.clock() - grace;
  const removed: string[] = [];
  let scanned = 0;
  for (const bucket of ['json', 'content'] as const) {
    for await (const e of cx.blobs.list(bucket, prefix)) {
      scanned++;
      if (e.lastModified.getTime() > cutoff) continue;
      let referenced = true;
      if (bucket === 'json') {
        const p = parseJsonKey(cx.ns, e.key);
        if (!p) continue;
        const v = await cx.meta.getVersion(cx.ns, p.id, { ov: p.ov });
        referenced = !!v && v.jsonKey === e.key;
      } else {
        const segs = e.key.slice(prefix.length).split('/');
        if (segs.length < 5) continue;
        const id = segs[segs.length - 4]!;
        const ovSeg = segs[segs.length - 3]!;
        const prop = segs.slice(0, -4).join('/');
        if (!/^v\d+$/.test(ovSeg)) continue;
        const v = await cx.meta.getVersion(cx.ns, id, { ov: Number(ovSeg.slice(1)) });
        const ref = v?.blobs?.[prop];
        referenced = !!ref && (ref.key === e.key || ref.textKey === e.key);
      }
      if (!referenced) {
        removed.push(`${bucket}:${e.key}`);
        if (!opts.dryRun) await cx.blobs.delete(bucket, e.key);
      }
    }
  }
  return { scanned, removed };
}
