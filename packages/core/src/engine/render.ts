/** Reading one stored payload (devShadow or the json bucket, checksum-verified) and shaping it for the caller. */
import { IntegrityError, NotFoundError, StorageError } from '../errors.js';
import type { HeadDoc, VersionDoc, VersionSelector } from '../ports.js';
import { iso, type EngineContext } from './context.js';
import { isFromManifest, versionAt } from './manifest-read.js';
import { renderBlobs } from './externalize.js';
import { isPlainObject, sha256 } from './payload.js';
import type { ChronosRecord, ReadOptions } from './types.js';

export async function loadStored(cx: EngineContext, v: VersionDoc & { shadow?: HeadDoc['shadow'] }): Promise<Record<string, unknown>> {
  let text: string;
  if (v.shadow && v.shadow.expiresAt > cx.clock()) text = v.shadow.json;
  else {
    let bytes: Uint8Array;
    try {
      bytes = await cx.blobs.get('json', v.jsonKey);
    } catch (e) {
      if (e instanceof NotFoundError)
        throw new StorageError(`Payload of record '${v.itemId}' v${v.ov} is missing from the json bucket`, { id: v.itemId, ov: v.ov });
      throw e;
    }
    if (sha256(bytes) !== v.sha256) throw new IntegrityError(`Checksum mismatch for record '${v.itemId}' v${v.ov}`, { id: v.itemId, ov: v.ov });
    text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  }
  return JSON.parse(text) as Record<string, unknown>;
}

/**
 * `_system.state`, the record's processing state:
 * - `new-not-synched`: a payload written but whose version is not committed (yet, or ever: a
 *   lost or interrupted write). Only the stored payload objects carry it; a read never returns it,
 *   since what it returns is committed.
 * - `new`: set by every commit of a version (create, update, enrich, delete, restore). So a record
 *   that was `processed` becomes `new` again when it changes.
 * - `processed`: set without a new version by admin marking (`markItemAsProcessed`, TTL marking),
 *   until the record's next version.
 * Latest reads show the head's state; a past version (getVersion, getAsOf) shows `new`: the
 * processing state belongs to the record, not to a version.
 */
export async function render(
  cx: EngineContext,
  v: VersionDoc & { shadow?: HeadDoc['shadow'] },
  head: HeadDoc | null,
  opts: ReadOptions,
): Promise<ChronosRecord> {
  const doc = await loadStored(cx, v);
  const stored = isPlainObject(doc._system) ? doc._system : {};
  let urls: Record<string, string> | undefined;
  if (opts.presign && v.blobs && cx.blobs.presign && cx.blobs.capabilities.presign) {
    urls = {};
    for (const [prop, ref] of Object.entries(v.blobs)) urls[prop] = await cx.blobs.presign('content', ref.key, opts.ttlSeconds ?? 3600);
  }
  renderBlobs(doc, v.blobs, urls);
  const createdAt = head?.createdAt ?? (typeof stored.insertedAt === 'string' ? Date.parse(stored.insertedAt) : v.at);
  const system: Record<string, unknown> = { insertedAt: iso(createdAt), updatedAt: iso(v.at), state: head?.state ?? 'new' };
  if (v.deleted) {
    system.deleted = true;
    system.deletedAt = iso(v.at);
  }
  if (v.functionIds?.length) system.functionIds = v.functionIds;
  let body: Record<string, unknown> = doc;
  if (opts.projection) {
    body = {};
    for (const p of opts.projection) if (p in doc && p !== '_system') body[p] = doc[p];
  }
  delete body._system;
  const out = { id: v.itemId, ...body, _system: system } as ChronosRecord;
  if (opts.includeMeta) {
    out._meta = {
      ov: v.ov,
      cv: v.cv,
      at: iso(v.at),
      op: v.op,
      metaIndexed: v.metaIndexed,
      ...(v.deleted ? { deletedAt: iso(v.at) } : {}),
      ...(isFromManifest(v) ? { source: 'manifest' as const } : {}),
    };
  }
  return out;
}

/** One version of one record by selector, rendered (null when missing, or deleted unless asked). */
export async function readAt(cx: EngineContext, id: string, sel: VersionSelector, opts: ReadOptions): Promise<ChronosRecord | null> {
  await cx.ensure();
  // One index lookup and one GET: insertedAt and state come from the version's own payload.
  const v = await versionAt(cx, id, sel);
  if (!v || v.itemId !== id) return null;
  if (v.deleted && !opts.includeDeleted) return null;
  return render(cx, v, null, opts);
}
