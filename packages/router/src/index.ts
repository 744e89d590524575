export { hash64, compareCodeUnits } from './hash64.js';
export { jumpHash, jumpNode } from './jump.js';
export { rendezvous } from './rendezvous.js';
export {
  buildTopology,
  tierKey,
  DATABASE_TYPES,
  TIERS,
  HASH_FIELDS,
  LOCAL_BACKEND_KEY,
  type Backend,
  type MongoBackend,
  type LocalBackend,
  type Tier,
  type StorageRef,
  type HashField,
  type RoutingSettings,
  type Topology,
} from './topology.js';
export {
  resolveContext,
  routingKey,
  hashedBackend,
  type ContextInput,
  type KeyContext,
  type TierContext,
  type HashedContext,
  type ResolvedContext,
} from './resolve-context.js';
export { createClientPool, mongoClientId, s3ClientId, s3StoreId, type ClientPool, type ClientPoolOptions } from './pool.js';
export { describeBackends, describeBackend, describeStorage, safeUri, type BackendInfo, type StorageInfo } from './describe.js';
export { probeBackends, topologySecrets, topologyRedactor, redactWith, type BackendHealth } from './health.js';
export {
  PLACEMENT_COLLECTION,
  placementKey,
  namespaceOfKey,
  registryLocation,
  placementCandidates,
  initialPlacement,
  targetBackend,
  type PlacementEntry,
  type PlacementState,
  type RegistryLocation,
} from './placement.js';
