/**
 * `initChronos(config)`: validates the seed's config, builds the topology and
 * wires each context to one (MetadataStore, BlobStore) pair. Synchronous;
 * every connection is opened lazily, once per distinct endpoint, and closed
 * by `admin.shutdown()`.
 */
import {
  CollectionEngine,
  type Collection,
  ValidationError,
  configRedactor,
  makeLogger,
  parseConfig,
  redactConfig,
  type BlobStore,
  type ChronosConfig,
  type CounterStore,
  type CounterTotals,
  type Logger,
  type MetadataStore,
  type Namespace,
  type ParsedConfig,
  type QueuedWrite,
  assertDbName,
  assertCollection,
  assertTenant,
} from '@chronos-db/core';
import { buildTopology, createClientPool, resolveContext, type Backend, type ContextInput, type StorageRef, type Topology } from '@chronos-db/router';
import { createLocalBlobStore, createLocalMetadataStore } from '@chronos-db/storage-local';
import { createMongoMetadataStore } from '@chronos-db/storage-mongo';
import { createS3BlobStore } from '@chronos-db/storage-s3';
import { createAdmin } from './admin.js';
import type { ChronosAdmin } from './admin-types.js';
import { createFallback, type ChronosFallback } from './fallback.js';

/** What `chronos.with<T>(ctx)` returns: the bound operations, typed by the record shape `T`; `Q` is what a queued write returns (`QueuedWrite` when the config turns `fallback` on, else never). */
export type BoundCollection<T extends object = Record<string, unknown>, Q = never> = Collection<T, Q>;

/** `QueuedWrite` when the config may turn the fallback queue on, `never` when it cannot. */
export type QueuedResultOf<C> = C extends { fallback?: infer F } ? (F extends { enabled: false } | undefined ? never : QueuedWrite) : never;

export interface ChronosCounters {
  getTotals(scope: { dbName: string; collection: string; tenant?: string }): Promise<CounterTotals>;
  resetTotals(scope: { dbName: string; collection: string; tenant?: string }): Promise<void>;
  /** Rebuilds the totals from the version index (exact again after a crash between a commit and its count). */
  recount(scope: { dbName: string; collection: string; tenant?: string }): Promise<CounterTotals>;
}

export interface Chronos<Q = never> {
  /** Binds a context: `{ key, collection }`, `{ databaseType, tier, extIdentifier?, collection }` or `{ dbName, collection, tenantId? }`. */
  with<T extends object = Record<string, unknown>>(ctx: ContextInput): Collection<T, Q>;
  readonly counters: ChronosCounters;
  readonly admin: ChronosAdmin;
  /** The fallback queue (`fallback` config): worker, stats, pending and dead-letter ops. */
  readonly fallback: ChronosFallback;
  /** The validated config with every secret replaced by '***'. */
  readonly config: ParsedConfig;
}

/** What a bound context resolved to; used by admin functions. */
export interface Resolved {
  backend: Backend;
  storage: StorageRef;
  ns: Namespace;
  meta: MetadataStore;
  blobs: BlobStore;
}

export interface Runtime {
  cfg: ParsedConfig;
  topology: Topology;
  log: Logger;
  redact: (s: string) => string;
  resolve(ctx: ContextInput): Resolved;
  metaFor(backend: Backend): MetadataStore;
  blobsFor(storage: StorageRef): BlobStore;
  counterStore(): CounterStore | undefined;
  closeAll(): Promise<void>;
}

export function initChronos<const C extends ChronosConfig>(config: C): Chronos<QueuedResultOf<C>> {
  const cfg = parseConfig(config);
  const topology = buildTopology(cfg);
  const redactor = configRedactor(cfg);
  const redact = redactor.text;
  const log = makeLogger(cfg.logging?.level ?? 'warn', cfg.logging?.logger as Partial<Logger> | undefined, redactor);
  const basePath = cfg.localStorage?.enabled ? cfg.localStorage.basePath : undefined;

  const timeoutMs = cfg.operationTimeoutMs ?? 10_000;
  const mongoTimeouts = { serverSelectionTimeoutMS: timeoutMs, connectTimeoutMS: timeoutMs, pingTimeoutMS: Math.min(timeoutMs, 3000) };
  let localMeta: (MetadataStore & CounterStore) | undefined;
  let countersMeta: (MetadataStore & CounterStore) | undefined;
  const local = () => {
    if (!basePath) throw new ValidationError('localStorage is not enabled');
    return (localMeta ??= createLocalMetadataStore({ basePath }));
  };
  const mongoPool = createClientPool<MetadataStore & CounterStore, { uri: string }>({
    id: (a) => a.uri,
    open: (a) => createMongoMetadataStore({ uri: a.uri, logger: log, ...mongoTimeouts, ...(cfg.transactions ? { transactions: cfg.transactions } : {}) }),
    close: (s) => s.close(),
  });
  const blobPool = createClientPool<BlobStore, StorageRef>({
    id: (r) => String(r),
    open: (r) => {
      if (r === 'local') {
        if (!basePath) throw new ValidationError('localStorage is not enabled');
        return createLocalBlobStore({ basePath });
      }
      const conn = topology.spacesConns[r];
      if (!conn) throw new ValidationError(`No spacesConns[${r}]`);
      return createS3BlobStore({ requestTimeoutMs: timeoutMs, ...conn });
    },
    close: (b) => b.close(),
  });

  const fallback = createFallback({
    cfg: cfg.fallback,
    basePath,
    timeoutMs,
    log,
    redact,
    apply: (body) => {
      const backend = topology.byKey.get(body.route?.key);
      if (!backend) throw new ValidationError(`Queued write names an unknown backend '${String(body.route?.key).slice(0, 80)}'`);
      const storage = body.route.storage as Resolved['storage'];
      return engineFor({ backend, storage, ns: body.ns, meta: runtime.metaFor(backend), blobs: runtime.blobsFor(storage) }).applyQueued(body);
    },
  });
  const runtime: Runtime = {
    cfg,
    topology,
    log,
    redact,
    metaFor(backend) {
      return backend.kind === 'local' ? local() : mongoPool.get({ uri: backend.mongoUri });
    },
    blobsFor(storage) {
      return blobPool.get(storage);
    },
    counterStore() {
      if (cfg.counters) {
        return (countersMeta ??= createMongoMetadataStore({ uri: cfg.counters.mongoUri, dbName: cfg.counters.dbName, logger: log, ...mongoTimeouts }));
      }
      if (topology.embedded && basePath) return local();
      return undefined;
    },
    resolve(ctx) {
      const r = resolveContext(topology, ctx);
      return { backend: r.backend, storage: r.spacesConnIndex, ns: r.ns, meta: this.metaFor(r.backend), blobs: this.blobsFor(r.spacesConnIndex) };
    },
    async closeAll() {
      const results = await Promise.allSettled([fallback.close(), mongoPool.closeAll(), blobPool.closeAll(), localMeta?.close(), countersMeta?.close()]);
      localMeta = undefined;
      countersMeta = undefined;
      const failed = results.find((r) => r.status === 'rejected') as PromiseRejectedResult | undefined;
      if (failed) throw failed.reason;
    },
  };

  const engines = new Map<string, CollectionEngine<QueuedResultOf<C>>>();
  /** The engine of a resolved context (one per backend, storage and namespace). */
  const engineFor = (r: Resolved): CollectionEngine<QueuedResultOf<C>> => {
    const id = `${r.backend.key}\u0000${String(r.storage)}\u0000${r.ns.dbName}\u0000${r.ns.tenant ?? ''}\u0000${r.ns.collection}`;
    let engine = engines.get(id);
    if (!engine) {
      engine = new CollectionEngine<QueuedResultOf<C>>({
        ns: r.ns,
        meta: r.meta,
        blobs: r.blobs,
        counters: runtime.counterStore(),
        map: cfg.collectionMaps?.[r.ns.collection],
        counterRules: cfg.counterRules?.rules,
        devShadow: cfg.devShadow,
        maxPayloadBytes: cfg.maxPayloadBytes,
        operationTimeoutMs: cfg.operationTimeoutMs,
        logger: log,
        fallback: fallback.hook({ key: r.backend.key, storage: r.storage }),
      });
      engines.set(id, engine);
    }
    return engine;
  };
  const counterScope = (s: { dbName: string; collection: string; tenant?: string }) => {
    if (!s || typeof s !== 'object') throw new ValidationError('counters scope must be { dbName, collection, tenant? }');
    assertDbName(s.dbName);
    assertCollection(s.collection);
    if (s.tenant !== undefined) assertTenant(s.tenant);
    const store = runtime.counterStore();
    if (!store) throw new ValidationError('Counters need a counters database: set config.counters = { mongoUri, dbName }');
    return { store, scope: { dbName: s.dbName, collection: s.collection, ...(s.tenant !== undefined ? { tenant: s.tenant } : {}) } };
  };

  const chronos: Chronos<QueuedResultOf<C>> = {
    config: redactConfig(cfg, redactor),
    with<T extends object>(ctx: ContextInput): Collection<T, QueuedResultOf<C>> {
      return engineFor(runtime.resolve(ctx)) as unknown as Collection<T, QueuedResultOf<C>>; // the engine is untyped; Collection<T> types its records
    },
    fallback: fallback.api,
    counters: {
      async getTotals(scope) {
        const { store, scope: s } = counterScope(scope);
        return store.getCounters(s);
      },
      async resetTotals(scope) {
        const { store, scope: s } = counterScope(scope);
        await store.resetCounters(s);
      },
      async recount(scope) {
        const { scope: s } = counterScope(scope);
        // an engine bound in this process on that namespace (any context form), else the hashed form
        const bound = [...engines.values()].find((e) => e.ns.dbName === s.dbName && e.ns.collection === s.collection && e.ns.tenant === s.tenant);
        return (bound ?? chronos.with({ dbName: s.dbName, collection: s.collection, ...(s.tenant !== undefined ? { tenantId: s.tenant } : {}) })).recountCounters();
      },
    },
    admin: createAdmin(runtime, () => engines.clear()),
  };
  return chronos;
}
