/**
 * Counter totals with inserts only (no `$inc`): FerretDB applies an update as
 * read-modify-write without a lock, so concurrent `$inc`s lose increments
 * there. Every increment is one inserted event; a total is the newest
 * immutable snapshot plus the events it has not folded. Folding (every
 * FOLD_EVERY increments of a scope in this process, and on reset) inserts
 * snapshot g+1 (unique id, so one folder wins), then deletes the folded
 * events; a crash in between double-counts nothing because the snapshot names
 * the events it folded.
 *
 * In the counters database: `cnt_events` { _id, s: scope, f: field, r: rules }
 * and `cnt_snap` { _id: '<scope>#<gen>', s, g, t: totals, folded: ids }.
 */
import type { Collection, Db } from 'mongodb';
import { ValidationError, assertNamespace, newId, type CounterIncrement, type CounterScope, type CounterTotals, type CounterTriple } from '@chronos-db/core';
import { isDuplicateKey } from './errors.js';

const RULE_RE = /^[A-Za-z0-9_-]{1,64}$/;
const FOLD_EVERY = 200;
const FOLD_BATCH = 1000;
type Field = 'created' | 'updated' | 'deleted';

interface EventDoc {
  _id: string;
  s: string;
  f: Field;
  r: string[];
}
interface SnapDoc {
  _id: string;
  s: string;
  g: number;
  t: CounterTotals;
  folded: string[];
}

export interface CounterOps {
  increment(scope: CounterScope, inc: CounterIncrement): Promise<void>;
  get(scope: CounterScope): Promise<CounterTotals>;
  reset(scope: CounterScope): Promise<void>;
}

const zero = (): CounterTotals => ({ created: 0, updated: 0, deleted: 0, rules: {} });

function add(t: CounterTotals, e: Pick<EventDoc, 'f' | 'r'>): void {
  t[e.f] += 1;
  for (const r of e.r) {
    const triple: CounterTriple = t.rules[r] ?? (t.rules[r] = { created: 0, updated: 0, deleted: 0 });
    triple[e.f] = (triple[e.f] ?? 0) + 1;
  }
}

export function scopeKey(s: CounterScope): string {
  if (!s || typeof s !== 'object') throw new ValidationError('counter scope must be { dbName, collection, tenant? }');
  assertNamespace(s);
  return `${s.dbName}|${s.tenant ?? ''}|${s.collection}`;
}

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

  /** Folds up to FOLD_BATCH events into a new snapshot; `discard` drops their counts (reset). Returns whether events remain. */
  const foldOnce = async (scope: CounterScope, discard: boolean, resetBase: boolean): Promise<boolean> => {
    const s = scopeKey(scope);
    const { events, snaps } = await cols(scope);
    return run('fold counters', async () => {
      for (let attempt = 0; attempt < 5; attempt++) {
        const snap = await latestSnap(snaps, s);
        const already = new Set(snap?.folded ?? []);
        if (already.size) await events.deleteMany({ _id: { $in: [...already] } }); // left by a crashed folder
        const evs = await events.find({ s }, { projection: { f: 1, r: 1 } }).limit(FOLD_BATCH + already.size).toArray();
        const batch = evs.filter((e) => !already.has(e._id)).slice(0, FOLD_BATCH);
        if (batch.length === 0 && !resetBase) return false;
        const t: CounterTotals = resetBase || !snap ? zero() : structuredClone(snap.t);
        if (!discard) for (const e of batch) add(t, e);
        const g = (snap?.g ?? 0) + 1;
        try {
          await snaps.insertOne({ _id: `${s}#${String(g).padStart(12, '0')}`, s, g, t, folded: batch.map((e) => e._id) });
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

  return {
    async increment(scope, inc) {
      const s = scopeKey(scope);
      if (!inc || (inc.field !== 'created' && inc.field !== 'updated' && inc.field !== 'deleted')) throw new ValidationError("counter field must be 'created', 'updated' or 'deleted'");
      const rules = Array.isArray(inc.rules) ? [...new Set(inc.rules)] : [];
      for (const r of rules) if (typeof r !== 'string' || !RULE_RE.test(r)) throw new ValidationError(`Invalid counter rule name ${JSON.stringify(String(r).slice(0, 64))}`);
      const { events } = await cols(scope);
      await run('increment counters', () => events.insertOne({ _id: newId(), s, f: inc.field, r: rules }));
      const n = (sinceFold.get(s) ?? 0) + 1;
      sinceFold.set(s, n);
      if (n >= FOLD_EVERY) {
        sinceFold.set(s, 0);
        await foldOnce(scope, false, false);
      }
    },

    async get(scope) {
      const s = scopeKey(scope);
      const { events, snaps } = await cols(scope);
      return run('get counters', async () => {
        // events first, then the snapshot: an event folded meanwhile is named by the newer snapshot
        const evs = await events.find({ s }, { projection: { f: 1, r: 1 } }).toArray();
        const snap = await latestSnap(snaps, s);
        const folded = new Set(snap?.folded ?? []);
        const t = snap ? structuredClone(snap.t) : zero();
        for (const e of evs) if (!folded.has(e._id)) add(t, e);
        return t;
      });
    },

    async reset(scope) {
      scopeKey(scope);
      let first = true;
      for (let i = 0; i < 10_000; i++) {
        const more = await foldOnce(scope, true, first);
        first = false;
        if (!more) return;
      }
    },
  };
}
