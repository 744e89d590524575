/**
 * The running instance behind `initChronos`: the validated config, the
 * topology, one redactor, the client pools (one per distinct endpoint, opened
 * lazily), the bounded per-context engine cache and the closed state.
 *
 * After `shutdown()` the instance is closed for good: every entry point
 * (`with`, a collection bound before, `counters`, `admin.*`) throws
 * `ChronosError` code 'CLOSED' before any I/O, and no pool, SQLite file,
 * counters client or S3 client is ever reopened.
 */
import { join } from 'node:path';
import {
  ChronosError,
  CollectionEngine,
  StorageError,
  ValidationError,
  configRedactor,
  deprecatedKeys,
  makeLogger,
  type BlobStore,
  type CounterStore,
  type Logger,
  type MetadataStore,
  type ParsedConfig,
  type QueueStore,
  type Redactor,
} from '@chronos-db/core';
import type { AdminResolved, AdminRuntime } from '@chronos-db/admin';
import {
  buildTopology,
  createClientPool,
  placementCandidates,
  placementKey,
  registryLocation,
  resolveContext,
  type Backend,
  type ContextInput,
  type PlacementEntry,
  type StorageRef,
  type Topology,
} from '@chronos-db/router';
import { storageLocal, storageMongo, storageS3 } from './adapters.js';
import type { SqliteMetadataStore } from '@chronos-db/storage-local';
import { createFallback, type FallbackRuntime } from './fallback.js';
import { placedCollection } from './placed.js';
import { placedStores } from './placed-stores.js';
import { DEFAULT_LEASE_MS, createPlacement, type Intent, type MongoClientLike, type Placement } from './placement.js';

/**
 * Engines kept per instance, least recently used evicted first. An engine
 * holds no connection of its own (the stores are pooled), so an evicted
 * context is simply rebuilt on its next `with()`; the bound collections a
 * caller still holds keep working.
 */
export const MAX_CACHED_ENGINES = 1000;

/** What a bound context resolved to; used by admin functions. */
export type Resolved = AdminResolved;

/** The engine type of the runtime: `Q` (what a queued write returns) is typed by `initChronos` from the config. */
export type Engine = CollectionEngine<unknown>;

export interface Runtime extends AdminRuntime {
  readonly log: Logger;
  readonly closed: boolean;
  /** The fallback queue's API (`fallback` config), guarded like everything else. */
  readonly fallbackApi: FallbackRuntime['api'];
  /** The context's engine, guarded: every call after shutdown is a CLOSED error. */
  engine(ctx: ContextInput): Engine;
  /** The engines currently cached, least recently used first. */
  cachedEngines(): Engine[];
  /** The placement registry of hashed contexts; null for the embedded store (one backend). */
  readonly placement: Placement | null;
  /** The process-wide MongoClient of a URI (acquired once, released by shutdown). */
  mongoClient(uri: string): MongoClientLike;
  /** The engine of a hashed namespace as first found on `backend` (its stores follow the placement on every call). */
  engineOn(backend: Backend, ns: Resolved['ns']): Engine;
}

export function closedError(what: string): ChronosError {
  return new ChronosError(`This chronos-db instance is shut down: ${what} is not available (create a new instance with initChronos)`, 'CLOSED', 503);
}

/**
 * A guarded view of a store: every method first checks that the instance is
 * open, and every error it throws passes through the instance's redactor
 * (one redaction for all adapters' messages).
 */
function guard<T extends object>(target: T, assertOpen: (what: string) => void, redactor: Redactor): T {
  const cache = new Map<PropertyKey, unknown>();
  return new Proxy(target, {
    get(t, p) {
      const v = Reflect.get(t, p, t) as unknown;
      if (typeof v !== 'function' || p === 'constructor') return v;
      let w = cache.get(p);
      if (!w) {
        const fn = v as (...a: unknown[]) => unknown;
        const check = p !== 'close';
        w = function guarded(...args: unknown[]) {
          if (check) assertOpen(String(p));
          let out: unknown;
          try {
            out = fn.apply(t, args);
          } catch (e) {
            throw redactor.error(e);
          }
          return out instanceof Promise ? out.catch((e: unknown) => Promise.reject(redactor.error(e))) : out;
        };
        cache.set(p, w);
      }
      return w;
    },
  });
}

export function createRuntime(cfg: ParsedConfig): Runtime {
  const topology: Topology = buildTopology(cfg);
  const redactor = configRedactor(cfg);
  const log = makeLogger(cfg.logging?.level ?? 'warn', cfg.logging?.logger as Partial<Logger> | undefined, redactor);
  for (const k of deprecatedKeys(cfg)) log.warn(`chronos-db config: deprecated ${k}`);
  const basePath = cfg.localStorage?.enabled ? cfg.localStorage.basePath : undefined;
  if (basePath && !storageLocal.hasBetterSqlite()) throw storageLocal.missingBetterSqlite();
  let closed = false;
  const assertOpen = (what = 'this call') => {
    if (closed) throw closedError(what);
  };

  const timeoutMs = cfg.operationTimeoutMs ?? 10_000;
  // socketTimeoutMS: a server that stops answering (hung, SIGSTOPped) fails the operation within the deadline, as retriable.
  const mongoTimeouts = {
    serverSelectionTimeoutMS: timeoutMs,
    connectTimeoutMS: timeoutMs,
    socketTimeoutMS: timeoutMs,
    pingTimeoutMS: Math.min(timeoutMs, 3000),
  };
  let localMeta: (MetadataStore & CounterStore) | undefined;
  let localRaw: SqliteMetadataStore | undefined;
  let countersMeta: (MetadataStore & CounterStore) | undefined;
  const local = () => {
    assertOpen();
    if (!basePath) throw new ValidationError('localStorage is not enabled');
    return (localMeta ??= guard((localRaw = storageLocal.createLocalMetadataStore({ basePath })), assertOpen, redactor));
  };
  const mongoPool = createClientPool<MetadataStore & CounterStore, { uri: string }>({
    id: (a) => a.uri,
    open: (a) =>
      guard(
        storageMongo.createMongoMetadataStore({
          uri: a.uri,
          logger: log,
          ...mongoTimeouts,
          ...(cfg.transactions ? { transactions: cfg.transactions } : {}),
          // tombstone looks (one round trip per commit) only where erasure can happen
          erasure: cfg.hardDeleteEnabled === true,
        }),
        assertOpen,
        redactor,
      ),
    close: (s) => s.close(),
  });
  const blobPool = createClientPool<BlobStore, StorageRef>({
    id: (r) => String(r),
    open: (r) => {
      if (r === 'local') {
        if (!basePath) throw new ValidationError('localStorage is not enabled');
        // Small payloads inside the metadata file, large ones as files. The embedded store shares the metadata
        // store's connection: a commit writes its small payloads in its own transaction (one fsync per write).
        if (topology.embedded) local();
        return guard(
          storageLocal.createSqliteBlobStore(
            topology.embedded ? { basePath, metadata: localRaw! } : { basePath, filename: join(basePath, storageLocal.METADATA_FILE) },
          ),
          assertOpen,
          redactor,
        );
      }
      const conn = topology.spacesConns[r];
      if (!conn) throw new ValidationError(`No spacesConns[${r}]`);
      return guard(storageS3.createS3BlobStore({ requestTimeoutMs: timeoutMs, ...conn }), assertOpen, redactor);
    },
    close: (b) => b.close(),
  });

  const metaFor = (backend: Backend): MetadataStore => {
    assertOpen();
    return backend.kind === 'local' ? local() : mongoPool.get({ uri: backend.mongoUri });
  };
  const blobsFor = (storage: StorageRef): BlobStore => {
    assertOpen();
    return blobPool.get(storage);
  };
  const counterStore = (): CounterStore | undefined => {
    assertOpen();
    if (cfg.counters) {
      return (countersMeta ??= guard(
        storageMongo.createMongoMetadataStore({ uri: cfg.counters.mongoUri, dbName: cfg.counters.dbName, logger: log, ...mongoTimeouts }),
        assertOpen,
        redactor,
      ));
    }
    if (topology.embedded && basePath) return local();
    return undefined;
  };
  // Raw clients (placement registry, probes, rebalance copies): the same process-wide client as the stores'.
  const acquired = new Map<string, { readonly client: MongoClientLike }>();
  const mongoClient = (uri: string): MongoClientLike => {
    assertOpen();
    let h = acquired.get(uri);
    if (!h) {
      h = storageMongo.acquireClient(uri, mongoTimeouts);
      acquired.set(uri, h);
    }
    return h.client;
  };
  const location = registryLocation(topology, cfg.counters);
  const leaseMs = cfg.routing?.placementLeaseMs ?? DEFAULT_LEASE_MS;
  const placement: Placement | null = location
    ? createPlacement({
        topology,
        location,
        client: mongoClient,
        leaseMs,
        waitMs: cfg.routing?.placementWaitMs ?? timeoutMs,
        graceMs: leaseMs + 2 * timeoutMs,
        redact: redactor.text,
      })
    : null;

  const resolvedOn = (backend: Backend, ns: Resolved['ns']): Resolved => ({
    backend,
    storage: backend.spacesConnIndex,
    ns,
    meta: metaFor(backend),
    blobs: blobsFor(backend.spacesConnIndex),
  });
  /** Resolutions of hashed namespaces (their stores follow the placement); boundContexts re-resolves them. */
  const hashedResolutions = new WeakSet<Resolved>();
  /**
   * A hashed namespace found on `backend`: `backend`/`storage` say where it lived when resolved, and
   * its stores ask the registry on every call (placed-stores.ts), so a long run (rollup, prune, GC,
   * TTL marking, a bulk stream) never writes where the namespace no longer lives.
   */
  const placedOn = (backend: Backend, ns: Resolved['ns']): Resolved => {
    if (!placement) return resolvedOn(backend, ns);
    const r: Resolved = { backend, storage: backend.spacesConnIndex, ns, ...placedStores(ns, placement, backend, metaFor, blobsFor) };
    hashedResolutions.add(r);
    return r;
  };
  /**
   * THE resolution of a context outside `with()` (admin, maintenance, bucket checks, lifecycle): a
   * hashed context goes through the placement registry, in every process whatever it has cached
   * (first use: probe and entry); `write` waits while the context moves.
   */
  const place = async (ctx: ContextInput, intent: Intent = 'write'): Promise<Resolved> => {
    assertOpen();
    const r = resolveContext(topology, ctx);
    if (r.form !== 'hash' || !placement) return resolvedOn(r.backend, r.ns);
    return placedOn(await placement.backendFor(r.ns, intent), r.ns);
  };

  // Least recently used first: a Map keeps insertion order; a hit is moved to the end.
  const engines = new Map<string, Engine>();
  const bound = new Map<string, Resolved>();
  const engineFor = (r: Resolved, variant = ''): Engine => {
    // a hashed namespace's engine (placed stores) is never the engine of a key/tier context of the same names
    const id = `${r.backend.key}\u0000${String(r.storage)}\u0000${r.ns.dbName}\u0000${r.ns.tenant ?? ''}\u0000${r.ns.collection}${hashedResolutions.has(r) ? '\u0000placed' : ''}${variant}`;
    let e = engines.get(id);
    if (e) {
      engines.delete(id);
    } else {
      e = guard(
        new CollectionEngine<unknown>({
          ns: r.ns,
          meta: r.meta,
          blobs: r.blobs,
          counters: counterStore(),
          map: cfg.collectionMaps?.[r.ns.collection],
          counterRules: cfg.counterRules?.rules,
          devShadow: cfg.devShadow,
          maxPayloadBytes: cfg.maxPayloadBytes,
          operationTimeoutMs: cfg.operationTimeoutMs,
          logger: log,
          fallback: fallback.hook({ key: r.backend.key, storage: r.storage }),
        }),
        assertOpen,
        redactor,
      );
      if (engines.size >= MAX_CACHED_ENGINES) {
        const oldest = engines.keys().next().value!;
        engines.delete(oldest);
        bound.delete(oldest);
      }
    }
    engines.set(id, e);
    if (!variant) bound.set(id, r); // a fenced engine (see fencedEngine) is the same context as the plain one
    return e;
  };
  const engineOn = (backend: Backend, ns: Resolved['ns']): Engine => engineFor(placedOn(backend, ns));

  /**
   * Every namespace of every configured backend (maintenance without a context), each on the
   * backend holding it. Backends sharing a store (one Mongo URI, the one SQLite file) are asked
   * once. On Mongo, for the databases this config writes: each backend's own, and those of the
   * hashed contexts the placement registry places (or moves, or drains) on one of them. A
   * namespace of a backend's own database runs on that backend; a hashed one on the backend its
   * entry names (a drained source copy on the source); one with no entry (written before the
   * registry) on the first hashing candidate of that server. A store without `listNamespaces`
   * gives the contexts bound in this process.
   */
  const allNamespaces = async (): Promise<Resolved[]> => {
    assertOpen();
    const groups = new Map<string, Backend[]>();
    for (const b of topology.backends) {
      const id = b.kind === 'local' ? 'local' : `mongo\u0000${b.mongoUri}`;
      groups.set(id, [...(groups.get(id) ?? []), b]);
    }
    const entries = new Map<string, PlacementEntry>();
    if (placement) for await (const e of placement.registry.list()) entries.set(e._id, e);
    const named = (e: PlacementEntry | undefined, b: Backend) => !!e && (b.key === e.backend || b.key === e.to || b.key === e.drain);
    const candidates = new Set(placementCandidates(topology).map((b) => b.key));
    const out: Resolved[] = [];
    const hashedSeen = new Set<string>();
    for (const group of groups.values()) {
      const meta = metaFor(group[0]!);
      if (!meta.listNamespaces) {
        const keys = new Set(group.map((b) => b.key));
        out.push(...[...bound.values()].filter((r) => keys.has(r.backend.key)));
        continue;
      }
      const own = new Set(group.map((b) => b.dbName));
      const hashed = [...entries.values()].filter((e) => group.some((b) => named(e, b))).map((e) => e.dbName);
      const found = await meta.listNamespaces(group[0]!.kind === 'local' ? undefined : { dbNames: [...new Set([...own, ...hashed])] });
      for (const ns of found) {
        const e = entries.get(placementKey(ns));
        const backend = own.has(ns.dbName)
          ? group.find((b) => b.dbName === ns.dbName)
          : e
            ? group.find((b) => named(e, b))
            : (group.find((b) => candidates.has(b.key)) ?? group[0]);
        if (!backend) continue;
        if (own.has(ns.dbName) || !placement) out.push(resolvedOn(backend, ns));
        else {
          // hashed: once (a drained source copy is the same namespace), with stores that follow the placement
          const key = placementKey(ns);
          if (hashedSeen.has(key)) continue;
          hashedSeen.add(key);
          out.push(placedOn(backend, ns));
        }
      }
    }
    return out;
  };
  /**
   * With the fallback queue on: the engine of a context that rebalance is moving, on its source, whose
   * commits fail as retriable. A write that waited placementWaitMs in vain goes through it: it reads
   * the source (intact while fenced), then is queued; the replay runs where the context lives by then.
   */
  const fencedEngine = (backend: Backend, ns: Resolved['ns']): Engine => {
    const r = placedOn(backend, ns);
    const refuse = () =>
      Promise.reject(
        new StorageError(
          `${ns.dbName}/${ns.tenant ?? ''}/${ns.collection} is being moved by rebalance: the write is queued`,
          { reason: 'placement-moving' },
          { retriable: true },
        ),
      );
    const meta = new Proxy(r.meta, {
      get(t, p) {
        if (p === 'commit' || p === 'commitMany') return refuse;
        return Reflect.get(t, p, t) as unknown;
      },
    });
    return engineFor({ ...r, meta }, '\u0000fenced');
  };
  const engine = (ctx: ContextInput): Engine => {
    assertOpen();
    const r = resolveContext(topology, ctx);
    if (r.form !== 'hash' || !placement) return engineFor(resolvedOn(r.backend, r.ns));
    return placedCollection(r.ns, placement, r.backend, (b) => engineOn(b, r.ns), cfg.fallback?.enabled ? (b) => fencedEngine(b, r.ns) : undefined);
  };

  const fallback = createFallback({
    cfg: cfg.fallback,
    basePath,
    timeoutMs,
    log,
    redact: redactor.text,
    apply: async (body) => {
      const backend = topology.byKey.get(body.route?.key);
      if (!backend) throw new ValidationError(`Queued write names an unknown backend '${String(body.route?.key).slice(0, 80)}'`);
      const storage = body.route.storage as Resolved['storage'];
      // a hashed context (it has a registry entry): replayed where it lives now, through stores that follow the placement
      const placed = placement && backend.kind === 'mongo' ? await placement.existing(body.ns, 'write') : null;
      const r = placed ? placedOn(placed, body.ns) : { backend, storage, ns: body.ns, meta: metaFor(backend), blobs: blobsFor(storage) };
      return engineFor(r).applyQueued(body);
    },
  });
  const fallbackApi = guard(fallback.api, (what) => assertOpen(`fallback.${what}`), redactor);
  let guardedQueue: QueueStore | undefined;
  const fallbackQueue = (): QueueStore | undefined => {
    assertOpen();
    const q = fallback.queue();
    return q && (guardedQueue ??= guard(q, assertOpen, redactor));
  };

  return {
    cfg,
    topology,
    log,
    redactor,
    fallbackApi,
    get closed() {
      return closed;
    },
    assertOpen: () => assertOpen('admin'),
    resolvePlaced: place,
    metaFor,
    blobsFor,
    counterStore,
    engine,
    engineOn,
    placement,
    mongoClient,
    cachedEngines: () => [...engines.values()],
    boundContexts: () => [...bound.values()],
    allNamespaces,
    engineOf: (r: Resolved) => engineFor(r),
    fallbackQueue,
    async shutdown() {
      if (closed) return;
      closed = true;
      engines.clear();
      bound.clear();
      const results = await Promise.allSettled([
        fallback.close(),
        mongoPool.closeAll(),
        blobPool.closeAll(),
        localMeta?.close(),
        countersMeta?.close(),
        ...[...acquired.keys()].map((uri) => storageMongo.releaseClient(uri)),
      ]);
      const failed = results.find((r) => r.status === 'rejected') as PromiseRejectedResult | undefined;
      if (failed) throw redactor.error(failed.reason);
    },
  };
}
