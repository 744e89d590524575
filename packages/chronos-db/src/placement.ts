/**
 * The placement registry (I/O half; the pure half is @chronos-db/router's
 * placement.ts): where each hashed context's data lives, so that changing the
 * backend list never hides data.
 *
 * - One document per namespace in `_chronos_placement` (counters database, else
 *   the first Mongo backend's database), `_id` = placementKey(ns).
 * - The first resolution of a namespace without an entry probes every
 *   candidate backend for versions of it (data written before the registry
 *   existed, or before a backend was added), then inserts the entry if absent:
 *   the unique `_id` makes every process, whatever its backend list, agree on
 *   the first one inserted.
 * - Each process caches an entry for `leaseMs` (routing.placementLeaseMs):
 *   at most one registry read per context per lease, never one per operation.
 *   `rebalance` fences a context (state 'moving', epoch + 1) and waits
 *   leaseMs + 2 x operationTimeoutMs before copying, so every write begun
 *   under an older lease has finished by then.
 * - While a context is 'moving', reads go to the source (intact until after
 *   the flip plus another grace), writes wait for the flip (polling the
 *   registry), up to placementWaitMs, then fail with a retriable StorageError.
 */
import { RouteError, StorageError, physicalName, type Namespace } from '@chronos-db/core';
import type * as StorageMongo from '@chronos-db/storage-mongo';
import {
  PLACEMENT_COLLECTION,
  initialPlacement,
  placementCandidates,
  placementKey,
  type Backend,
  type MongoBackend,
  type PlacementEntry,
  type RegistryLocation,
  type Topology,
} from '@chronos-db/router';

export type MongoClientLike = ReturnType<typeof StorageMongo.getSharedClient>;

export const DEFAULT_LEASE_MS = 5000;
/** Entries cached per process (least recently used evicted first). */
const MAX_CACHED = 10_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface PlacementDeps {
  topology: Topology;
  location: RegistryLocation;
  /** The process-wide client of a URI (shared with the metadata stores). */
  client(uri: string): MongoClientLike;
  leaseMs: number;
  waitMs: number;
  /** What the rebalancer waits after fencing (and after flipping): every write or read begun under an older lease is over. */
  graceMs: number;
  redact(s: string): string;
}

interface Cached {
  entry: PlacementEntry;
  until: number;
}

export type Intent = 'read' | 'write';

export interface Placement {
  readonly deps: PlacementDeps;
  /** The backend holding a hashed namespace (creating its entry on first use); writes wait while it moves. */
  backendFor(ns: Namespace, intent: Intent): Promise<Backend>;
  /** backendFor of one namespace, its registry key computed once (what a store call asks: no I/O while the lease holds). */
  resolver(ns: Namespace): (intent: Intent) => Promise<Backend>;
  /** The backend of a namespace that has an entry, else null (never creates one). */
  existing(ns: Namespace, intent: Intent): Promise<Backend | null>;
  /** The entry cached in this process, if its lease is still valid (no I/O). */
  cached(ns: Namespace): PlacementEntry | null;
  /** Forget the cached entries (tests, rebalance in this process). */
  invalidate(key?: string): void;
  registry: Registry;
  /** Versions of `ns` exist on these candidates (probe of every distinct server). */
  probe(ns: Namespace): Promise<string[]>;
  /** Calls made to the registry by this process (reads, inserts): the first-resolution cost. */
  readonly stats: { reads: number; inserts: number; probes: number };
}

export interface Registry {
  get(key: string): Promise<PlacementEntry | null>;
  /** Inserts the entry unless one exists; returns the one that won. */
  insertIfAbsent(entry: PlacementEntry): Promise<PlacementEntry>;
  /** Applies `set`/`unset` and bumps the epoch, only if the entry is still at `epoch`. Returns the new entry or null. */
  cas(key: string, epoch: number, set: Partial<PlacementEntry>, unset?: Array<keyof PlacementEntry>): Promise<PlacementEntry | null>;
  list(): AsyncIterable<PlacementEntry>;
}

function isDuplicate(e: unknown): boolean {
  return !!e && typeof e === 'object' && (e as { code?: unknown }).code === 11000;
}

export function createPlacement(deps: PlacementDeps): Placement {
  const { topology, location } = deps;
  const stats = { reads: 0, inserts: 0, probes: 0 };
  const cache = new Map<string, Cached>();
  const inflight = new Map<string, Promise<Cached>>();
  const col = () => deps.client(location.mongoUri).db(location.dbName).collection<PlacementEntry>(PLACEMENT_COLLECTION);
  const wrap = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (e) {
      if (e instanceof StorageError || e instanceof RouteError) throw e;
      const msg = deps.redact(String((e as Error)?.message ?? e));
      const name = (e as Error)?.name ?? '';
      const retriable = /Network|Timeout|ServerSelection|PoolCleared|NotPrimary|TopologyClosed/i.test(name);
      throw new StorageError(`Placement registry ${what} failed (${location.source}): ${msg}`, { reason: 'placement-registry' }, { retriable });
    }
  };

  const registry: Registry = {
    get: (key) =>
      wrap('read', async () => {
        stats.reads++;
        return (await col().findOne({ _id: key })) as PlacementEntry | null;
      }),
    insertIfAbsent: (entry) =>
      wrap('insert', async () => {
        stats.inserts++;
        try {
          await col().insertOne(entry);
          return entry;
        } catch (e) {
          if (!isDuplicate(e)) throw e;
          const won = (await col().findOne({ _id: entry._id })) as PlacementEntry | null;
          if (!won) throw e;
          return won;
        }
      }),
    cas: (key, epoch, set, unset = []) =>
      wrap('update', async () => {
        const update: Record<string, unknown> = { $set: { ...set, epoch: epoch + 1, updatedAt: Date.now() } };
        if (unset.length) update.$unset = Object.fromEntries(unset.map((k) => [k, '']));
        const res = await col().updateOne({ _id: key, epoch }, update);
        if (res.matchedCount !== 1) return null;
        cache.delete(key);
        return (await col().findOne({ _id: key })) as PlacementEntry | null;
      }),
    async *list() {
      const cursor = col().find({}).sort({ _id: 1 });
      try {
        for (;;) {
          const d = await wrap('list', () => cursor.next());
          if (!d) return;
          yield d as PlacementEntry;
        }
      } finally {
        await cursor.close().catch(() => {});
      }
    },
  };

  /** The distinct servers among the candidates: one probe per URI; a hit counts for every backend on it. */
  const probe = (ns: Namespace): Promise<string[]> =>
    wrap('probe', async () => {
      const byUri = new Map<string, MongoBackend[]>();
      for (const b of placementCandidates(topology)) byUri.set(b.mongoUri, [...(byUri.get(b.mongoUri) ?? []), b]);
      const hits = await Promise.all(
        [...byUri].map(async ([uri, bs]) => {
          stats.probes++;
          const found = await deps
            .client(uri)
            .db(ns.dbName)
            .collection(`${physicalName(ns)}_ver`)
            .findOne({}, { projection: { _id: 1 } });
          return found ? bs.map((b) => b.key) : [];
        }),
      );
      return hits.flat();
    });

  const remember = (key: string, c: Cached) => {
    cache.delete(key);
    if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value!);
    cache.set(key, c);
  };

  /** Reads (or, with `create`, makes) the entry; one flight per key per process. */
  const load = (ns: Namespace, create: boolean, key: string): Promise<Cached | null> => {
    const hit = cache.get(key);
    if (hit && Date.now() < hit.until) return Promise.resolve(hit);
    const flying = inflight.get(key);
    if (flying) return flying;
    const p = (async (): Promise<Cached | null> => {
      const start = Date.now(); // the lease counts from before the read: the entry is at least that fresh
      let entry = await registry.get(key);
      if (!entry) {
        if (!create) return null;
        const found = await probe(ns);
        const { backend, origin } = initialPlacement(topology, ns, found);
        entry = await registry.insertIfAbsent({
          _id: key,
          dbName: ns.dbName,
          collection: ns.collection,
          ...(ns.tenant !== undefined ? { tenant: ns.tenant } : {}),
          backend: backend.key,
          state: 'active',
          epoch: 0,
          origin,
          updatedAt: Date.now(),
        });
      }
      const c = { entry, until: start + deps.leaseMs };
      remember(key, c);
      return c;
    })();
    const tracked = p as Promise<Cached>;
    inflight.set(key, tracked);
    p.finally(() => inflight.delete(key)).catch(() => {});
    return p;
  };

  const backendOf = (entry: PlacementEntry): Backend => {
    const b = topology.byKey.get(entry.backend);
    if (!b)
      throw new RouteError(
        `The data of ${entry._id.replace(/\|/g, '/')} lives on backend '${entry.backend}', which this config does not have: add it back (or rebalance from a process that has it)`,
        { backend: entry.backend },
      );
    return b;
  };

  const settle = async (ns: Namespace, intent: Intent, create: boolean, key = placementKey(ns)): Promise<Backend | null> => {
    let c = await load(ns, create, key);
    if (!c) return null;
    if (c.entry.state === 'active' || intent === 'read') return backendOf(c.entry);
    const deadline = Date.now() + deps.waitMs;
    const poll = Math.max(20, Math.min(200, Math.floor(deps.leaseMs / 4)));
    while (c!.entry.state === 'moving') {
      if (Date.now() >= deadline)
        throw new StorageError(
          `${key.replace(/\|/g, '/')} is being moved from '${c!.entry.backend}' to '${c!.entry.to}' by rebalance: the write was not made; retry it`,
          { reason: 'placement-moving', from: c!.entry.backend, to: c!.entry.to },
          { retriable: true },
        );
      await sleep(poll);
      cache.delete(key);
      c = await load(ns, create, key);
      if (!c) return null;
    }
    return backendOf(c!.entry);
  };

  return {
    deps,
    registry,
    stats,
    probe,
    backendFor: (ns, intent) => settle(ns, intent, true) as Promise<Backend>,
    resolver(ns) {
      const key = placementKey(ns);
      return (intent) => settle(ns, intent, true, key) as Promise<Backend>;
    },
    existing: (ns, intent) => settle(ns, intent, false),
    cached(ns) {
      const c = cache.get(placementKey(ns));
      return c && Date.now() < c.until ? c.entry : null;
    },
    invalidate(key) {
      if (key === undefined) cache.clear();
      else cache.delete(key);
    },
  };
}
