/**
 * Erasure (right to be forgotten): `hardDelete` and `listErasures`.
 *
 * The steps, each idempotent so that a rerun after a crash at any point finishes the job:
 *   1. the tombstone (MetadataStore.beginErasure): from then on, in every process, commits of
 *      the record fail and reads answer "missing" (core engine/erased.ts); then the record's ops
 *      in the fallback queue (QueueStore.eraseOrderKeys; a write queued later is refused at
 *      replay and dead-lettered without its content);
 *   2. payloads, content blobs and text renditions: the keys the versions name, then every
 *      object under the record's key prefixes, with every stored object version where the
 *      bucket keeps them (BlobStore.purgePrefix);
 *   3. the versions and the head (MetadataStore.hardDelete), then the prefixes again (a payload
 *      of a write refused in the meantime);
 *   4. the record's rows in every manifest of the backups bucket, where manifests exist;
 *   5. the queue again, scrub (an embedded database's and journal's free pages and write-ahead
 *      logs), then the erasure record
 *      is marked done with its counts. It keeps who, when, why and how many; no content.
 */
import {
  NotFoundError,
  ValidationError,
  assertErasureInput,
  assertId,
  keyPrefix,
  queueOrderKey,
  rewriteManifestsWithout,
  type BlobStore,
  type ErasureRecord,
  type HardDeleteOptions,
  type HardDeleteResult,
  type MetadataStore,
} from '@chronos-db/core';
import { requireConfirm } from './confirm.js';
import { placedTarget, type AdminRuntime, type AdminTarget } from './runtime.js';

const PAGE = 1000;

function erasurePorts(meta: MetadataStore) {
  const { beginErasure, finishErasure, erasedIds } = meta;
  if (!beginErasure || !finishErasure || !erasedIds)
    throw new ValidationError('hardDelete needs a metadata store that keeps tombstones (beginErasure, finishErasure, erasedIds); this one does not');
  return { begin: beginErasure.bind(meta), finish: finishErasure.bind(meta), erased: erasedIds.bind(meta) };
}

/** Deletes every object under a prefix, with its stored versions where the store keeps them. */
async function purge(blobs: BlobStore, bucket: 'json' | 'content', prefix: string): Promise<number> {
  if (blobs.purgePrefix) return blobs.purgePrefix(bucket, prefix);
  const keys: string[] = [];
  for await (const e of blobs.list(bucket, prefix)) keys.push(e.key);
  for (const k of keys) await blobs.delete(bucket, k);
  return keys.length;
}

/** Removes one record for good. Needs `hardDeleteEnabled` and `{ confirm: true }`. */
export async function hardDelete(rt: AdminRuntime, ctx: AdminTarget, id: string, opts: HardDeleteOptions): Promise<HardDeleteResult> {
  rt.assertOpen();
  assertId(id);
  if (!rt.cfg.hardDeleteEnabled) throw new ValidationError('hardDelete is disabled: set hardDeleteEnabled: true in the config');
  requireConfirm(opts, 'hardDelete', false);
  const at = Date.now();
  const input = { itemId: id, at, ...(opts.actor !== undefined ? { actor: opts.actor } : {}), ...(opts.reason !== undefined ? { reason: opts.reason } : {}) };
  assertErasureInput(input);
  const r = await placedTarget(rt, ctx);
  const { meta, blobs, ns } = r;
  const ports = erasurePorts(meta);

  // Nothing is written for an id that names no record and no earlier erasure.
  const rerun = (await ports.erased(ns, [id])).length > 0;
  if (!rerun && !(await meta.getHead(ns, id)) && (await meta.listVersions(ns, id, { limit: 1 })).length === 0)
    throw new NotFoundError(`Record '${id}' not found`, { id });

  // 1. the tombstone
  const { created, record: began } = await ports.begin(ns, input);

  // 1b. the record's ops in the fallback queue (pending, claimed, dead: their bodies hold its content), by every route it
  // can have been queued through; again at step 5 for one queued meanwhile. A write queued after this is refused at replay.
  const queue = rt.fallbackQueue();
  const orderKeys = queue ? rt.topology.backends.map((b) => queueOrderKey({ key: b.key, storage: b.spacesConnIndex }, ns, id)) : [];
  const dropQueued = async () => (queue?.eraseOrderKeys ? queue.eraseOrderKeys(orderKeys) : 0);
  let queuedOps = await dropQueued();

  // 2. payloads and blobs: the keys the versions name, then the record's prefixes
  let versions = 0;
  let objects = 0;
  const jsonKeys = new Set<string>();
  const contentKeys = new Set<string>();
  const props = new Set(Object.keys(rt.cfg.collectionMaps?.[ns.collection]?.base64Props ?? {}));
  for (let afterOv: number | undefined; ; ) {
    rt.assertOpen();
    const page = await meta.listVersions(ns, id, { limit: PAGE, ...(afterOv !== undefined ? { afterOv } : {}) });
    for (const v of page) {
      versions++;
      jsonKeys.add(v.jsonKey);
      for (const [prop, b] of Object.entries(v.blobs ?? {})) {
        props.add(prop);
        contentKeys.add(b.key);
        if (b.textKey) contentKeys.add(b.textKey);
      }
    }
    if (page.length < PAGE) break;
    afterOv = page[page.length - 1]!.ov;
  }
  const base = keyPrefix(ns);
  const prefixes: Array<['json' | 'content', string]> = [
    ['json', `${base}${id}/`],
    ...[...props].map((p): ['content', string] => ['content', `${base}${p}/${id}/`]),
  ];
  const outside = (bucket: 'json' | 'content', k: string) => !prefixes.some(([b, p]) => b === bucket && k.startsWith(p));
  for (const k of jsonKeys) if (outside('json', k)) objects += await purge(blobs, 'json', k);
  for (const k of contentKeys) if (outside('content', k)) objects += await purge(blobs, 'content', k);
  const sweep = async () => {
    for (const [bucket, prefix] of prefixes) {
      rt.assertOpen();
      objects += await purge(blobs, bucket, prefix);
    }
  };
  await sweep();

  // 3. the version index and the head, then the prefixes again
  rt.assertOpen();
  const removed = await meta.hardDelete(ns, id);
  versions = Math.max(versions, removed.length);
  await sweep();

  // 4. manifests
  rt.assertOpen();
  const m = await rewriteManifestsWithout(blobs, ns, id);
  const manifestsRewritten: number | null = m.partsRewritten;
  objects += m.objectsDeleted;

  // 5. the queue again, scrub, then the erasure record
  queuedOps += await dropQueued();
  const scrubbed = (await (meta.scrub?.() ?? true)) && (await (blobs.scrub?.() ?? true)) && (await (queue?.scrub?.() ?? true));
  const finishedAt = Date.now();
  // a rerun of a finished erasure (a ghost swept, see finishErasures) adds to what the record says went
  const prior = began.status === 'done' ? began : undefined;
  const result = {
    at: finishedAt,
    versionsDeleted: versions + (prior?.versionsDeleted ?? 0),
    objectsDeleted: objects + (prior?.objectsDeleted ?? 0),
    ...(manifestsRewritten !== null ? { manifestsRewritten: manifestsRewritten + (prior?.manifestsRewritten ?? 0) } : {}),
  };
  await ports.finish(ns, id, result);
  const { at: _, ...counts } = result;
  return rt.redactor.value({
    id,
    versionsDeleted: versions,
    objectsDeleted: objects,
    manifestsRewritten,
    queuedOpsDeleted: queuedOps,
    scrubbed,
    firstRun: created,
    record: { ...began, status: 'done' as const, finishedAt, ...counts },
  });
}

/** The erasure records of a context, in id order, in pages: `{ items, pageToken? }`. */
export async function listErasures(
  rt: AdminRuntime,
  ctx: AdminTarget,
  opts: { limit?: number; pageToken?: string } = {},
): Promise<{ items: ErasureRecord[]; pageToken?: string }> {
  rt.assertOpen();
  const limit = opts.limit ?? 100;
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new ValidationError('limit must be an integer from 1 to 1000');
  if (opts.pageToken !== undefined) assertId(opts.pageToken);
  const r = await placedTarget(rt, ctx);
  if (!r.meta.listErasures) throw new ValidationError('listErasures needs a metadata store that keeps erasure records; this one does not');
  const items = await r.meta.listErasures(r.ns, { limit: limit + 1, ...(opts.pageToken !== undefined ? { afterId: opts.pageToken } : {}) });
  const page = items.slice(0, limit);
  return rt.redactor.value(items.length > limit ? { items: page, pageToken: page[page.length - 1]!.itemId } : { items: page });
}

/**
 * Maintenance: reruns every erasure of a context that an interruption left unfinished, and sweeps
 * the ghosts of finished ones.
 *
 * A ghost (MongoDB without transactions, or with them: the look follows the transaction): a
 * writer that read the record before its tombstone, whose version insert (the commit point)
 * landed after the erasure's deletes, and that died (SIGKILL) before its tombstone look, which
 * would have undone it (storage-mongo lifecycle.ts). It leaves a version, and possibly a head, of
 * an erased record: reads answer "missing" (the tombstone), but the bytes are there.
 *
 * Why no ghost survives one maintenance pass begun after the writer died: the tombstone is
 * written before any delete and is never removed, so the ghost's record is in `listErasures`,
 * which this pass reads in full, 'done' ones included. For each, the version index (the truth:
 * `listVersions`) and the head (`getHead` forWrite: the stored head as it is, else a version
 * found) are read; the writer's insert and head write ended on the server before or when its
 * connection closed with its death, so they are visible to these reads. Anything found reruns
 * `hardDelete`, which removes every version and the head of the id, the record's payload
 * prefixes and manifest rows, and adds what it removed to the erasure record's counts. A
 * writer still alive is no ghost: its own look undoes its write. The embedded store has no
 * ghosts (its commits check the tombstone inside their transaction); the sweep costs it the
 * same two reads per erasure.
 */
export async function finishErasures(rt: AdminRuntime, ctx: AdminTarget): Promise<{ finished: number; ghostsSwept: number }> {
  const r = await placedTarget(rt, ctx);
  let finished = 0;
  let ghostsSwept = 0;
  let pageToken: string | undefined;
  do {
    const page = await listErasures(rt, r, { limit: 100, ...(pageToken !== undefined ? { pageToken } : {}) });
    for (const e of page.items) {
      if (e.status === 'erasing') {
        await hardDelete(rt, r, e.itemId, { confirm: true });
        finished++;
        continue;
      }
      rt.assertOpen();
      const ghost = (await r.meta.listVersions(r.ns, e.itemId, { limit: 1 })).length > 0 || (await r.meta.getHead(r.ns, e.itemId, { forWrite: true })) !== null;
      if (!ghost) continue;
      await hardDelete(rt, r, e.itemId, { confirm: true });
      ghostsSwept++;
    }
    pageToken = page.pageToken;
  } while (pageToken);
  return { finished, ghostsSwept };
}
