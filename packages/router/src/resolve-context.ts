/**
 * `chronos.with(ctx)`: turns one of the three context forms into exactly one
 * (backend, database, storage connection, namespace). Everything is checked
 * before any I/O; an unknown key, type, tier or extIdentifier is a
 * RouteError, never a silent fallback to hashing.
 */
import { RouteError, ValidationError, assertCollection, assertDbName, assertTenant, redactUri, type DatabaseType, type Namespace } from '@chronos-db/core';
import { jumpNode } from './jump.js';
import { rendezvous } from './rendezvous.js';
import { DATABASE_TYPES, TIERS, tierKey, type Backend, type StorageRef, type Tier, type Topology } from './topology.js';

/** 1. A backend by its configured key. */
export interface KeyContext {
  key: string;
  collection: string;
  tenantId?: string;
}

/** 2. A backend by database type and tier; `domain` and `tenant` need the extIdentifier. */
export interface TierContext {
  databaseType: DatabaseType;
  tier: Tier;
  extIdentifier?: string;
  collection: string;
  tenantId?: string;
}

/** 3. A backend chosen by hashing (routing.hashAlgo); data goes to `dbName` on it. */
export interface HashedContext {
  dbName: string;
  collection: string;
  tenantId?: string;
}

export type ContextInput = KeyContext | TierContext | HashedContext;

export interface ResolvedContext {
  form: 'key' | 'tier' | 'hash';
  backend: Backend;
  spacesConnIndex: StorageRef;
  /** dbName: the connection's for key/tier forms, the context's for the hashed form; tenant from tenantId. */
  ns: Namespace;
}

const KEY_RE = /^[A-Za-z0-9_-]{1,128}$/;
/** Every key a context may hold; any other is a RouteError naming it (a typo such as `tenant` for `tenantId` is never ignored). */
const CONTEXT_KEYS: ReadonlySet<string> = new Set(['key', 'databaseType', 'tier', 'extIdentifier', 'dbName', 'collection', 'tenantId']);
const show = (v: unknown): string => (typeof v === 'string' ? JSON.stringify(redactUri(v.slice(0, 64))) : typeof v);

function assertKeyLike(v: unknown, what: string): asserts v is string {
  if (typeof v !== 'string' || !KEY_RE.test(v)) {
    throw new ValidationError(`Invalid ${what} ${show(v)}: use 1-128 letters, digits, '_' or '-'`);
  }
}

export function resolveContext(topology: Topology, ctx: ContextInput): ResolvedContext {
  if (ctx === null || typeof ctx !== 'object')
    throw new ValidationError(
      'A context must be an object: { key, collection }, { databaseType, tier, extIdentifier?, collection } or { dbName, collection, tenantId? }',
    );
  const unknown = Object.keys(ctx).filter((k) => !CONTEXT_KEYS.has(k));
  if (unknown.length) {
    throw new RouteError(
      `Unknown context key${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => show(k)).join(', ')}: a context takes ${[...CONTEXT_KEYS].map((k) => `'${k}'`).join(', ')}`,
      { keys: unknown.map((k) => k.slice(0, 64)) },
    );
  }
  const c = ctx as Partial<KeyContext & TierContext & HashedContext>;
  const forms = [
    c.key !== undefined && 'key',
    (c.databaseType !== undefined || c.tier !== undefined || c.extIdentifier !== undefined) && 'databaseType/tier',
    c.dbName !== undefined && 'dbName',
  ].filter(Boolean);
  if (forms.length !== 1) {
    throw new RouteError(
      forms.length === 0
        ? 'A context needs one of: key, databaseType + tier (+ extIdentifier), or dbName'
        : `A context takes exactly one of key, databaseType/tier, dbName; got ${forms.join(' and ')}`,
    );
  }
  assertCollection(c.collection);
  if (c.tenantId !== undefined) assertTenant(c.tenantId);
  const tenant = c.tenantId !== undefined ? { tenant: c.tenantId } : {};

  if (c.key !== undefined) {
    assertKeyLike(c.key, 'backend key');
    const b = topology.byKey.get(c.key);
    if (!b) throw new RouteError(`Unknown backend key '${c.key}'`, { key: c.key });
    return { form: 'key', backend: b, spacesConnIndex: b.spacesConnIndex, ns: { dbName: b.dbName, collection: c.collection, ...tenant } };
  }

  if (c.dbName === undefined) {
    const { databaseType: type, tier, extIdentifier: ext } = c;
    if (type === undefined) throw new RouteError('A databaseType/tier context needs a databaseType');
    if (tier === undefined) throw new RouteError('A databaseType/tier context needs a tier');
    if (typeof type !== 'string' || !(DATABASE_TYPES as readonly string[]).includes(type)) {
      throw new RouteError(`Unknown databaseType ${show(type)}: use one of ${DATABASE_TYPES.map((t) => `'${t}'`).join(', ')}`);
    }
    if (typeof tier !== 'string' || !(TIERS as readonly string[]).includes(tier)) {
      throw new RouteError(`Unknown tier ${show(tier)}: use one of ${TIERS.map((t) => `'${t}'`).join(', ')}`);
    }
    if (tier === 'generic') {
      if (ext !== undefined) throw new RouteError("The 'generic' tier takes no extIdentifier");
    } else {
      if (ext === undefined) throw new RouteError(`The '${tier}' tier needs an extIdentifier`);
      assertKeyLike(ext, 'extIdentifier');
    }
    const b = topology.byTier.get(tierKey(type, tier, ext));
    if (!b) {
      throw new RouteError(
        tier === 'generic'
          ? `No generic backend configured for databaseType '${type}'`
          : `Unknown extIdentifier '${ext}' for databaseType '${type}', tier '${tier}'`,
        { databaseType: type, tier, ...(ext !== undefined ? { extIdentifier: ext } : {}) },
      );
    }
    return { form: 'tier', backend: b, spacesConnIndex: b.spacesConnIndex, ns: { dbName: b.dbName, collection: c.collection, ...tenant } };
  }

  assertDbName(c.dbName);
  const ns: Namespace = { dbName: c.dbName, collection: c.collection, ...tenant };
  const b = hashedBackend(topology, ns);
  return { form: 'hash', backend: b, spacesConnIndex: b.spacesConnIndex, ns };
}

/** The string hashed for a namespace: the routing fields joined with '|' (names cannot contain '|'). */
export function routingKey(topology: Topology, ns: Namespace): string {
  return topology.routing.fields.map((f) => (f === 'dbName' ? ns.dbName : f === 'collection' ? ns.collection : (ns.tenant ?? ''))).join('|');
}

/** The backend a hashed context lands on, by `routing.hashAlgo` over the eligible backend keys. */
export function hashedBackend(topology: Topology, ns: Namespace): Backend {
  const { nodes, hashAlgo } = topology.routing;
  if (nodes.length === 0) throw new RouteError('No backend is eligible for hashed contexts');
  const key = routingKey(topology, ns);
  const chosen = hashAlgo === 'jump' ? jumpNode(key, nodes) : rendezvous(key, nodes);
  return topology.byKey.get(chosen)!;
}
