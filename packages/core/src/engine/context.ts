/**
 * What every part of the engine shares for one bound namespace: the stores,
 * the collection map, the counter rules (compiled once, here), the clock and
 * the lazily created namespace indexes.
 */
import { ValidationError } from '../errors.js';
import { compileFilter, type FilterNode } from '../filter.js';
import { assertNamespace } from '../names.js';
import type { CollectionMap, CounterRule, DevShadowConfig } from '../config.js';
import type { BlobStore, CounterStore, MetadataStore, Namespace } from '../ports.js';
import { silentLogger, type Logger } from '../logger.js';
import { DEFAULT_MAX_PAYLOAD_BYTES, sha256 } from './payload.js';
import type { EngineOptions } from './types.js';
import type { EngineFallback } from './fallback.js';

/** A counter rule with its `when` filter compiled. */
export interface CompiledCounterRule {
  name: string;
  on: CounterRule['on'];
  scope: CounterRule['scope'];
  when: FilterNode | undefined;
}

export interface EngineContext {
  readonly ns: Namespace;
  readonly meta: MetadataStore;
  readonly blobs: BlobStore;
  readonly counters: CounterStore | undefined;
  readonly map: CollectionMap | undefined;
  readonly rules: readonly CompiledCounterRule[];
  readonly devShadow: DevShadowConfig | undefined;
  readonly maxBytes: number;
  readonly log: Logger;
  readonly clock: () => number;
  /** The fallback queue, when `fallback` is on (fallback.ts). */
  readonly fallback?: EngineFallback | undefined;
  readonly operationTimeoutMs: number;
  /** Creates the namespace's indexes once (retried after a failure). */
  ensure(): Promise<void>;
  /** Running totals of this engine (see `CollectionEngine.stats()`). */
  readonly stats: EngineStats;
}

export interface EngineStats {
  /** Payload and blob objects that write attempts which lost their commit deleted again. */
  lostWriteObjectsRemoved: number;
  /** Objects of lost attempts that could not be deleted (left for collectGarbage). */
  lostWriteObjectsLeft: number;
}

/** Rebuild-and-retry bound for writes without an explicit expectedOv (last writer wins). */
export const MAX_RETRIES = 50;
export const backoff = (attempt: number) => new Promise((r) => setTimeout(r, Math.random() * Math.min(50, 2 * (attempt + 1))));
/** The config's default `operationTimeoutMs`. */
export const DEFAULT_OPERATION_TIMEOUT_MS = 30_000;
let isoMs = Number.NaN;
let isoText = '';
/** ISO 8601 of epoch ms (the last one remembered: writes in the same millisecond ask for it again). */
export const iso = (ms: number): string => {
  if (ms !== isoMs) {
    isoText = new Date(ms).toISOString();
    isoMs = ms;
  }
  return isoText;
};

export function createContext(opts: EngineOptions): EngineContext {
  assertNamespace(opts.ns);
  const t = opts.operationTimeoutMs;
  if (t !== undefined && (typeof t !== 'number' || !Number.isInteger(t) || t < 1))
    throw new ValidationError('operationTimeoutMs must be a positive integer (ms)');
  const ns = { ...opts.ns };
  const meta = opts.meta;
  let ready: Promise<void> | undefined;
  return {
    ns,
    meta,
    blobs: opts.blobs,
    counters: opts.counters,
    map: opts.map,
    rules: (opts.counterRules ?? []).map((r) => ({ name: r.name, on: r.on, scope: r.scope, when: compileFilter(r.when) })),
    devShadow: opts.devShadow?.enabled ? opts.devShadow : undefined,
    maxBytes: opts.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES,
    log: opts.logger ?? silentLogger,
    clock: opts.clock ?? Date.now,
    fallback: opts.fallback,
    operationTimeoutMs: opts.operationTimeoutMs ?? DEFAULT_OPERATION_TIMEOUT_MS,
    stats: { lostWriteObjectsRemoved: 0, lostWriteObjectsLeft: 0 },
    ensure() {
      if (!ready) {
        ready = meta.ensureNamespace(ns, opts.map?.indexedProps?.length ? { indexedProps: opts.map.indexedProps } : undefined).catch((e) => {
          ready = undefined;
          throw e;
        });
      }
      return ready;
    },
  };
}

/** A deterministic record id for this namespace (requestId creates, smartInsert keys). */
export function derivedId(cx: EngineContext, kind: string, value: string): string {
  const { dbName, tenant, collection } = cx.ns;
  return `${kind}-${sha256(`${dbName}\u0000${tenant ?? ''}\u0000${collection}\u0000${value}`).slice(0, 40)}`;
}

/**
 * Compiles a user filter. With indexedProps configured only those fields (and dotted paths
 * inside them) are allowed; without, every top-level scalar is indexed and a dotted path is refused.
 */
export function compileUserFilter(cx: EngineContext, filter: unknown): FilterNode | undefined {
  const indexed = cx.map?.indexedProps;
  const some = !!indexed && indexed.length > 0;
  return compileFilter(filter ?? {}, { allowedFields: some ? indexed : undefined, topLevelOnly: !some });
}
