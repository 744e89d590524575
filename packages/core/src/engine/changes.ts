/**
 * The change feed of a namespace: `changes` (one page) and `watch` (an async iterator).
 *
 * Exactness comes from the store (`MetadataStore.changesAfter`): versions in cv order, never
 * past a cv that may still commit, and a resume point `nextCv` such that every cv up to it was
 * delivered or can never commit. A consumer that keeps the last `nextCv` it processed (or the
 * cv of the last item) and resumes from it sees every committed version exactly once, in cv
 * order. A filter is applied here, on each version's indexed metadata; `nextCv` still moves
 * past the versions it left out, so a page can hold fewer than `limit` items.
 *
 * `watch` polls on every store, with backoff while there is nothing new (minDelayMs, doubling
 * to maxDelayMs). Opt-in `changeStream: true` (stores with `openChangeSignal`: storage-mongo on
 * a replica set or mongos) uses a MongoDB change stream on the version collection only as a
 * wake-up: the feed is still read by the same `changesAfter` query from the last cv, so it stays
 * exact (cv order, once each, a late lower cv never skipped) and resumes from a cv, not from a
 * stream token. While the stream is open an empty poll waits for its next event (or maxDelayMs,
 * a safety poll); the store signals once when the stream is listening, so a commit between the
 * first poll and the stream's start is read at once. If the stream stops for good, watch logs a
 * warning and goes back to polling with backoff.
 */
import { ValidationError } from '../errors.js';
import { matchFilter } from '../filter.js';
import type { ChangeSignal, Op, VersionDoc } from '../ports.js';
import { mapLimit } from './concurrency.js';
import { compileUserFilter, type EngineContext } from './context.js';
import { checkOptionKeys } from './history.js';
import { isPlainObject } from './payload.js';
import { render } from './render.js';

export const MAX_CHANGES_LIMIT = 1000;

export interface ChangesOptions {
  /** Resume point (exclusive): 0 (the default) for the whole history. */
  afterCv?: number;
  /** Versions per page, 1-1000. Default 100. */
  limit?: number;
  /** On each version's indexed metadata. */
  filter?: Record<string, unknown>;
  /** Add each version's data (one payload read per item). */
  includePayload?: boolean;
}

export interface ChangeEntry {
  op: Op;
  id: string;
  ov: number;
  cv: number;
  at: Date;
  actor?: string;
  reason?: string;
  deleted: boolean;
  /** With includePayload: the record as this version holds it (as getVersion shows it). */
  data?: Record<string, unknown>;
}

export interface ChangeFeedPage {
  items: ChangeEntry[];
  /** Where to resume: every version with cv <= nextCv has been delivered (or filtered out). */
  nextCv: number;
}

/**
 * What `watch` uses of an `AbortSignal` (any AbortSignal fits). Declared here so
 * the published types need neither the DOM lib nor @types/node.
 */
export interface AbortSignalLike {
  readonly aborted: boolean;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

export interface WatchOptions extends ChangesOptions {
  /** Stops the iterator (it then ends without an error). */
  signal?: AbortSignalLike;
  /** First wait after an empty poll, ms (10-60000). Default 100. */
  minDelayMs?: number;
  /** Longest wait between polls, ms (10-600000). Default 5000. */
  maxDelayMs?: number;
  /**
   * Wake on a MongoDB change stream instead of polling with backoff (opt-in; needs a replica set
   * or mongos: FerretDB and the embedded store refuse it with a ValidationError). The feed is
   * still read by the polling query, so delivery is the same; maxDelayMs becomes a safety poll.
   */
  changeStream?: boolean;
}

interface Checked {
  afterCv: number;
  limit: number;
  filter: ReturnType<typeof compileUserFilter>;
  includePayload: boolean;
}

function check(cx: EngineContext, o: unknown, extra: string[]): Checked {
  if (!isPlainObject(o)) throw new ValidationError('changes options must be { afterCv?, limit?, filter?, includePayload? }');
  checkOptionKeys(o, ['afterCv', 'limit', 'filter', 'includePayload', ...extra], extra.length ? 'watch' : 'changes');
  const afterCv = o.afterCv ?? 0;
  if (typeof afterCv !== 'number' || !Number.isSafeInteger(afterCv) || afterCv < 0) throw new ValidationError('afterCv must be a non-negative integer');
  const limit = o.limit ?? 100;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > MAX_CHANGES_LIMIT)
    throw new ValidationError(`limit must be an integer from 1 to ${MAX_CHANGES_LIMIT}`);
  if (o.includePayload !== undefined && typeof o.includePayload !== 'boolean') throw new ValidationError('includePayload must be a boolean');
  if (!cx.meta.changesAfter) throw new ValidationError('This metadata store has no change feed (MetadataStore.changesAfter)');
  return { afterCv, limit, filter: compileUserFilter(cx, o.filter), includePayload: o.includePayload === true };
}

async function page(cx: EngineContext, c: Checked): Promise<ChangeFeedPage> {
  await cx.ensure();
  const { versions, nextCv } = await cx.meta.changesAfter!(cx.ns, { afterCv: c.afterCv, limit: c.limit });
  const kept = versions.filter((v) => matchFilter(c.filter, v.metaIndexed));
  const items = await mapLimit(kept, 8, async (v: VersionDoc) => {
    const e: ChangeEntry = {
      op: v.op,
      id: v.itemId,
      ov: v.ov,
      cv: v.cv,
      at: new Date(v.at),
      deleted: v.deleted,
      ...(v.actor !== undefined ? { actor: v.actor } : {}),
      ...(v.reason !== undefined ? { reason: v.reason } : {}),
    };
    if (c.includePayload) e.data = await render(cx, v, null, { includeDeleted: true });
    return e;
  });
  return { items, nextCv: Math.max(nextCv, c.afterCv) };
}

export function changes(cx: EngineContext, opts: ChangesOptions = {}): Promise<ChangeFeedPage> {
  try {
    return page(cx, check(cx, opts, []));
  } catch (e) {
    return Promise.reject(e);
  }
}

function delayOf(v: unknown, name: string, dflt: number, max: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 10 || v > max) throw new ValidationError(`${name} must be an integer from 10 to ${max}`);
  return v;
}

/** Waits ms, or less when the signal aborts or `wake` is called (one timer, always cleared). */
function sleep(ms: number, signal?: AbortSignalLike, waker?: { wake?: () => void }): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      if (waker) waker.wake = undefined;
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
    if (waker) waker.wake = done;
  });
}

/** Every change after `afterCv`, then each new one as it commits, until `signal` aborts (or the loop breaks). */
export function watch(cx: EngineContext, opts: WatchOptions = {}): AsyncIterable<ChangeEntry> {
  const c = check(cx, opts, ['signal', 'minDelayMs', 'maxDelayMs', 'changeStream']);
  const minDelay = delayOf(opts.minDelayMs, 'minDelayMs', 100, 60_000);
  const maxDelay = delayOf(opts.maxDelayMs, 'maxDelayMs', 5000, 600_000);
  if (maxDelay < minDelay) throw new ValidationError('maxDelayMs must be at least minDelayMs');
  const signal = opts.signal;
  if (signal !== undefined && !(typeof signal === 'object' && signal !== null && 'aborted' in signal))
    throw new ValidationError('signal must be an AbortSignal');
  if (opts.changeStream !== undefined && typeof opts.changeStream !== 'boolean') throw new ValidationError('changeStream must be a boolean');
  const useStream = opts.changeStream === true;
  if (useStream && !cx.meta.openChangeSignal)
    throw new ValidationError('changeStream: true needs a metadata store with change streams (storage-mongo on a replica set or mongos); omit it to poll');
  return {
    async *[Symbol.asyncIterator]() {
      let afterCv = c.afterCv;
      let delay = minDelay;
      // with a change stream: `pending` is set by each event; `waker.wake` ends a wait early
      let pending = false;
      let stream: ChangeSignal | undefined;
      const waker: { wake?: () => void } = {};
      if (useStream) {
        await cx.ensure();
        stream = await cx.meta.openChangeSignal!(cx.ns, {
          changed() {
            pending = true;
            waker.wake?.();
          },
          lost(e) {
            cx.log.warn('watch: the change stream stopped; polling with backoff from now on', { error: String((e as Error)?.message ?? e) });
            stream = undefined;
            waker.wake?.();
          },
        });
      }
      try {
        while (!signal?.aborted) {
          pending = false; // an event from now on may be past this poll: it ends the next wait
          const p = await page(cx, { ...c, afterCv });
          for (const item of p.items) {
            if (signal?.aborted) return;
            yield item;
          }
          const moved = p.nextCv > afterCv;
          afterCv = p.nextCv;
          if (moved) delay = minDelay;
          else if (stream) {
            if (!pending) await sleep(maxDelay, signal, waker);
          } else {
            await sleep(delay, signal);
            delay = Math.min(maxDelay, delay * 2);
          }
        }
      } finally {
        await stream?.close();
      }
    },
  };
}
