/**
 * The bound collection of a hashed context when the topology keeps a placement
 * registry: every call first asks the registry (cached per process for the
 * lease) which backend holds the namespace, then runs on that backend's engine.
 * `with()` stays synchronous; the first call of a context in a process pays
 * the resolution (one registry read; for a namespace never seen, a probe of
 * each server and one insert), later calls none until the lease ends.
 */
import { isRetriableStorageError, type Namespace, type StorageError } from '@chronos-db/core';
import type { Backend } from '@chronos-db/router';
import type { Intent, Placement } from './placement.js';

/** Methods that change stored data: they wait while the context moves. Every other method reads. */
const WRITES: ReadonlySet<string> = new Set([
  'create',
  'update',
  'delete',
  'enrich',
  'applyQueued',
  'createMany',
  'createManyStream',
  'updateMany',
  'updateManyStream',
  'smartInsert',
  'restoreObject',
  'restoreCollection',
  'recountCounters',
  'collectGarbage',
]);
/** Methods that return an AsyncIterable (not a Promise). */
const STREAMS: ReadonlySet<string> = new Set(['createManyStream', 'updateManyStream', 'watch']);
/** Synchronous methods: answered by the engine of the backend used last (or the hashed one). */
const SYNC: ReadonlySet<string> = new Set(['stats']);

type AnyEngine = Record<string, unknown> & { ns: Namespace };

/** Writes the fallback queue can hold (a moving context's write is queued instead of refused when it is on). */
const QUEUEABLE: ReadonlySet<string> = new Set(['create', 'update', 'delete', 'enrich']);

export function placedCollection<E extends object>(
  ns: Namespace,
  placement: Placement,
  hashed: Backend,
  engineOn: (b: Backend) => E,
  queueOn?: (source: Backend) => E,
): E {
  let last: Backend = hashed;
  const on = async (intent: Intent): Promise<AnyEngine> => {
    last = await placement.backendFor(ns, intent);
    return engineOn(last) as unknown as AnyEngine;
  };
  const fns = new Map<PropertyKey, unknown>();
  const probe = engineOn(hashed) as unknown as AnyEngine;
  return new Proxy(probe as unknown as E, {
    get(_t, p) {
      if (p === 'ns') return ns;
      const v = (engineOn(last) as unknown as AnyEngine)[p as string];
      if (typeof v !== 'function' || typeof p !== 'string') return v;
      if (SYNC.has(p)) return (...a: unknown[]) => (engineOn(last) as unknown as Record<string, (...x: unknown[]) => unknown>)[p]!(...a);
      let w = fns.get(p);
      if (!w) {
        const intent: Intent = WRITES.has(p) ? 'write' : 'read';
        w = STREAMS.has(p)
          ? (...a: unknown[]) => {
              // the engine checks the arguments when called (a ValidationError is synchronous); its iterable
              // does no I/O until iterated, and this one is never iterated
              (engineOn(last) as unknown as Record<string, (...x: unknown[]) => unknown>)[p]!(...a);
              return (async function* () {
                const e = await on(intent);
                yield* (e[p] as (...x: unknown[]) => AsyncIterable<unknown>)(...a);
              })();
            }
          : async (...a: unknown[]) => {
              let e: AnyEngine;
              try {
                e = await on(intent);
              } catch (err) {
                // still moving after placementWaitMs: with the fallback queue on, the write is queued, never refused
                const from = (err as StorageError).details?.from;
                const source = typeof from === 'string' ? placement.deps.topology.byKey.get(from) : undefined;
                if (!queueOn || !QUEUEABLE.has(p) || !source || !isRetriableStorageError(err) || (err as StorageError).details?.reason !== 'placement-moving')
                  throw err;
                e = queueOn(source) as unknown as AnyEngine;
              }
              return (e[p] as (...x: unknown[]) => Promise<unknown>)(...a);
            };
        fns.set(p, w);
      }
      return w;
    },
  });
}
