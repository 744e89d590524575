/**
 * The stores of a hashed namespace when the topology keeps a placement
 * registry: every call asks the registry where the namespace lives now (the
 * entry cached for the lease: no I/O per call, one registry read per lease)
 * and runs on that backend's stores. So an engine of a hashed context never
 * writes where the namespace no longer lives, however long the call: each
 * batch of a bulk stream (createMany, updateMany, restoreCollection, import),
 * each step of rollup, prune, GC or TTL marking re-checks the placement
 * before its write. While the namespace is fenced by rebalance a write waits
 * for the flip (up to placementWaitMs, then a retriable StorageError); after
 * the flip it goes to the destination. Reads go to the source until the flip.
 *
 * `close` stays with the pooled store (the runtime closes pools); every other
 * method, including optional ones, is resolved per call. Properties
 * (`capabilities`, `payloadLink`) are the base store's.
 */
import type { BlobStore, MetadataStore, Namespace } from '@chronos-db/core';
import type { Backend, StorageRef } from '@chronos-db/router';
import type { Intent, Placement } from './placement.js';

/** MetadataStore methods that change stored data (they wait while the namespace moves). */
const META_WRITES: ReadonlySet<string> = new Set([
  'commit',
  'commitMany',
  'setState',
  'deleteVersions',
  'hardDelete',
  'beginErasure',
  'finishErasure',
  'clearShadow',
  'putLease',
  'scrub',
]);
/** BlobStore methods that change stored data. */
const BLOB_WRITES: ReadonlySet<string> = new Set(['put', 'delete', 'purgePrefix', 'scrub']);
/** Methods that return an AsyncIterable (synchronously). */
const ITERABLES: ReadonlySet<string> = new Set(['scanHeads', 'list']);

type Fn = (...a: unknown[]) => unknown;

function placedProxy<S extends object>(base: S, writes: ReadonlySet<string>, current: (intent: Intent) => Promise<S>): S {
  const fns = new Map<PropertyKey, unknown>();
  return new Proxy(base, {
    get(t, p) {
      const v = Reflect.get(t, p, t) as unknown;
      if (typeof v !== 'function' || typeof p !== 'string' || p === 'close' || p === 'constructor') return v;
      let w = fns.get(p);
      if (!w) {
        const intent: Intent = writes.has(p) ? 'write' : 'read';
        w = ITERABLES.has(p)
          ? (...a: unknown[]) =>
              (async function* () {
                const s = (await current(intent)) as unknown as Record<string, Fn>;
                yield* s[p]!(...a) as AsyncIterable<unknown>;
              })()
          : async (...a: unknown[]) => {
              const s = (await current(intent)) as unknown as Record<string, Fn>;
              return s[p]!(...a);
            };
        fns.set(p, w);
      }
      return w;
    },
  });
}

export function placedStores(
  ns: Namespace,
  placement: Placement,
  base: Backend,
  metaFor: (b: Backend) => MetadataStore,
  blobsFor: (s: StorageRef) => BlobStore,
): { meta: MetadataStore; blobs: BlobStore } {
  const where = placement.resolver(ns);
  return {
    meta: placedProxy(metaFor(base), META_WRITES, async (i) => metaFor(await where(i))),
    blobs: placedProxy(blobsFor(base.spacesConnIndex), BLOB_WRITES, async (i) => blobsFor((await where(i)).spacesConnIndex)),
  };
}
