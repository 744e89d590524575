/**
 * The small interface `chronos.admin` needs from a running chronos-db
 * instance. chronos-db's `runtime.ts` implements it; this package never
 * imports chronos-db (the package graph stays one-way).
 */
import type { BlobStore, CounterStore, GcOptions, GcResult, MetadataStore, Namespace, ParsedConfig, Redactor } from '@chronos-db/core';
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
  resolve(ctx: ContextInput): AdminResolved;
  /** Like `resolve`, but a hashed context resolves through the placement registry (where its data lives now; waits while it moves). */
  resolvePlaced(ctx: ContextInput): Promise<AdminResolved>;
  metaFor(backend: Backend): MetadataStore;
  /** The pooled blob store of a storage reference (for S3: one client per connection, reused by health). */
  blobsFor(storage: StorageRef): BlobStore;
  counterStore(): CounterStore | undefined;
  /** The context's engine (the instance's bounded per-context cache); admin only collects garbage through it. */
  engine(ctx: ContextInput): { collectGarbage(opts?: GcOptions): Promise<GcResult> };
  /** The contexts bound in this process so far (the engine cache's), for maintenance without a context. */
  boundContexts(): AdminResolved[];
  /** Marks the instance closed, then closes every client it opened. */
  shutdown(): Promise<void>;
}
