/**
 * `initChronos(config)`: validates the seed's config, builds the runtime
 * (runtime.ts: topology, pools, redactor, fallback queue, engine cache,
 * closed state) and returns the public object. Synchronous; every connection
 * is opened lazily, once per distinct endpoint, and closed by
 * `admin.shutdown()`.
 */
import {
  type Collection,
  ValidationError,
  parseConfig,
  redactConfig,
  type ChronosConfig,
  type CounterTotals,
  type ParsedConfig,
  type QueuedWrite,
  assertDbName,
  assertCollection,
  assertTenant,
} from '@chronos-db/core';
import { spacesAdmin } from './adapters.js';
import type { ContextInput } from '@chronos-db/router';
import type { ChronosAdmin } from './admin-types.js';
import type { ChronosFallback } from './fallback.js';
import { createRebalancer } from './rebalance.js';
import { createRuntime } from './runtime.js';

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
  /** The validated config with every secret replaced by '***' (access keys masked). */
  readonly config: ParsedConfig;
}

export function initChronos<const C extends ChronosConfig>(config: C): Chronos<QueuedResultOf<C>> {
  const cfg = parseConfig(config);
  const runtime = createRuntime(cfg);

  const counterScope = (s: { dbName: string; collection: string; tenant?: string }) => {
    runtime.assertOpen();
    if (!s || typeof s !== 'object') throw new ValidationError('counters scope must be { dbName, collection, tenant? }');
    assertDbName(s.dbName);
    assertCollection(s.collection);
    if (s.tenant !== undefined) assertTenant(s.tenant);
    const store = runtime.counterStore();
    if (!store) throw new ValidationError('Counters need a counters database: set config.counters = { mongoUri, dbName }');
    return { store, scope: { dbName: s.dbName, collection: s.collection, ...(s.tenant !== undefined ? { tenant: s.tenant } : {}) } };
  };

  let admin: ChronosAdmin | undefined;
  const chronos: Chronos<QueuedResultOf<C>> = {
    config: redactConfig(cfg, runtime.redactor),
    with<T extends object>(ctx: ContextInput): Collection<T, QueuedResultOf<C>> {
      return runtime.engine(ctx) as unknown as Collection<T, QueuedResultOf<C>>; // the engine is untyped; Collection<T> types its records
    },
    fallback: runtime.fallbackApi,
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
        const bound = runtime.cachedEngines().find((e) => e.ns.dbName === s.dbName && e.ns.collection === s.collection && e.ns.tenant === s.tenant);
        return (
          bound ?? chronos.with({ dbName: s.dbName, collection: s.collection, ...(s.tenant !== undefined ? { tenantId: s.tenant } : {}) })
        ).recountCounters();
      },
    },
    // @chronos-db/admin (and the S3 SDK it uses) loads on the first admin call but shutdown(),
    // which an instance that never used admin can answer itself (a CLI `get` ends with it)
    admin: new Proxy({} as ChronosAdmin, {
      get(_t, prop) {
        if (prop === 'shutdown') return () => (admin ? admin.shutdown() : runtime.shutdown());
        admin ??= { ...spacesAdmin.createChronosAdmin(runtime), ...createRebalancer(runtime) } as ChronosAdmin;
        return (admin as unknown as Record<PropertyKey, unknown>)[prop];
      },
    }),
  };
  return chronos;
}
