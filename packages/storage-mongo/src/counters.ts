/**
 * Counter totals with inserts only (no `$inc`): FerretDB applies an update as
 * read-modify-write without a lock, so concurrent `$inc`s lose increments
 * there. Every increment is one inserted event; a total is the newest
 * immutable snapshot plus the events it has not folded.
 *
 * Exactly once per version: an increment that carries the version's cv is stored as
 * `_id: '<scope>#c<cv>'`, so a repeated one is refused by the `_id` (and ignored). A snapshot
 * may carry a base `b`: every version with cv <= b is in its totals (a recount), so events with
 * such a cv are dropped, never added.
 *
 * Bounded reads: a read loads at most READ_CAP events; when there are more (writers that never
 * folded, e.g. many short-lived processes) it folds them first. Writers fold too: every
 * FOLD_EVERY-th cv (whatever the process) and every FOLD_EVERY increments without cv in one
 * process. Folding inserts snapshot g+1 (unique id, so one folder wins), then deletes the
 * folded events; a crash in between double-counts nothing because the snapshot names the
 * events it folded.
 *
 * In the counters database: `cnt_events` { _id, s: scope, f: field, r: rules, c?: cv }
 * and `cnt_snap` { _id: '<scope>#<gen>', s, g, t: totals, folded: ids, b?: base cv }.
 */
import type { Collection, Db } from 'mongodb';
import {
  ValidationError,
  assertNamespace,
  newId,
  type CounterIncrement,
  type CounterRecount,
  type CounterScope,
  type CounterTotals,
  type CounterTriple,
} from '@chronos-db/core';
import { isDuplicateKey } from './errors.js';

const RULE_RE = /^[A-Za-z0-9_-]{1,64}$/;
const FOLD_EVERY = 100;
const FOLD_BATCH = 1000;
/** Most events a read loads; beyond it the read folds first. */
export const READ_CAP = 200;
type Field = 'created' | 'updated' | 'deleted';

interface EventDoc {
  _id: string;
  s: string;
  f: Field;
  r: string[];
  c?: number;
}
interface SnapDoc {
  _id: string;
  s: string;
  g: number;
  t: CounterTotals;
  folded: string[];
  b?: number;
}

export interface CounterOps {
  increment(scope: CounterScope, inc: CounterIncrement): Promise<void>;
  get(scope: CounterScope): Promise<CounterTotals>;
  reset(scope: CounterScope): Promise<void>;
  recount(scope: CounterScope, source: CounterRecount): Promise<CounterTotals>;
}

const zero = (): CounterTotals => ({ created: 0, updated: 0, deleted: 0, rules: {} });

function add(t: CounterTotals, e: Pick<EventDoc, 'f' | 'r'>): void {
  t[e.f] += 1;
  for (const r of e.r) {
    const triple: CounterTriple = t.rules[r] ?? (t.rules[r] = { created: 0, updated: 0, deleted: 0 });
    triple[e.f] = (triple[e.f] ?? 0) + 1;
  }
}

/** Whether an event adds to totals whose base is `b` (events with cv <= b are in them already). */
const counts = (e: Pick<EventDoc, 'c'>, b: number | undefined): boolean => b === undefined || e.c === undefined || e.c > b;

export function scopeKey(s: CounterScope): string {
  if (!s || typeof s !== 'object') throw new ValidationError('counter scope must be { dbName, collection, tenant? }');
  assertNamespace(s);
  return `${s.dbName}|${s.tenant ?? ''}|${s.collection}`;
}

function checkIncrement(inc: CounterIncrement): { field: Field; rules: string[]; cv: number | undefined } {
  if (!inc || typeof inc !== 'object' || (inc.field !== 'created' && inc.field !== 'updated' && inc.field !== 'deleted'))
    throw new ValidationError("counter field must be 'created', 'updated' or 'deleted'");
  const rules = Array.isArray(inc.rules) ? [...new Set(inc.rules)] : [];
  for (const r of rules)
    if (typeof r !== 'string' || !RULE_RE.test(r)) throw new ValidationError(`Invalid counter rule name ${JSON.stringify(String(r).slice(0, 64))}`);
  if (inc.cv !== undefined && (!Number.isSafeInteger(inc.cv) || inc.cv < 0)) throw new ValidationError('counter cv must be a non-negative integer');
  return { field: inc.field, rules, cv: inc.cv };
}

/**
 * How a fold treats the events it takes: 'add' (those its base does not cover), 'reset' (none;
 * the first snapshot starts from zero), 'recount' (the first snapshot starts from the recount's
 * totals and base; events its base covers, and events without cv, are dropped).
 */
type FoldMode = { kind: 'add' } | { kind: 'reset' } | { kind: 'recount'; t: CounterTotals; b: number };

/** `dbFor(scope)` gives the counters database; `run` wraps driver calls (error mapping). */
export function createCounterOps(dbFor: (s: CounterScope) => Db, run: <T>(what: string, fn: () => Promise<T>) => Promise<T>): CounterOps {
  const ensured = new Map<string, Promise<void>>();
  const sinceFold = new Map<string, number>();

  const cols = async (s: CounterScope) => {
    const db = dbFor(s);
    const events = db.collection<EventDoc>('cnt_events');
    const snaps = db.collection<SnapDoc>('cnt_snap');
    let p = ensured.get(db.databaseName);
    if (!p) {
      p = run('createIndexes', async () => {
        await events.createIndexes([{ key: { s: 1 }, name: 'scope' }]);
        await snaps.createIndexes([{ key: { s: 1, g: -1 }, name: 'scope_gen' }]);
      });
      ensured.set(db.databaseName, p);
      p.catch(() => ensured.delete(db.databaseName));
    }
    await p;
    return { events, snaps };
  };

  const latestSnap = (snaps: Collection<SnapDoc>, s: string) => snaps.find({ s }).sort({ g: -1 }).limit(1).next();

  /** Folds up to FOLD_BATCH events into a new snapshot. `first`: this snapshot starts the reset/recount. Returns whether events remain. */
  const foldOnce = async (scope: CounterScope, mode: FoldMode, first: boolean): Promise<boolean> => {
    const s = scopeKey(scope);
    const { events, snaps } = await cols(scope);
    return run('fold counters', async () => {
      for (let attempt = 0; attempt < 5; attempt++) {
        const snap = await latestSnap(snaps, s);
        const already = new Set(snap?.folded ?? []);
        if (already.size) await events.deleteMany({ _id: { $in: [...already] } }); // left by a crashed folder
        const evs = await events
          .find({ s }, { projection: { f: 1, r: 1, c: 1 } })
          .limit(FOLD_BATCH + already.size)
          .toArray();
        const batch = evs.filter((e) => !already.has(e._id)).slice(0, FOLD_BATCH);
        if (batch.length === 0 && !first) return false;
        let t: CounterTotals;
        let b = snap?.b;
        if (first && mode.kind === 'reset') t = zero();
        else if (first && mode.kind === 'recount') {
          t = structuredClone(mode.t);
          b = mode.b;
        } else t = snap ? structuredClone(snap.t) : zero();
        for (const e of batch) {
          if (mode.kind === 'reset') continue;
          if (mode.kind === 'recount' && e.c === undefined) continue;
          if (counts(e, b)) add(t, e);
        }
        const g = (snap?.g ?? 0) + 1;
        try {
          await snaps.insertOne({ _id: `${s}#${String(g).padStart(12, '0')}`, s, g, t, folded: batch.map((e) => e._id), ...(b !== undefined ? { b } : {}) });
        } catch (e) {
          if (isDuplicateKey(e)) continue; // another folder won this generation: start again from its snapshot
          throw e;
        }
        if (batch.length) await events.deleteMany({ _id: { $in: batch.map((e) => e._id) } });
        await snaps.deleteMany({ s, g: { $lt: g } });
        return batch.length === FOLD_BATCH;
      }
      return true;
    });
  };

  /** Folds until no event is left (bounded: a writer adding as fast as we fold stops it after `max` batches). */
  const foldAll = async (scope: CounterScope, mode: FoldMode, max = 10_000): Promise<void> => {
    let first = mode.kind !== 'add';
    for (let i = 0; i < max; i++) {
      const more = await foldOnce(scope, mode, first);
      first = false;
      if (!more) return;
    }
  };

  const ops: CounterOps = {
    async increment(scope, inc) {
      const s = scopeKey(scope);
      const { field, rules, cv } = checkIncrement(inc);
      const { events } = await cols(scope);
      const doc: EventDoc = cv === undefined ? { _id: newId(), s, f: field, r: rules } : { _id: `${s}#c${cv}`, s, f: field, r: rules, c: cv };
      const fresh = await run('increment counters', async () => {
        try {
          await events.insertOne(doc);
          return true;
        } catch (e) {
          if (cv !== undefined && isDuplicateKey(e)) return false; // this version was counted already
          throw e;
        }
      });
      if (!fresh) return;
      let fold: boolean;
      if (cv !== undefined) fold = cv % FOLD_EVERY === 0;
      else {
        const n = (sinceFold.get(s) ?? 0) + 1;
        fold = n >= FOLD_EVERY;
        sinceFold.set(s, fold ? 0 : n);
      }
      if (fold) await foldOnce(scope, { kind: 'add' }, false);
    },

    async get(scope) {
      const s = scopeKey(scope);
      const { events, snaps } = await cols(scope);
      for (let round = 0; ; round++) {
        const t = await run('get counters', async () => {
          // events first, then the snapshot: an event folded meanwhile is named by the newer snapshot
          let evs = await events
            .find({ s }, { projection: { f: 1, r: 1, c: 1 } })
            .limit(READ_CAP + 1)
            .toArray();
          if (evs.length > READ_CAP) {
            if (round < 3) return null;
            // writers keep adding faster than we fold: read them all (exact, not bounded)
            evs = await events.find({ s }, { projection: { f: 1, r: 1, c: 1 } }).toArray();
          }
          const snap = await latestSnap(snaps, s);
          const folded = new Set(snap?.folded ?? []);
          const out = snap ? structuredClone(snap.t) : zero();
          for (const e of evs) if (!folded.has(e._id) && counts(e, snap?.b)) add(out, e);
          return out;
        });
        if (t) return t;
        // more unfolded events than a read may load (writers that never folded): fold them first
        await foldAll(scope, { kind: 'add' });
      }
    },

    async reset(scope) {
      scopeKey(scope);
      await foldAll(scope, { kind: 'reset' });
    },

    async recount(scope, source) {
      scopeKey(scope);
      if (!source || typeof source !== 'object' || !Number.isSafeInteger(source.upToCv) || source.upToCv < 0)
        throw new ValidationError('recount needs { events, upToCv } with a non-negative integer upToCv');
      const t = zero();
      for await (const inc of source.events as AsyncIterable<CounterIncrement>) {
        const { field, rules, cv } = checkIncrement(inc);
        if (cv === undefined || cv <= source.upToCv) add(t, { f: field, r: rules });
      }
      await foldAll(scope, { kind: 'recount', t, b: source.upToCv });
      return ops.get(scope);
    },
  };
  return ops;
}
