/** Reads both stores directly to check what was really stored, not only what the engine says. */
import { expect } from '../assert.js';
import { keyPrefix, type BlobStore, type MetadataStore, type Namespace } from '@chronos-db/core';

export interface StoreSnapshot {
  json: string[];
  content: string[];
  heads: Array<[string, number]>;
  cv: number;
}

/** Every object key and head of the namespace's database, for "nothing was written" checks. */
export async function snapshotStores(stores: { meta: MetadataStore; blobs: BlobStore }, ns: Namespace): Promise<StoreSnapshot> {
  const list = async (bucket: 'json' | 'content') => {
    const out: string[] = [];
    for await (const e of stores.blobs.list(bucket, `${ns.dbName}/`)) out.push(e.key);
    return out.sort();
  };
  const heads: Array<[string, number]> = [];
  let afterId: string | undefined;
  for (;;) {
    const page = await stores.meta.queryHeads(ns, { limit: 500, includeDeleted: true, ...(afterId ? { afterId } : {}) });
    for (const h of page) heads.push([h.itemId, h.ov]);
    if (page.length < 500) break;
    afterId = page[page.length - 1]!.itemId;
  }
  return { json: await list('json'), content: await list('content'), heads, cv: await stores.meta.currentCv(ns) };
}

/** I1: every key named by a head or a version of these records exists. */
export async function assertNoDanglingPointers(stores: { meta: MetadataStore; blobs: BlobStore }, ns: Namespace, ids: string[]): Promise<void> {
  for (const id of ids) {
    const head = await stores.meta.getHead(ns, id);
    const versions = await stores.meta.listVersions(ns, id, { limit: 100_000 });
    if (head) expect(head.ov).toBe(versions[versions.length - 1]?.ov);
    for (const v of head ? [head, ...versions] : versions) {
      expect(v.jsonKey.startsWith(keyPrefix(ns))).toBe(true);
      expect(await stores.blobs.head('json', v.jsonKey)).not.toBeNull();
      for (const b of Object.values(v.blobs ?? {})) {
        expect(await stores.blobs.head('content', b.key)).not.toBeNull();
        if (b.textKey) expect(await stores.blobs.head('content', b.textKey)).not.toBeNull();
      }
    }
  }
}
