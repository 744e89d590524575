/**
 * changes() and watch() on the embedded store and on FerretDB + Ceph: 8 concurrent writers,
 * 2,000 writes (some racing on shared records, which burns cvs on FerretDB), a consumer that
 * restarts 10 times at random points: every committed version delivered exactly once, in cv order.
 *
 * Size: 2,000 writes on the embedded store (the issue's full size, always). On FerretDB + Ceph the
 * same test runs 1,000 writes by default; CHRONOS_FEED_WRITES=2000 runs the full size there.
 * Measured on the shared 2-core machine (load average 12-14, FerretDB shared with other runs):
 * 2,000 writes took 87 s once (14 s of CPU in the test process) and failed once on a FerretDB
 * socket timeout after 147 s; 1,000 writes once hit the 300 s test timeout while another run
 * imported into the same FerretDB. Each feed page is a scan of the namespace on FerretDB (no
 * cv index seek: storage-mongo changes.ts), so the feed's cost grows faster than the writes.
 * A quiet 2-core machine is estimated at 30-50 s for 2,000: too close to a minute to be CI's
 * default, so CI runs 1,000 (estimated 15-25 s quiet) and the full size is behind the flag.
 * Again after heads queries stopped scanning the versions on FerretDB (storage-mongo heads.ts;
 * the feed pages still scan): 2,000 writes in 77.5 s, 1,000 in 42 s (load average 11-12); 2,000
 * failed twice on FerretDB socket timeouts while a bench seeded 20,000 versions into it.
 */
import { ValidationError, type ChangeEntry } from 'chronos-db';
import { forEachTarget, openedFor } from './helpers/history-targets.js';

forEachTarget('change feed', (t) => {
  const h = openedFor(t);
  const col = (tenantId: string) => h.chronos.with({ dbName: h.dbName, collection: 'docs', tenantId });

  it('pages in cv order with op, id, ov, at, actor, reason and, on request, the data', async () => {
    const c = col('basic');
    const { id } = await c.create({ kind: 'a', n: 1 }, 'alice', 'hello');
    await c.update(id, { kind: 'b', n: 2 }, 0, 'bob');
    await c.delete(id, 1, 'carol', 'bye');
    const p = await c.changes({ afterCv: 0, includePayload: true });
    expect(p.items.map((e) => [e.op, e.id, e.ov, e.actor, e.reason ?? null, e.deleted])).toEqual([
      ['CREATE', id, 0, 'alice', 'hello', false],
      ['UPDATE', id, 1, 'bob', null, false],
      ['DELETE', id, 2, 'carol', 'bye', true],
    ]);
    expect(p.items.every((e) => e.at instanceof Date)).toBe(true);
    expect(p.items.map((e) => e.data?.n)).toEqual([1, 2, 2]);
    expect(p.nextCv).toBe(p.items[2]!.cv);
    expect(await c.changes({ afterCv: p.nextCv })).toEqual({ items: [], nextCv: p.nextCv });
    const filtered = await c.changes({ filter: { kind: 'b' } });
    expect(filtered.items.map((e) => e.ov)).toEqual([1, 2]);
    expect(filtered.nextCv).toBe(p.nextCv);
    const two = await c.changes({ limit: 2 });
    expect(two.items.map((e) => e.ov)).toEqual([0, 1]);
    expect(two.nextCv).toBe(two.items[1]!.cv);
  });

  it('refuses bad input with a ValidationError', async () => {
    const c = col('bad');
    for (const o of [
      { afterCv: -1 },
      { afterCv: 1.5 },
      { afterCv: '3' },
      { limit: 0 },
      { limit: 1001 },
      { includePayload: 'yes' },
      { after: 3 },
      { filter: { $where: '1' } },
    ]) {
      await expect(c.changes(o as never)).rejects.toBeInstanceOf(ValidationError);
    }
    expect(() => c.watch({ afterCv: -1 })).toThrow(ValidationError);
    expect(() => c.watch({ minDelayMs: 5 })).toThrow(ValidationError);
    expect(() => c.watch({ signal: 'x' as never })).toThrow(ValidationError);
  });

  it('watch: yields what is there, then new versions as they commit; ends when the signal aborts', async () => {
    const c = col('watch');
    await c.create({ n: 1 });
    const ac = new AbortController();
    const got: ChangeEntry[] = [];
    const done = (async () => {
      for await (const e of c.watch({ afterCv: 0, signal: ac.signal, minDelayMs: 10, maxDelayMs: 50 })) {
        got.push(e);
        if (got.length === 3) ac.abort();
      }
    })();
    while (got.length < 1) await new Promise((r) => setTimeout(r, 10));
    const r = await c.create({ n: 2 });
    await c.update(r.id, { n: 3 });
    await done;
    expect(got.map((e) => [e.op, e.ov])).toEqual([
      ['CREATE', 0],
      ['CREATE', 0],
      ['UPDATE', 1],
    ]);
  });

  it('watch({ changeStream: true }) is refused with a ValidationError where there are no change streams', async () => {
    const c = col('stream');
    expect(() => c.watch({ changeStream: 'yes' as never })).toThrow(ValidationError);
    if (t.name === 'embedded') {
      expect(() => c.watch({ changeStream: true })).toThrow(/change streams/);
      return;
    }
    // FerretDB has no change streams: refused when the iterator starts (the server is asked then)
    const iter = c.watch({ changeStream: true })[Symbol.asyncIterator]();
    const e = await iter.next().catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ValidationError);
    expect(String((e as Error).message)).toMatch(/does not offer .*change streams|needs change streams/);
  });

  it(`8 writers, ${t.name === 'embedded' ? '2,000 writes' : `${process.env.CHRONOS_FEED_WRITES ?? '1,000'} writes (CHRONOS_FEED_WRITES=2000 for the issue's 2,000)`}, a consumer restarting 10 times: every committed version exactly once, in cv order`, async () => {
    const c = col('load');
    const WRITERS = 8;
    const writes = t.name === 'embedded' ? 2000 : Number(process.env.CHRONOS_FEED_WRITES ?? 1000);
    const PER_WRITER = Math.ceil(writes / WRITERS);
    const shared: string[] = [];
    for (let i = 0; i < 4; i++) shared.push((await c.create({ kind: 'shared', n: i })).id);
    const committed: Array<{ id: string; ov: number; cv: number }> = [];
    let writing = true;
    const writer = async (w: number) => {
      const mine: Array<{ id: string; ov: number }> = [];
      for (let i = 0; i < PER_WRITER; i++) {
        const roll = (w * 7919 + i * 104729) % 10;
        if (roll < 4 || mine.length === 0) {
          const r = await c.create({ kind: 'own', n: i, w });
          mine.push({ id: r.id, ov: 0 });
          committed.push({ id: r.id, ov: 0, cv: r.cv });
        } else if (roll < 5) {
          // racing writers on a few shared records: losers retry and burn cvs
          const id = shared[i % shared.length]!;
          const r = await c.update(id, { kind: 'shared', n: i, w });
          committed.push({ id, ov: r.ov, cv: r.cv });
        } else {
          const m = mine[i % mine.length]!;
          const r = await c.update(m.id, { kind: 'own', n: i, w }, m.ov);
          m.ov = r.ov;
          committed.push({ id: m.id, ov: r.ov, cv: r.cv });
        }
      }
    };
    const writers = Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w))).finally(() => (writing = false));

    // the consumer: it persists the cv of each item it has processed; a restart forgets all but that
    const delivered: ChangeEntry[] = [];
    let persisted = 0;
    let restarts = 0;
    let seed = 42;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const restartAt = new Set<number>();
    while (restartAt.size < 10) restartAt.add(1 + Math.floor(rnd() * WRITERS * PER_WRITER * 0.9));
    for (;;) {
      const stillWriting = writing;
      const p = await c.changes({ afterCv: persisted, limit: 1 + Math.floor(rnd() * 60) });
      let restarted = false;
      for (const e of p.items) {
        delivered.push(e);
        persisted = e.cv;
        if (restartAt.has(delivered.length)) {
          restarts++;
          restarted = true; // forget the rest of this page and nextCv: resume from the last processed cv
          break;
        }
      }
      if (!restarted) persisted = p.nextCv;
      if (!stillWriting && p.items.length === 0 && !restarted) break;
      if (p.items.length === 0) await new Promise((r) => setTimeout(r, 20));
    }
    await writers;
    expect(restarts).toBe(restartAt.size);
    const total = 4 + WRITERS * PER_WRITER;
    const cvs = delivered.map((e) => e.cv);
    expect(new Set(cvs).size).toBe(cvs.length); // nothing twice
    expect(cvs).toEqual([...cvs].sort((a, b) => a - b)); // in cv order
    expect(delivered.length).toBe(total); // nothing missed
    const key = (x: { id: string; ov: number; cv: number }) => `${x.id}:${x.ov}:${x.cv}`;
    const want = new Set(committed.map(key));
    for (const e of delivered.slice(4)) expect(want.has(key(e))).toBe(true);
  }, 300_000);
});
