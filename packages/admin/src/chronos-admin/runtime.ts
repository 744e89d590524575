/**
 * The small interface `chronos.admin` needs from a running chronos-db
 * instance. chronos-db's `runtime.ts` implements it; this package never
 * imports chronos-db (the package graph stays one-way).
 */
import type { BlobStore, CounterStore, GcOptions, GcResult, MetadataStore, Namespace, ParsedConfig, QueueStore, Redactor } from '@chronos-db/core';
import type { Backend, ContextInput, StorageRef, Topology } from '@chronos-db/router';

/** What a context resolved to. */
export interface AdminResolved {
  backend: Backend;
  storage: StorageRef;
  ns: Namespace;
  meta: MetadataStore;
  blobs: BlobStore;
}

export interface AdminRuntime {
  readonly cfg: ParsedConfig;
  readonly topology: Topology;
  /** The instance's redactor (its config's secrets): every admin result passes through it. */
  readonly redactor: Redactor;
  /** Throws `ChronosError` code 'CLOSED' once the instance is shut down. */
  assertOpen(): void;
  /**
   * The one resolution of a context: a hashed context goes through the placement registry (where its
   * data lives now, in any process, cached or not; `write`, the default, waits while it moves), and
   * its stores re-check the placement on every call.
   */
  resolvePlaced(ctx: ContextInput, intent?: 'read' | 'write'): Promise<AdminResolved>;
  metaFor(backend: Backend): MetadataStore;
  /** The pooled blob store of a storage reference (for S3: one client per connection, reused by health). */
  blobsFor(storage: StorageRef): BlobStore;
  counterStore(): CounterStore | undefined;
  /** The context's engine (the instance's bounded per-context cache); admin only collects garbage through it. */
  engine(ctx: ContextInput): { collectGarbage(opts?: GcOptions): Promise<GcResult> };
  /** The contexts bound in this process so far (the engine cache's). */
  boundContexts(): AdminResolved[];
  /** Every namespace of every configured backend, on the backend it was found on (maintenance without a context); hashed ones follow the placement. */
  allNamespaces(): Promise<AdminResolved[]>;
  /** The engine of a resolved namespace (maintenance of a namespace `allNamespaces` found: a hashed one's stores follow the placement). */
  engineOf(r: AdminResolved): { collectGarbage(opts?: GcOptions): Promise<GcResult> };
  /** The fallback queue's store, or undefined with fallback off (erasure removes a record's queued ops). */
  fallbackQueue(): QueueStore | undefined;
  /** Marks the instance closed, then closes every client it opened. */
  shutdown(): Promise<void>;
}

/** What an admin function runs on: a context, or a namespace already resolved (maintenance of the namespaces `allNamespaces` found). */
export type AdminTarget = ContextInput | AdminResolved;

export function isResolved(t: AdminTarget): t is AdminResolved {
  return typeof t === 'object' && t !== null && 'ns' in t && 'meta' in t && 'backend' in t;
}

/** The target's namespace: as resolved, or where a context's data lives now (`resolvePlaced`). */
export async function placedTarget(rt: AdminRuntime, t: AdminTarget): Promise<AdminResolved> {
  rt.assertOpen();
  return isResolved(t) ? t : rt.resolvePlaced(t);
}

/** A target for reports: `key=...,dbName=...,collection=...[,tenantId=...]` (no URI). */
export function targetLabel(t: AdminTarget): string {
  const o: object = isResolved(t)
    ? { key: t.backend.key, dbName: t.ns.dbName, collection: t.ns.collection, ...(t.ns.tenant !== undefined ? { tenantId: t.ns.tenant } : {}) }
    : t;
  return Object.entries(o)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(',');
}
