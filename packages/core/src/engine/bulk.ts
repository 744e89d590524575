/**
 * Bulk writes: createMany and updateMany. Items are taken from an array or
 * an (async) iterable in batches of `batchSize`, so memory holds one batch
 * whatever the number of items. Per batch: every item is checked on its own
 * (a bad one is a result, not an exception), payloads are PUT in parallel
 * (at most `concurrency` in flight), then the versions commit through
 * `MetadataStore.commitMany` when the store has it (MongoDB: one insertMany;
 * SQLite: one transaction), else one commit each, `concurrency` at a time.
 *
 * One result per item, in input order: `{ ok: true, index, id, ov, cv }` or
 * `{ ok: false, index, error }` with a ChronosError. A `requestId` per item
 * makes a rerun safe: an item whose earlier run committed answers with that
 * commit (no second version); without an explicit id, a create's id is
 * derived from its requestId, as `create` does. Those earlier commits are
 * looked up for a whole batch at once (`MetadataStore.findByRequestIds` where
 * the store has it): updateMany before it reads the heads; createMany after
 * the commit refused items, and before the PUTs while the last batch that
 * settled found earlier commits (a rerun then costs one lookup per batch).
 */
import { ChronosError, NotFoundError, OptimisticLockError, StorageError, ValidationError } from '../errors.js';
import { assertId, assertOv, isId, newId } from '../names.js';
import type { CommitInput, CommitManyResult, HeadDoc, VersionDoc } from '../ports.js';
import { build, type Built } from './build.js';
import { allInline, priorsOf, putPayloads, replayed } from './commit.js';
import { mapLimit } from './concurrency.js';
import { derivedId, type EngineContext } from './context.js';
import { count } from './counting.js';
import { isPlainObject } from './payload.js';
import type { BulkCreateItem, BulkOptions, BulkResult, BulkUpdateItem } from './types.js';
import { checkData, optString, writeSetup, type WriteSetup } from './validate.js';
import * as write from './write.js';

const MAX_BATCH = 5_000;
const MAX_CONCURRENCY = 256;

interface Planned {
  index: number;
  id: string;
  w: WriteSetup;
  input: Record<string, unknown>;
  built?: Built;
  commit?: CommitInput;
  /** updateMany without expectedOv: a lost commit is redone by `update` (last writer wins). */
  retryAlone?: () => Promise<{ ov: number; cv: number }>;
}

type Settled = BulkResult;

/** A batch's earlier commits by requestId (priorsOf), or the error of their lookup (it fails the items that needed it). */
type Priors = ReadonlyMap<string, VersionDoc> | { error: unknown };
/** The result of an item whose requestId an earlier run committed (that commit: no second version), else null. */
const replayedResult = (priors: Priors, w: WriteSetup, index: number): Settled | null => {
  if (!w.requestId) return null;
  if (!(priors instanceof Map)) throw (priors as { error: unknown }).error;
  const prior = replayed(priors.get(w.requestId), w.requestId, w.requestHash!);
  return prior && { ok: true, index, id: prior.itemId, ov: prior.ov, cv: prior.cv };
};

function options(o: BulkOptions | undefined): {
  batchSize: number;
  concurrency: number;
  actor?: string;
  reason?: string;
  onProgress?: BulkOptions['onProgress'];
} {
  if (o === undefined) return { batchSize: 500, concurrency: 16 };
  if (!isPlainObject(o as unknown)) throw new ValidationError('bulk options must be an object');
  const int = (v: unknown, name: string, def: number, max: number) => {
    if (v === undefined) return def;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > max) throw new ValidationError(`${name} must be an integer from 1 to ${max}`);
    return v;
  };
  if (o.onProgress !== undefined && typeof o.onProgress !== 'function') throw new ValidationError('onProgress must be a function');
  const actor = optString(o.actor, 'actor');
  const reason = optString(o.reason, 'reason');
  return {
    batchSize: int(o.batchSize, 'batchSize', 500, MAX_BATCH),
    concurrency: int(o.concurrency, 'concurrency', 16, MAX_CONCURRENCY),
    ...(actor !== undefined ? { actor } : {}),
    ...(reason !== undefined ? { reason } : {}),
    ...(o.onProgress ? { onProgress: o.onProgress } : {}),
  };
}

/** Batches of items, cut early so that no id appears twice in one batch. */
async function* batches<T>(
  items: Iterable<T> | AsyncIterable<T>,
  size: number,
  idOf: (item: T) => string | undefined,
): AsyncGenerator<{ start: number; items: T[] }> {
  if (items === null || typeof items !== 'object' || (!(Symbol.iterator in items) && !(Symbol.asyncIterator in items))) {
    throw new ValidationError('items must be an array or an (async) iterable');
  }
  let batch: T[] = [];
  let ids = new Set<string>();
  let start = 0;
  /** Adds an item; the full batch it closed, if any. */
  const add = (item: T): { start: number; items: T[] } | undefined => {
    const id = idOf(item);
    let full: { start: number; items: T[] } | undefined;
    if (batch.length >= size || (id !== undefined && ids.has(id))) {
      full = { start, items: batch };
      start += batch.length;
      batch = [];
      ids = new Set();
    }
    batch.push(item);
    if (id !== undefined) ids.add(id);
    return full;
  };
  if (Symbol.asyncIterator in items) {
    for await (const item of items) {
      const full = add(item);
      if (full) yield full;
    }
  } else {
    // a sync iterable without a wait per item (for await takes one); a promise in it is awaited, as for await does
    for (const it of items) {
      const item = it !== null && typeof (it as { then?: unknown } | undefined)?.then === 'function' ? ((await it) as T) : it;
      const full = add(item);
      if (full) yield full;
    }
  }
  if (batch.length) yield { start, items: batch };
}

const asError = (e: unknown): ChronosError =>
  e instanceof ChronosError ? e : new StorageError(`Bulk write failed: ${e instanceof Error ? e.message : String(e)}`, undefined, { cause: e });

const fail = (index: number, e: unknown, id?: string): Settled => ({ ok: false, index, ...(id !== undefined ? { id } : {}), error: asError(e) });

/** Best effort: a version that did not commit leaves no payload behind. */
async function discard(cx: EngineContext, b: Built): Promise<void> {
  const keys: Array<['json' | 'content', string]> = [['json', b.version.jsonKey]];
  for (const p of b.pending) {
    keys.push(['content', p.ref.key]);
    if (p.ref.textKey) keys.push(['content', p.ref.textKey]);
  }
  await Promise.all(keys.map(([r, k]) => cx.blobs.delete(r, k).catch(() => undefined)));
}

/** PUTs the payloads of the planned items (at most `concurrency` at a time): the ones ready to commit, in order, and the failed ones. */
async function put(cx: EngineContext, plans: Planned[], concurrency: number): Promise<{ ready: Planned[]; out: Map<number, Settled> }> {
  const out = new Map<number, Settled>();
  const ready: Planned[] = [];
  // payloads the commit writes itself (the embedded store's small ones): nothing to PUT or wait for
  const toPut: Planned[] = [];
  for (const p of plans) {
    const inline = allInline(cx, p.built!);
    if (inline === null) toPut.push(p);
    else {
      if (inline) p.commit!.payloads = inline;
      ready.push(p);
    }
  }
  await mapLimit(toPut, concurrency, async (p) => {
    const b = p.built!;
    try {
      const payloads = await putPayloads(cx, b);
      if (payloads) p.commit = { ...p.commit!, payloads };
      ready.push(p);
    } catch (e) {
      out.set(p.index, fail(p.index, e, p.id));
      await discard(cx, b);
    }
  });
  ready.sort((a, z) => a.index - z.index);
  return { ready, out };
}

/** Commits the items whose payloads are stored; one result per item (with the PUT failures in `out`). */
async function commitReady(
  cx: EngineContext,
  { ready, out }: { ready: Planned[]; out: Map<number, Settled> },
  concurrency: number,
  op: 'CREATE' | 'UPDATE',
  tally: { replayed: number },
): Promise<Settled[]> {
  let results: CommitManyResult[];
  if (cx.meta.commitMany && ready.length > 1) {
    try {
      results = await cx.meta.commitMany(ready.map((p) => p.commit!));
    } catch (e) {
      results = ready.map(() => ({ ok: false as const, error: asError(e) }));
    }
  } else {
    results = await mapLimit(ready, concurrency, async (p): Promise<CommitManyResult> => {
      try {
        return { ok: true, ...(await cx.meta.commit(p.commit!)) };
      } catch (e) {
        return { ok: false, error: e as Error };
      }
    });
  }

  // refused items with a requestId (a rerun): their earlier commits, looked up for the whole batch at once
  const retried = ready
    .filter((p, i) => !results[i]!.ok && results[i]!.error instanceof OptimisticLockError && p.w.requestId)
    .map((p) => ({ requestId: p.w.requestId!, at: { itemId: p.id, ov: p.built!.version.ov } }));
  let priors: Priors = new Map();
  if (retried.length) priors = await priorsOf(cx, retried, concurrency).catch((error: unknown) => ({ error }));

  const left: Array<[Planned, CommitManyResult]> = [];
  ready.forEach((p, i) => {
    const r = results[i]!;
    // without counters a committed item is settled here, with no per-item wait
    if (r.ok && !cx.counters) out.set(p.index, { ok: true, index: p.index, id: p.id, ov: p.built!.version.ov, cv: r.cv });
    else left.push([p, r]);
  });
  await mapLimit(left, concurrency, async ([p, r]) => {
    const b = p.built!;
    if (r.ok) {
      await count(cx, op, b, p.input, r.cv);
      out.set(p.index, { ok: true, index: p.index, id: p.id, ov: b.version.ov, cv: r.cv });
      return;
    }
    await discard(cx, b);
    try {
      if (!(r.error instanceof OptimisticLockError)) throw r.error;
      const again = replayedResult(priors, p.w, p.index);
      if (again) {
        tally.replayed++;
        out.set(p.index, again);
        return;
      }
      if (p.retryAlone) {
        const again = await p.retryAlone();
        out.set(p.index, { ok: true, index: p.index, id: p.id, ov: again.ov, cv: again.cv });
        return;
      }
      throw op === 'CREATE' ? new OptimisticLockError(`Record '${p.id}' already exists`, { id: p.id }) : r.error;
    } catch (e) {
      out.set(p.index, fail(p.index, e, p.id));
    }
  });
  return [...out.values()];
}

/** An item's id when it names one (batches keep two writes of one id apart). */
const itemIdOf = (it: BulkCreateItem | BulkUpdateItem) => (isPlainObject(it as unknown) && typeof it.id === 'string' ? it.id : undefined);

async function* run<T extends BulkCreateItem | BulkUpdateItem>(
  cx: EngineContext,
  items: Iterable<T> | AsyncIterable<T>,
  opts: BulkOptions | undefined,
  plan: (item: T, index: number, o: ReturnType<typeof options>, priors: Priors) => Promise<Planned | Settled>,
  op: 'CREATE' | 'UPDATE',
): AsyncGenerator<BulkResult> {
  const o = options(opts);
  await cx.ensure();
  let done = 0;
  let ok = 0;
  // createMany: the payload PUTs of batch k + 1 run while batch k commits (two batches in memory at
  // most; commits stay in order). updateMany plans from the heads, so each batch waits for the last.
  let inFlight: Promise<{ settled: Settled[] } | { error: unknown }> | undefined;
  let lastReplayed = 0;
  async function* drain(): AsyncGenerator<BulkResult> {
    const prev = inFlight;
    inFlight = undefined;
    if (!prev) return;
    const r = await prev;
    if ('error' in r) throw r.error;
    r.settled.sort((a, z) => a.index - z.index);
    for (const s of r.settled) {
      done++;
      if (s.ok) ok++;
      yield s;
    }
    o.onProgress?.({ done, ok, failed: done - ok });
  }
  for await (const batch of batches(items, o.batchSize, itemIdOf)) {
    if (op !== 'CREATE') yield* drain();
    const settled: Settled[] = [];
    const plans: Planned[] = [];
    // The batch's earlier commits by requestId, in one lookup: updateMany always (before it reads the
    // heads); createMany while the last batch that settled had some (a rerun: no PUT, no commit for
    // them), else only for the items whose commit was refused (commitReady)
    let priors: Priors = new Map();
    if (op === 'UPDATE' || lastReplayed > 0) {
      const keys = batch.items.map((it) => lookupKey(cx, it, op)).filter((k) => k !== undefined);
      if (keys.length) priors = await priorsOf(cx, keys, o.concurrency).catch((error: unknown) => ({ error }));
    }
    const planned = await mapLimit(batch.items, o.concurrency, (item, i) =>
      plan(item, batch.start + i, o, priors).catch((e: unknown) => fail(batch.start + i, e)),
    );
    const tally = { replayed: 0 };
    for (const p of planned) {
      if ('built' in p) plans.push(p as Planned);
      else {
        settled.push(p as Settled);
        if ((p as Settled).ok) tally.replayed++; // (a plan answers ok only from an earlier commit)
      }
    }
    const stored = plans.length ? await put(cx, plans, o.concurrency) : undefined;
    yield* drain();
    inFlight = (async () => {
      if (stored) settled.push(...(await commitReady(cx, stored, o.concurrency, op, tally)));
      lastReplayed = tally.replayed;
      return { settled };
    })().catch((error: unknown) => ({ error }));
  }
  yield* drain();
}

/**
 * What to look an item's earlier commit up by: its requestId if it is one a store can look up
 * (writeSetup checks it fully), and for a create the version it would have made, (id, 0), with
 * the id derived from the requestId as plan does when the item names none.
 */
const lookupKey = (cx: EngineContext, it: unknown, op: 'CREATE' | 'UPDATE'): { requestId: string; at?: { itemId: string; ov: number } } | undefined => {
  const r = isPlainObject(it) ? it.requestId : undefined;
  if (typeof r !== 'string' || r.length === 0 || r.length > 256) return undefined;
  if (op !== 'CREATE') return { requestId: r };
  const id = (it as { id?: unknown }).id ?? derivedId(cx, 'req', r);
  return isId(id) ? { requestId: r, at: { itemId: id, ov: 0 } } : { requestId: r };
};

export function createMany(cx: EngineContext, items: Iterable<BulkCreateItem> | AsyncIterable<BulkCreateItem>, opts?: BulkOptions): AsyncGenerator<BulkResult> {
  return run(
    cx,
    items,
    opts,
    async (item, index, o, priors) => {
      if (!isPlainObject(item as unknown)) throw new ValidationError(`items[${index}] must be { data, id?, requestId? }`);
      const input = checkData(item.data, `items[${index}].data`);
      if (item.id !== undefined) assertId(item.id);
      const w = writeSetup({ actor: o.actor, reason: o.reason, requestId: item.requestId }, () => ({ op: 'CREATE', id: item.id, data: input }));
      const again = replayedResult(priors, w, index);
      if (again) return again;
      const id = item.id ?? (w.requestId ? derivedId(cx, 'req', w.requestId) : newId());
      const at = cx.clock();
      const built = build(cx, { id, ov: 0, op: 'CREATE', at, createdAt: at, doc: input, ...w });
      const commit: CommitInput = { ns: cx.ns, version: built.version, expectedOv: null, head: { createdAt: at, state: 'new', shadow: built.shadow } };
      return { index, id, w, input, built, commit };
    },
    'CREATE',
  );
}

export function updateMany(cx: EngineContext, items: Iterable<BulkUpdateItem> | AsyncIterable<BulkUpdateItem>, opts?: BulkOptions): AsyncGenerator<BulkResult> {
  return run(
    cx,
    items,
    opts,
    async (item, index, o, priors) => {
      if (!isPlainObject(item as unknown)) throw new ValidationError(`items[${index}] must be { id, data, expectedOv?, requestId? }`);
      const { id, expectedOv } = item;
      assertId(id);
      const input = checkData(item.data, `items[${index}].data`);
      if (expectedOv !== undefined && expectedOv !== null) assertOv(expectedOv);
      const w = writeSetup({ actor: o.actor, reason: o.reason, requestId: item.requestId }, () => ({ op: 'UPDATE', id, expectedOv, data: input }));
      const again = replayedResult(priors, w, index);
      if (again) return again;
      const head: HeadDoc | null = await cx.meta.getHead(cx.ns, id, { forWrite: true });
      if (!head || head.deleted) throw new NotFoundError(`Record '${id}' not found`, { id });
      if (expectedOv !== undefined && expectedOv !== null && head.ov !== expectedOv) {
        throw new OptimisticLockError(`Record '${id}' is at ov ${head.ov}, expected ${expectedOv}`, { id, expectedOv, actualOv: head.ov });
      }
      const at = Math.max(cx.clock(), head.at);
      const built = write.buildUpdate(cx, head, at, input, w);
      const commit: CommitInput = {
        ns: cx.ns,
        version: built.version,
        expectedOv: head.ov,
        head: { shadow: built.shadow },
        prev: { cv: head.cv, createdAt: head.createdAt },
      };
      const retryAlone =
        expectedOv === undefined || expectedOv === null
          ? () => write.update(cx, id, input, undefined, o.actor, o.reason, w.requestId ? { requestId: w.requestId } : {})
          : undefined;
      return { index, id, w, input, built, commit, ...(retryAlone ? { retryAlone } : {}) };
    },
    'UPDATE',
  );
}
