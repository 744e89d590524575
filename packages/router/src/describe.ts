/** What `admin.listBackends()` and `admin.health()` may show: no password, no secret key. */
import { redactUri, type DatabaseType } from '@chronos-db/core';
import { topologyRedactor } from './health.js';
import type { Backend, StorageRef, Tier, Topology } from './topology.js';

/**
 * A URI with its password replaced by '***' (core's redactUri: the user-info
 * ends at the LAST '@' before the path or query, so a password holding a raw
 * '@' or ':' is still hidden whole).
 */
export function safeUri(uri: string): string {
  return redactUri(uri);
}

export type StorageInfo =
  | { kind: 's3'; index: number; endpoint: string; region: string; jsonBucket: string; contentBucket: string; backupsBucket: string; forcePathStyle: boolean }
  | { kind: 'local'; basePath: string };

export interface BackendInfo {
  key: string;
  kind: 'mongo' | 'local';
  type: DatabaseType;
  tier: Tier;
  extIdentifier?: string;
  dbName: string;
  /** Redacted: the password, if any, is '***'. Absent for the embedded backend. */
  mongoUri?: string;
  /** Eligible for hashed contexts. */
  hashed: boolean;
  storage: StorageInfo;
}

export function describeStorage(topology: Topology, ref: StorageRef): StorageInfo {
  if (ref === 'local') return { kind: 'local', basePath: topology.localStorage?.basePath ?? '' };
  const s = topology.spacesConns[ref]!;
  return {
    kind: 's3',
    index: ref,
    endpoint: safeUri(s.endpoint),
    region: s.region,
    jsonBucket: s.jsonBucket,
    contentBucket: s.contentBucket,
    backupsBucket: s.backupsBucket,
    forcePathStyle: s.forcePathStyle ?? false,
  };
}

export function describeBackend(topology: Topology, b: Backend): BackendInfo {
  return {
    key: b.key,
    kind: b.kind,
    type: b.type,
    tier: b.tier,
    ...(b.extIdentifier !== undefined ? { extIdentifier: b.extIdentifier } : {}),
    dbName: b.dbName,
    ...(b.kind === 'mongo' ? { mongoUri: safeUri(b.mongoUri) } : {}),
    hashed: topology.routing.nodes.includes(b.key),
    storage: describeStorage(topology, b.spacesConnIndex),
  };
}

/** Every backend, in config order, safe to return from admin.listBackends() (walked by the topology's redactor). */
export function describeBackends(topology: Topology): BackendInfo[] {
  return topologyRedactor(topology).value(topology.backends.map((b) => describeBackend(topology, b)));
}
