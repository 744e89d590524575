/**
 * The `databases` section as a validated, immutable map of backends: every
 * connection with its type, tier, extIdentifier and the storage connection
 * that holds its payloads; plus the routing settings for hashed contexts.
 */
import { ConfigError, type ConfigIssue, type DatabaseType, type ParsedConfig, type SpacesConnConfig } from '@chronos-db/core';
import { compareCodeUnits } from './hash64.js';

export const DATABASE_TYPES: readonly DatabaseType[] = ['metadata', 'knowledge', 'runtime'];
export type Tier = 'generic' | 'domain' | 'tenant';
export const TIERS: readonly Tier[] = ['generic', 'domain', 'tenant'];

/** Where a backend's payloads live: an index into `spacesConns`, or the local filesystem. */
export type StorageRef = number | 'local';

interface BackendBase {
  /** Globally unique key (`databases.*.*.key`, or `local` for the embedded default). */
  key: string;
  /** The connection's database (the hashed form uses the context's dbName instead). */
  dbName: string;
  type: DatabaseType;
  tier: Tier;
  extIdentifier?: string;
  spacesConnIndex: StorageRef;
  /** Where it was configured, e.g. `databases.runtime.tenants[1]`. */
  path: string;
}

/** A MongoDB backend from `databases`. `mongoUri` may hold a password: never log it (see describeBackends). */
export interface MongoBackend extends BackendBase {
  kind: 'mongo';
  mongoUri: string;
}

/** The embedded default (no `databases`, `localStorage.enabled`): metadata in SQLite under basePath. */
export interface LocalBackend extends BackendBase {
  kind: 'local';
}

export type Backend = MongoBackend | LocalBackend;

export type HashField = 'dbName' | 'collection' | 'tenantId';
export const HASH_FIELDS: readonly HashField[] = ['dbName', 'collection', 'tenantId'];

export interface RoutingSettings {
  hashAlgo: 'rendezvous' | 'jump';
  /** Context fields joined with '|' to form the hashed key. Default: dbName, collection, tenantId. */
  fields: readonly HashField[];
  /** Database types whose backends hashed contexts may land on; null = every type. */
  types: readonly DatabaseType[] | null;
  /** Keys of the eligible backends, sorted in code-unit order. */
  nodes: readonly string[];
}

export interface Topology {
  /** Every backend, in config order (metadata, knowledge, runtime; generic, domains, tenants). */
  readonly backends: readonly Backend[];
  readonly byKey: ReadonlyMap<string, Backend>;
  /** `${type}/${tier}/${extIdentifier ?? ''}` → backend. */
  readonly byTier: ReadonlyMap<string, Backend>;
  readonly routing: RoutingSettings;
  readonly spacesConns: readonly SpacesConnConfig[];
  readonly localStorage: { basePath: string } | null;
  /** True when the embedded default serves (no Mongo backend configured). */
  readonly embedded: boolean;
}

export const LOCAL_BACKEND_KEY = 'local';
const RESERVED_DBNAMES = new Set(['admin', 'local', 'config']);

export function tierKey(type: DatabaseType, tier: Tier, extIdentifier?: string): string {
  return `${type}/${tier}/${extIdentifier ?? ''}`;
}

/**
 * Builds the topology from a config already checked by core's `parseConfig`.
 * Throws one ConfigError listing every problem with its path; messages name
 * keys and paths, never a URI or a secret.
 */
export function buildTopology(cfg: ParsedConfig): Topology {
  const issues: ConfigIssue[] = [];
  const spacesConns = cfg.spacesConns ?? [];
  const local = cfg.localStorage?.enabled ? { basePath: cfg.localStorage.basePath } : null;
  const backends: Backend[] = [];
  const byKey = new Map<string, Backend>();
  const byTier = new Map<string, Backend>();

  const storageFor = (conn: { spacesConn?: number | string | undefined }, path: string): StorageRef | null => {
    const sc = conn.spacesConn;
    if (typeof sc === 'number') {
      if (sc < spacesConns.length) return sc;
      issues.push({
        path: `${path}.spacesConn`,
        message: spacesConns.length
          ? `is ${sc}, but spacesConns has only ${spacesConns.length} entr${spacesConns.length === 1 ? 'y' : 'ies'} (0-based)`
          : `is ${sc}, but no spacesConns are configured`,
      });
      return null;
    }
    if (typeof sc === 'string') {
      const matches = spacesConns.flatMap((s, i) => (s.jsonBucket === sc ? [i] : []));
      if (sc === 'local' && local && matches.length === 0) return 'local';
      if (matches.length === 1) return matches[0]!;
      issues.push({
        path: `${path}.spacesConn`,
        message: matches.length
          ? `names jsonBucket '${sc}', which ${matches.length} spacesConns share: give the index instead`
          : `names no configured spacesConns jsonBucket${local ? " (nor 'local')" : ''}`,
      });
      return null;
    }
    if (spacesConns.length === 1) return 0;
    if (spacesConns.length === 0 && local) return 'local';
    issues.push({
      path: `${path}.spacesConn`,
      message:
        spacesConns.length === 0
          ? 'no storage for payloads: configure spacesConns, or localStorage: { enabled: true, basePath }'
          : `is required when there are ${spacesConns.length} spacesConns: give the index or jsonBucket name of one`,
    });
    return null;
  };

  const keySeen = new Map<string, string>();
  const extSeen = new Map<string, string>();
  for (const type of DATABASE_TYPES) {
    const t = cfg.databases?.[type];
    if (!t) continue;
    const entries: { conn: NonNullable<typeof t.generic>; tier: Tier; path: string }[] = [];
    if (t.generic) entries.push({ conn: t.generic, tier: 'generic', path: `databases.${type}.generic` });
    t.domains?.forEach((conn, i) => entries.push({ conn, tier: 'domain', path: `databases.${type}.domains[${i}]` }));
    t.tenants?.forEach((conn, i) => entries.push({ conn, tier: 'tenant', path: `databases.${type}.tenants[${i}]` }));
    for (const { conn, tier, path } of entries) {
      let ok = true;
      const prev = keySeen.get(conn.key);
      if (prev) {
        issues.push({ path: `${path}.key`, message: `duplicate key '${conn.key}' (also at ${prev}.key): keys must be unique across all types and tiers` });
        ok = false;
      } else keySeen.set(conn.key, path);
      if (RESERVED_DBNAMES.has(conn.dbName)) {
        issues.push({ path: `${path}.dbName`, message: `'${conn.dbName}' is reserved by MongoDB` });
        ok = false;
      }
      if (conn.extIdentifier !== undefined) {
        if (tier === 'generic') {
          issues.push({ path: `${path}.extIdentifier`, message: 'is not allowed on a generic connection (only domains and tenants have one)' });
          ok = false;
        } else {
          const tk = tierKey(type, tier, conn.extIdentifier);
          const other = extSeen.get(tk);
          if (other) {
            issues.push({
              path: `${path}.extIdentifier`,
              message: `duplicate extIdentifier '${conn.extIdentifier}' in ${type} ${tier}s (also at ${other}.extIdentifier)`,
            });
            ok = false;
          } else extSeen.set(tk, path);
        }
      }
      const storage = storageFor(conn, path);
      if (!ok || storage === null) continue;
      const b: MongoBackend = {
        kind: 'mongo',
        key: conn.key,
        mongoUri: conn.mongoUri,
        dbName: conn.dbName,
        type,
        tier,
        ...(conn.extIdentifier !== undefined ? { extIdentifier: conn.extIdentifier } : {}),
        spacesConnIndex: storage,
        path,
      };
      backends.push(b);
      byKey.set(b.key, b);
      // Generic: one per type. Domains/tenants without extIdentifier are reachable by key only.
      if (tier === 'generic' || b.extIdentifier !== undefined) byTier.set(tierKey(type, tier, b.extIdentifier), b);
    }
  }

  const embedded = backends.length === 0 && issues.length === 0 && !!local && !hasAnyConnection(cfg);
  if (embedded) {
    const b: LocalBackend = {
      kind: 'local',
      key: LOCAL_BACKEND_KEY,
      dbName: 'chronos',
      type: 'runtime',
      tier: 'generic',
      spacesConnIndex: 'local',
      path: 'localStorage',
    };
    backends.push(b);
    byKey.set(b.key, b);
    byTier.set(tierKey('runtime', 'generic'), b);
  } else if (!hasAnyConnection(cfg)) {
    issues.push({
      path: 'databases',
      message: 'configure at least one Mongo backend in databases, or localStorage: { enabled: true, basePath } for the embedded default',
    });
  }

  const { fields, types } = parseChooseKey(cfg.routing?.chooseKey, issues);
  const nodes = backends
    .filter((b) => !types || types.includes(b.type))
    .map((b) => b.key)
    .sort(compareCodeUnits);
  if (types && nodes.length === 0 && issues.length === 0) {
    issues.push({ path: 'routing.chooseKey', message: `selects type(s) ${types.map((t) => `'${t}'`).join(', ')}, which have no backends` });
  }

  if (issues.length) throw new ConfigError(issues);
  return Object.freeze({
    backends: Object.freeze(backends.map((b) => Object.freeze(b))),
    byKey,
    byTier,
    routing: Object.freeze({ hashAlgo: cfg.routing?.hashAlgo ?? 'rendezvous', fields, types, nodes: Object.freeze(nodes) }),
    spacesConns,
    localStorage: local,
    embedded,
  });
}

function hasAnyConnection(cfg: ParsedConfig): boolean {
  return DATABASE_TYPES.some((type) => {
    const t = cfg.databases?.[type];
    return !!t && (!!t.generic || !!t.domains?.length || !!t.tenants?.length);
  });
}

/**
 * `routing.chooseKey`: '|'-separated tokens. Field tokens (`dbName`,
 * `collection`, `tenantId`) choose, in order, the context fields hashed;
 * type tokens (`metadata`, `knowledge`, `runtime`) restrict hashed contexts
 * to backends of those types. Defaults: all three fields, every type.
 */
function parseChooseKey(chooseKey: string | undefined, issues: ConfigIssue[]): { fields: readonly HashField[]; types: readonly DatabaseType[] | null } {
  if (chooseKey === undefined) return { fields: HASH_FIELDS, types: null };
  const fields: HashField[] = [];
  const types: DatabaseType[] = [];
  for (const raw of chooseKey.split('|')) {
    const tok = raw.trim();
    if ((HASH_FIELDS as readonly string[]).includes(tok)) {
      if (!fields.includes(tok as HashField)) fields.push(tok as HashField);
    } else if ((DATABASE_TYPES as readonly string[]).includes(tok)) {
      if (!types.includes(tok as DatabaseType)) types.push(tok as DatabaseType);
    } else {
      issues.push({
        path: 'routing.chooseKey',
        message: `has an unknown token '${tok.slice(0, 40)}': use '|'-separated fields (dbName, collection, tenantId) and/or types (metadata, knowledge, runtime)`,
      });
    }
  }
  return { fields: fields.length ? fields : HASH_FIELDS, types: types.length ? types : null };
}
