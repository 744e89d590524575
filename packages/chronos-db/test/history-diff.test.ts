/** diff(id, from, to?) and listAsOf on the embedded store and on FerretDB + Ceph, through initChronos. */
import fc from 'fast-check';
import { applyPatch } from 'rfc6902';
import { NotFoundError, ValidationError } from 'chronos-db';
import { dataOf, forEachTarget, openedFor } from './helpers/history-targets.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

forEachTarget('diff', (t) => {
  const h = openedFor(t);
  const col = (collection = 'docs', tenantId = 'a') => h.chronos.with({ dbName: h.dbName, collection, tenantId });

  it("returns an RFC 6902 patch and both versions' _meta, by ov, at and cv; diff with itself is []", async () => {
    const c = col();
    const { id, cv: cv0 } = await c.create({ kind: 'k', n: 1, tags: ['a'], nested: { x: 1 } }, 'alice', 'first');
    await sleep(5);
    const mid = new Date();
    await sleep(5);
    await c.update(id, { kind: 'k', n: 2, tags: ['a', 'b'], nested: { y: 2 } });
    const d = await c.diff(id, { ov: 0 }, { ov: 1 });
    expect(d.from).toMatchObject({ ov: 0, cv: cv0, op: 'CREATE', deleted: false, metaIndexed: { kind: 'k', n: 1 } });
    expect(d.to).toMatchObject({ ov: 1, op: 'UPDATE', metaIndexed: { kind: 'k', n: 2 } });
    const from = dataOf(await c.getVersion(id, 0))!;
    applyPatch(from, d.patch);
    expect(from).toEqual(dataOf(await c.getVersion(id, 1)));
    // the same by time, by cv and with the default `to` (latest)
    expect((await c.diff(id, { at: mid })).patch).toEqual(d.patch);
    expect((await c.diff(id, { cv: cv0 }, { ov: 1 })).patch).toEqual(d.patch);
    expect((await c.diff(id, { ov: 1 })).patch).toEqual([]);
    expect((await c.diff(id, { ov: 0 }, { ov: 0 })).patch).toEqual([]);
    // a delete points at the data it deleted: the patch is empty, _meta tells
    await c.delete(id);
    const del = await c.diff(id, { ov: 1 });
    expect(del.patch).toEqual([]);
    expect(del.to).toMatchObject({ ov: 2, op: 'DELETE', deleted: true });
    expect(typeof del.to.deletedAt).toBe('string');
  });

  it('compares externalized properties by their stored sha256, never by downloading them', async () => {
    const c = col();
    const b64 = (s: string) => Buffer.from(s).toString('base64');
    const { id } = await c.create({ kind: 'f', file: b64('hello') });
    await c.update(id, { kind: 'f', file: b64('hello'), note: 'same bytes, new upload' });
    await c.update(id, { kind: 'f', file: b64('world'), note: 'same bytes, new upload' });
    const same = await c.diff(id, { ov: 0 }, { ov: 1 });
    expect(same.patch).toEqual([{ op: 'add', path: '/note', value: 'same bytes, new upload' }]);
    const changed = await c.diff(id, { ov: 1 }, { ov: 2 });
    expect(changed.patch.map((o) => o.path)).toEqual(['/file/ref/sha256']);
    // ov 0 and 1 hold the same bytes under different object keys: only the sha256 was compared
    const ref = async (ov: number) => (await c.getVersion(id, ov))!.file as { ref: { key: string; sha256: string } };
    expect((await ref(0)).ref.key).not.toBe((await ref(1)).ref.key);
    expect((await ref(2)).ref.sha256).toBe((changed.patch[0] as { value: string }).value);
  });

  it('property: applying the patch to `from` gives `to`', async () => {
    const c = col('docs', 'prop');
    const json = fc.dictionary(
      fc.constantFrom('a', 'b', 'c', 'd', 'arr'),
      fc.oneof(
        fc.integer(),
        fc.string({ maxLength: 4 }),
        fc.boolean(),
        fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 4 }),
        fc.dictionary(fc.constantFrom('x', 'y'), fc.integer(), { maxKeys: 2 }),
      ),
      { maxKeys: 5 },
    );
    await fc.assert(
      fc.asyncProperty(json, json, async (x, y) => {
        const { id } = await c.create(x);
        await c.update(id, y);
        const { patch } = await c.diff(id, { ov: 0 }, { ov: 1 });
        const from = dataOf(await c.getVersion(id, 0))!;
        const errors = applyPatch(from, patch);
        expect(errors.every((e) => e === null)).toBe(true);
        expect(from).toEqual(dataOf(await c.getVersion(id, 1)));
        const back = dataOf(await c.getVersion(id, 1))!;
        applyPatch(back, (await c.diff(id, { ov: 1 }, { ov: 0 })).patch);
        expect(back).toEqual(dataOf(await c.getVersion(id, 0)));
      }),
      { numRuns: t.name === 'embedded' ? 30 : 15 },
    );
  });

  it('unknown record or version: NotFoundError; bad selectors: ValidationError', async () => {
    const c = col();
    await expect(c.diff('nobody', { ov: 0 })).rejects.toBeInstanceOf(NotFoundError);
    const { id } = await c.create({ kind: 'k' });
    await expect(c.diff(id, { ov: 7 })).rejects.toBeInstanceOf(NotFoundError);
    for (const bad of [{}, { ov: -1 }, { ov: 1.5 }, { at: new Date('nope') }, { cv: 'x' }, { ov: 0, at: new Date() }, { version: 1 }, null, 3]) {
      await expect(c.diff(id, bad as never)).rejects.toBeInstanceOf(ValidationError);
      await expect(c.diff(id, { ov: 0 }, bad as never)).rejects.toBeInstanceOf(ValidationError);
    }
  });
});

forEachTarget('listAsOf', (t) => {
  const h = openedFor(t);
  const col = (tenantId: string, collection = 'docs') => h.chronos.with({ dbName: h.dbName, collection, tenantId });

  it('lists the records that existed then, with their values and metadata then, in keyset pages; writes nothing', async () => {
    const c = col('asof');
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push((await c.create({ kind: i % 2 ? 'odd' : 'even', n: i }, undefined, undefined, { id: `r${i}` })).id);
    const { cv: cvThen } = await c.update(ids[0]!, { kind: 'even', n: 0, v: 'then' });
    await sleep(5);
    const atThen = new Date();
    await sleep(5);
    await c.update(ids[0]!, { kind: 'odd', n: 100 }); // metadata changes after
    await c.delete(ids[1]!);
    await c.create({ kind: 'even', n: 9 }, undefined, undefined, { id: 'born-later' });
    const before = await c.changes({ afterCv: 0, limit: 1000 });

    for (const target of [{ cv: cvThen }, { at: atThen }]) {
      const seen: Array<Record<string, unknown>> = [];
      let pageToken: string | undefined;
      let pages = 0;
      do {
        const p = await c.listAsOf(target, { limit: 3, ...(pageToken ? { pageToken } : {}) });
        seen.push(...p.items);
        pageToken = p.pageToken;
        pages++;
      } while (pageToken);
      expect(pages).toBeGreaterThanOrEqual(3);
      expect(seen.map((r) => r.id)).toEqual(ids);
      expect(dataOf(seen[0])).toEqual({ kind: 'even', n: 0, v: 'then' });
      // the filter judges the metadata as it was then
      const evens = await c.listAsOf(target, { filter: { kind: 'even' }, limit: 100 });
      expect(evens.items.map((r) => r.id)).toEqual(['r0', 'r2', 'r4', 'r6']);
      const meta = await c.listAsOf(target, { filter: { n: { $gte: 5 } } }, { includeMeta: true });
      expect(meta.items.map((r) => [r.id, (r._meta?.metaIndexed as { n: number }).n])).toEqual([
        ['r5', 5],
        ['r6', 6],
      ]);
    }
    // nothing written: the feed has not moved
    expect((await c.changes({ afterCv: before.nextCv })).items).toEqual([]);
  });

  it('never crosses a tenant or a collection', async () => {
    const a = col('ta');
    const b = col('tb');
    const other = col('ta', 'other');
    const { cv } = await a.create({ kind: 'x', n: 1 }, undefined, undefined, { id: 'shared-id' });
    await b.create({ kind: 'y', n: 2 }, undefined, undefined, { id: 'shared-id' });
    await other.create({ kind: 'z', n: 3 }, undefined, undefined, { id: 'shared-id' });
    const big = Math.max(cv, 10_000);
    expect((await a.listAsOf({ cv: big })).items.map((r) => dataOf(r))).toEqual([{ kind: 'x', n: 1 }]);
    expect((await b.listAsOf({ at: new Date() })).items.map((r) => dataOf(r))).toEqual([{ kind: 'y', n: 2 }]);
    expect((await a.changes()).items.map((e) => e.id)).toEqual(['shared-id']);
    expect((await b.changes({ includePayload: true })).items.map((e) => e.data?.kind)).toEqual(['y']);
    expect((await other.history('shared-id')).items.map((h) => h.ov)).toEqual([0]);
    const d = await b.diff('shared-id', { ov: 0 });
    expect(d.to.metaIndexed).toEqual({ kind: 'y', n: 2 });
    await expect(col('tc').diff('shared-id', { ov: 0 })).rejects.toBeInstanceOf(NotFoundError);
  });

  it('refuses bad input with a ValidationError', async () => {
    const c = col('bad');
    for (const target of [{}, { ov: 1 }, { at: new Date('x') }, { cv: -1 }, { cv: 1, at: new Date() }, { when: 1 }]) {
      await expect(c.listAsOf(target as never)).rejects.toBeInstanceOf(ValidationError);
    }
    for (const q of [{ limit: 0 }, { limit: 1001 }, { limit: 1.5 }, { pageToken: 'garbage' }, { sort: 'asc' }, { filter: { $where: 'x' } }]) {
      await expect(c.listAsOf({ cv: 1 }, q as never)).rejects.toBeInstanceOf(ValidationError);
    }
    const p = await c.listAsOf({ cv: 1 }, { limit: 1 });
    expect(p.items).toEqual([]);
  });
});
