/** What every file of the behaviour suite gets: the stores, the runner, and an engine builder. */
import { CollectionEngine, type BlobStore, type CounterStore, type EngineOptions, type MetadataStore, type Namespace } from '@chronos-db/core';
import type { Registrar, SkipList } from '../runner.js';

export interface BehaviourStores {
  meta: MetadataStore;
  blobs: BlobStore;
  counters?: CounterStore;
  teardown?: () => Promise<void>;
}

/**
 * The usual result of a behaviour-suite factory: `meta` and `blobs` (and `counters` when given),
 * with a teardown that closes the metadata store, then the blob store, then runs `cleanup`
 * (a temporary folder, test buckets).
 */
export function storePair(
  meta: MetadataStore,
  blobs: BlobStore,
  opts: { counters?: CounterStore; cleanup?: () => void | Promise<void> } = {},
): BehaviourStores {
  return {
    meta,
    blobs,
    ...(opts.counters ? { counters: opts.counters } : {}),
    teardown: async () => {
      await meta.close();
      await blobs.close();
      await opts.cleanup?.();
    },
  };
}

export interface BehaviourOptions {
  /** Rounds for T5 (16 racers). Default 50. */
  raceRounds?: number;
  /** fast-check runs for T6. Default 200 in CI, 60 otherwise. */
  modelRuns?: number;
  /** Number of records for the restoreCollection test. Default 60. */
  restoreRecords?: number;
  /**
   * Whether the factory gives a CounterStore (checked). When false the counter tests are
   * registered as skipped, with the reason in their title. Default true.
   */
  counters?: boolean;
  /**
   * Whether that CounterStore offers the optional `recountCounters` (the recount test skips when
   * false, with the reason in its title). Default true.
   */
  recount?: boolean;
  /** Tests (exact titles) to skip: a list, or title -> reason. They show as skipped. */
  skip?: SkipList;
}

export interface BehaviourSuite {
  t: Registrar;
  /** The stores the factory made (a stand-in until it ran). */
  stores: BehaviourStores;
  opts: BehaviourOptions;
  /** An engine over the suite's stores, in a fresh namespace unless one is given. */
  engine(over?: Partial<EngineOptions>, ns?: Namespace): CollectionEngine;
}

/** A random suffix for names nobody else uses. */
export const rnd = (): string => Math.random().toString(36).slice(2, 10);

export function behaviourSuite(t: Registrar, stores: BehaviourStores, opts: BehaviourOptions): BehaviourSuite {
  return {
    t,
    stores,
    opts,
    engine: (over = {}, ns) =>
      new CollectionEngine({
        ns: ns ?? { dbName: `bk_${rnd()}`, collection: 'items' },
        meta: stores.meta,
        blobs: stores.blobs,
        counters: stores.counters,
        ...over,
      }),
  };
}
