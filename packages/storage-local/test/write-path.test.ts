/**
 * The embedded store's write path, counted rather than timed (issue 15, the embedded speed targets):
 * a create is one transaction of 3 lookups (tombstone + head in one statement, the payload key,
 * the next cv) and 3 inserts (payload, version, head); createMany reads the namespace's cv once
 * and writes it once per batch, so the cvs stay gapless and a later write continues after them;
 * a sync iterable given to createMany is read without a wait per item, its promises awaited; a
 * counter increment (a second transaction after each commit on chronos-db's embedded default)
 * has no fsync of its own.
 */
import type Database from 'better-sqlite3';
import { CollectionEngine } from '@chronos-db/core';
import { createLocalStorage, type LocalStorage } from '@chronos-db/storage-local';
import { tmpDirs } from './helpers/tmp-dirs';

const tmp = tmpDirs('chronos-local-write-path-');
const open = (): { st: LocalStorage; e: CollectionEngine } => {
  const st = createLocalStorage({ basePath: tmp() });
  return { st, e: new CollectionEngine({ ns: { dbName: 'app', collection: 'users' }, meta: st.meta, blobs: st.blobs }) };
};

/** Counts the statements run on a connection (BEGIN and COMMIT included) while `fn` runs. */
async function counted(db: Database.Database, fn: () => Promise<unknown>): Promise<{ run: number; get: number; all: number; sql: string[] }> {
  const proto = Object.getPrototypeOf(db.prepare('SELECT 1')) as Record<'run' | 'get' | 'all', (...a: unknown[]) => unknown>;
  const n = { run: 0, get: 0, all: 0, sql: [] as string[] };
  const orig = { run: proto.run, get: proto.get, all: proto.all };
  for (const m of ['run', 'get', 'all'] as const) {
    proto[m] = function (this: Database.Statement, ...a: unknown[]) {
      n[m]++;
      n.sql.push(this.source);
      return orig[m].apply(this, a);
    };
  }
  try {
    await fn();
  } finally {
    Object.assign(proto, orig);
  }
  return n;
}

describe('storage-local write path', () => {
  it('a create is one transaction: 2 lookups and 3 inserts', async () => {
    const { st, e } = open();
    try {
      await e.create({ warm: true }); // the namespace row and the statements' first use
      const n = await counted(st.meta.connection, () => e.create({ name: 'ada', plan: 'pro', tags: ['a'] }));
      expect(n.sql.filter((s) => /^BEGIN/i.test(s))).toHaveLength(1);
      expect(n.sql.filter((s) => /^COMMIT/i.test(s))).toHaveLength(1);
      expect(n.sql.filter((s) => /^INSERT/i.test(s))).toHaveLength(3);
      // the tombstone + head check and the cv; the payload's key is checked by its own insert
      expect(n.get).toBe(2);
      expect(n.all).toBe(0);
      expect(n.run).toBe(5); // BEGIN, 3 inserts, COMMIT
    } finally {
      await st.close();
    }
  });

  it('a counter increment commits without an fsync of its own and leaves the connection at synchronous = FULL', async () => {
    const { st } = open();
    const ns = { dbName: 'app', collection: 'users' };
    try {
      const db = st.meta.connection;
      // the level each increment's transaction ran at, seen from inside it
      const levels: number[] = [];
      const level = () => db.pragma('synchronous', { simple: true }) as number;
      const counted0 = db.prepare('SELECT 1').constructor.prototype as { run: (...a: unknown[]) => unknown };
      const run0 = counted0.run;
      counted0.run = function (this: { source: string }, ...a: unknown[]) {
        if (/chronos_counters_v2/.test(this.source)) levels.push(level());
        return run0.apply(this, a);
      };
      try {
        for (let i = 0; i < 4; i++) {
          await st.meta.incrementCounters(ns, { field: 'created', rules: ['pro'], cv: 1 }); // counted once per cv
          await st.meta.incrementCounters(ns, { field: 'updated', rules: [], cv: 2 + i });
          expect(level()).toBe(2); // FULL again after each: the next commit syncs the log, the increments with it
        }
      } finally {
        counted0.run = run0;
      }
      expect(levels.length).toBeGreaterThan(0);
      expect(levels.every((l) => l === 1)).toBe(true); // NORMAL inside the increments' transactions
      expect(await st.meta.getCounters(ns)).toEqual({ created: 1, updated: 4, deleted: 0, rules: { pro: { created: 1 } } });
    } finally {
      await st.close();
    }
  });

  it('createMany: cvs gapless across its batches and a refused item, a later create continues after them', async () => {
    const { st, e } = open();
    try {
      const before = await e.create({ first: true });
      const items = Array.from({ length: 25 }, (_, i) => (i === 12 ? { id: before.id, data: { dup: true } } : { data: { i } }));
      const rs = await e.createMany(items, { batchSize: 10 });
      expect(rs.map((r) => r.ok)).toEqual(items.map((_, i) => i !== 12));
      const cvs = rs.flatMap((r) => (r.ok ? [r.cv] : []));
      expect(cvs).toEqual(Array.from({ length: 24 }, (_, i) => before.cv + 1 + i));
      expect(await st.meta.currentCv(e.ns)).toBe(before.cv + 24);
      const after = await e.create({ last: true });
      expect(after.cv).toBe(before.cv + 25);
      const feed = await e.changes({ afterCv: 0, limit: 100 });
      expect(feed.items.map((c) => c.cv)).toEqual(Array.from({ length: 26 }, (_, i) => before.cv + i));
    } finally {
      await st.close();
    }
  });

  it('createMany takes a sync iterable of items and promises of items, in order', async () => {
    const { st, e } = open();
    try {
      function* gen(): Generator<{ data: { i: number } } | Promise<{ data: { i: number } }>> {
        for (let i = 0; i < 7; i++) yield i % 3 === 1 ? Promise.resolve({ data: { i } }) : { data: { i } };
      }
      const rs = await e.createMany(gen() as Iterable<{ data: { i: number } }>, { batchSize: 3 });
      expect(rs.map((r) => r.index)).toEqual([0, 1, 2, 3, 4, 5, 6]);
      for (const [i, r] of rs.entries()) {
        expect(r.ok).toBe(true);
        if (r.ok) expect((await e.getLatest(r.id))?.i).toBe(i);
      }
    } finally {
      await st.close();
    }
  });
});
