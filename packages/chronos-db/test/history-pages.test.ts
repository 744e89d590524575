/** history(id, { limit, pageToken, dir }) pages on the embedded store and on FerretDB + Ceph. */
import { NotFoundError, ValidationError } from 'chronos-db';
import { forEachTarget, openedFor } from './helpers/history-targets.js';

forEachTarget('history pages', (t) => {
  const h = openedFor(t);
  const col = (tenantId: string) => h.chronos.with({ dbName: h.dbName, collection: 'docs', tenantId });

  it('lists newest first by default, in pages with an opaque token, and oldest first on request', async () => {
    const c = col('pages');
    const n = t.name === 'embedded' ? 1200 : 25;
    const { id } = await c.create({ n: 0 }, 'alice', 'v0');
    for (let i = 1; i < n; i++) await c.update(id, { n: i }, i - 1, `actor${i % 3}`);
    const first = await c.history(id, { limit: 7 });
    expect(first.items.map((e) => e.ov)).toEqual([n - 1, n - 2, n - 3, n - 4, n - 5, n - 6, n - 7]);
    expect(typeof first.pageToken).toBe('string');
    // every version once, in order, through the tokens (the newest are never the ones dropped)
    for (const [dir, limit] of t.name === 'embedded'
      ? ([
          ['desc', 100],
          ['asc', 37],
        ] as const)
      : ([
          ['desc', 10],
          ['asc', 7],
        ] as const)) {
      const ovs: number[] = [];
      let pageToken: string | undefined;
      let pages = 0;
      do {
        const p = await c.history(id, { dir, limit, ...(pageToken ? { pageToken } : {}) });
        ovs.push(...p.items.map((e) => e.ov));
        pageToken = p.pageToken;
        pages++;
      } while (pageToken);
      const want = Array.from({ length: n }, (_, i) => i);
      expect(ovs).toEqual(dir === 'asc' ? want : want.reverse());
      expect(pages).toBe(Math.ceil(n / limit));
    }
    const oldest = (await c.history(id, { dir: 'asc', limit: 1 })).items[0]!;
    expect(oldest).toMatchObject({ ov: 0, op: 'CREATE', actor: 'alice', reason: 'v0', deleted: false });
    expect(oldest.at).toBeInstanceOf(Date);
    // a token continues in its own direction
    const next = await c.history(id, { pageToken: first.pageToken!, limit: 2 });
    expect(next.items.map((e) => e.ov)).toEqual([n - 8, n - 9]);
  }, 300_000);

  it('unknown id is NotFoundError; a deleted record still has its history', async () => {
    const c = col('nf');
    await expect(c.history('nobody')).rejects.toBeInstanceOf(NotFoundError);
    const { id } = await c.create({ a: 1 });
    await c.delete(id);
    expect((await c.history(id)).items.map((e) => [e.ov, e.op, e.deleted])).toEqual([
      [1, 'DELETE', true],
      [0, 'CREATE', false],
    ]);
    await expect(col('other-tenant').history(id)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('refuses bad input with a ValidationError', async () => {
    const c = col('bad');
    const a = await c.create({ a: 1 });
    await c.update(a.id, { a: 2 });
    const b = await c.create({ b: 1 });
    const tokenOfA = (await c.history(a.id, { limit: 1 })).pageToken!;
    for (const o of [{ limit: 0 }, { limit: 1001 }, { limit: 2.5 }, { dir: 'up' }, { pageToken: 'nope' }, { afterOv: 0 }, { sort: 'asc' }]) {
      await expect(c.history(a.id, o as never)).rejects.toBeInstanceOf(ValidationError);
    }
    await expect(c.history(b.id, { pageToken: tokenOfA })).rejects.toBeInstanceOf(ValidationError);
    await expect(c.history(a.id, { pageToken: tokenOfA, dir: 'asc' })).rejects.toBeInstanceOf(ValidationError);
    await expect(c.history('bad id!')).rejects.toBeInstanceOf(ValidationError);
  });
});
