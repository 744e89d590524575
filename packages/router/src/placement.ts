/**
 * The placement registry's pure half: where a hashed context's data lives once
 * it was first written, independent of the backend list in force.
 *
 * The hash (rendezvous or jump) only proposes a backend for a namespace that
 * has no entry yet; the first resolution records the placement with an
 * insert-if-absent on the namespace's key, so two processes with different
 * backend lists agree on whoever inserted first. An entry moves only through
 * `rebalance` (state `moving`, a new fencing epoch, then `active` on the new
 * backend). chronos-db keeps the registry (I/O); this module has none.
 */
import { RouteError, ValidationError, assertNamespace, type Namespace } from '@chronos-db/core';
import { jumpNode } from './jump.js';
import { rendezvous } from './rendezvous.js';
import { hashedBackend, routingKey } from './resolve-context.js';
import type { Backend, MongoBackend, Topology } from './topology.js';

/** The collection of the registry, in the counters database (or the first hashing backend's database). */
export const PLACEMENT_COLLECTION = '_chronos_placement';

export type PlacementState = 'active' | 'moving';

/** One registry document: `_id` is `placementKey(ns)`. */
export interface PlacementEntry {
  _id: string;
  dbName: string;
  collection: string;
  tenant?: string;
  /** The backend key holding the namespace's data (while `moving`: still the source). */
  backend: string;
  state: PlacementState;
  /** Fencing epoch: bumped by every state change; a change applies only on the epoch it read. */
  epoch: number;
  /** While `moving`: the destination backend key. */
  to?: string;
  /** After a move, until the source copy is removed (or kept): the backend the data came from. */
  drain?: string;
  /** How the entry was first made: 'hash' (a new namespace), 'probe' (data found there), 'move'. */
  origin?: 'hash' | 'probe' | 'move';
  updatedAt: number;
}

/** The registry key of a namespace: `dbName|tenant|collection` (names cannot hold '|'). */
export function placementKey(ns: Namespace): string {
  assertNamespace(ns);
  return `${ns.dbName}|${ns.tenant ?? ''}|${ns.collection}`;
}

/** The namespace of a registry key (inverse of placementKey). */
export function namespaceOfKey(key: string): Namespace {
  const [dbName, tenant, collection, extra] = key.split('|');
  if (dbName === undefined || tenant === undefined || collection === undefined || extra !== undefined)
    throw new ValidationError(`Not a placement key: ${JSON.stringify(key.slice(0, 200))}`);
  const ns: Namespace = { dbName, collection, ...(tenant ? { tenant } : {}) };
  assertNamespace(ns);
  return ns;
}

/** Where the registry lives: the counters database when configured, else the first Mongo backend (config order). */
export interface RegistryLocation {
  mongoUri: string;
  dbName: string;
  /** 'counters' or the backend key. */
  source: string;
}

/**
 * The registry of a topology, or null when hashed contexts need none (the
 * embedded default: one local backend). With `counters` configured it lives
 * there (one place that every process of a deployment shares, whatever its
 * backend list); otherwise in the database of the first backend that hashed
 * contexts may use, in config order (metadata, knowledge, runtime; generic,
 * domains, tenants), so a backend added later at the end of a list never
 * moves it.
 */
export function registryLocation(topology: Topology, counters?: { mongoUri: string; dbName: string }): RegistryLocation | null {
  if (topology.embedded) return null;
  if (counters) return { mongoUri: counters.mongoUri, dbName: counters.dbName, source: 'counters' };
  const eligible = new Set(topology.routing.nodes);
  const first = topology.backends.find((b): b is MongoBackend => b.kind === 'mongo' && eligible.has(b.key));
  return first ? { mongoUri: first.mongoUri, dbName: first.dbName, source: first.key } : null;
}

/** The backends a hashed context may live on (routing.chooseKey's types), as Mongo backends. */
export function placementCandidates(topology: Topology): MongoBackend[] {
  return topology.routing.nodes.map((k) => topology.byKey.get(k)).filter((b): b is MongoBackend => !!b && b.kind === 'mongo');
}

/**
 * Where a namespace without an entry goes: the backend where its data already
 * is (data written before the registry existed, or before a backend was
 * added: `found` lists the candidates holding versions of it), else the hash.
 * When several hold data (a split made by an older library), the hashed one
 * wins if it is among them, else the first in key order; `doctor`/planRebalance
 * reports the others.
 */
export function initialPlacement(topology: Topology, ns: Namespace, found: readonly string[]): { backend: Backend; origin: 'hash' | 'probe' } {
  const hashed = hashedBackend(topology, ns);
  if (found.length === 0) return { backend: hashed, origin: 'hash' };
  if (found.includes(hashed.key)) return { backend: hashed, origin: 'probe' };
  const key = [...found].sort()[0]!;
  return { backend: topology.byKey.get(key)!, origin: 'probe' };
}

/**
 * Where the hash would place a namespace today, leaving out the backends being
 * drained (`exclude`): the destination `rebalance` moves a context to.
 */
export function targetBackend(topology: Topology, ns: Namespace, exclude: readonly string[] = []): Backend {
  const nodes = topology.routing.nodes.filter((k) => !exclude.includes(k));
  if (nodes.length === 0) throw new RouteError('No backend is left for hashed contexts once the drained ones are left out');
  const key = routingKey(topology, ns);
  return topology.byKey.get(topology.routing.hashAlgo === 'jump' ? jumpNode(key, nodes) : rendezvous(key, nodes))!;
}
