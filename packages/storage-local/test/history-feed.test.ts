/** listVersions pages and the change feed on SQLite (the conformance suite covers the contract too). */
import type { Namespace, VersionDoc } from '@chronos-db/core';
import { mkVersion } from '@chronos-db/testkit';
import { createLocalMetadataStore } from '@chronos-db/storage-local';

const ns: Namespace = { dbName: 'db', collection: 'c' };
const other: Namespace = { dbName: 'db', collection: 'c', tenant: 't2' };

describe('SqliteMetadataStore listVersions pages and changesAfter', () => {
  const store = createLocalMetadataStore({ filename: ':memory:' });
  afterAll(() => store.close());

  it('pages a record both ways within bounds, and the feed in cv order with a resume point', async () => {
    await store.commit({ ns, version: mkVersion(ns, 'r', 0), expectedOv: null, head: { createdAt: 1 } });
    for (let ov = 0; ov < 9; ov++) await store.commit({ ns, version: mkVersion(ns, 'r', ov + 1), expectedOv: ov, head: {} });
    await store.commit({ ns: other, version: mkVersion(other, 'r', 0), expectedOv: null, head: { createdAt: 1 } });
    const ovs = (vs: VersionDoc[]) => vs.map((v) => v.ov);
    expect(ovs(await store.listVersions(ns, 'r', { dir: -1, limit: 3 }))).toEqual([9, 8, 7]);
    expect(ovs(await store.listVersions(ns, 'r', { dir: -1, limit: 3, beforeOv: 7 }))).toEqual([6, 5, 4]);
    expect(ovs(await store.listVersions(ns, 'r', { afterOv: 2, beforeOv: 5 }))).toEqual([3, 4]);
    expect(ovs(await store.listVersions(other, 'r', { dir: -1 }))).toEqual([0]);

    const p1 = await store.changesAfter(ns, { afterCv: 0, limit: 4 });
    expect(p1.versions.map((v) => v.cv)).toEqual([1, 2, 3, 4]);
    expect(p1.nextCv).toBe(4);
    const p2 = await store.changesAfter(ns, { afterCv: 4, limit: 100 });
    expect(p2.versions.map((v) => v.cv)).toEqual([5, 6, 7, 8, 9, 10]);
    expect(p2.nextCv).toBe(10);
    expect(await store.changesAfter(ns, { afterCv: 10, limit: 100 })).toEqual({ versions: [], nextCv: 10 });
    // the other tenant has its own cvs
    expect((await store.changesAfter(other, { afterCv: 0, limit: 100 })).versions.map((v) => v.itemId)).toEqual(['r']);
  });

  it('a gap that can never fill (a hard-deleted record) does not stop the feed', async () => {
    const ns2: Namespace = { dbName: 'db', collection: 'gaps' };
    for (const id of ['a', 'b', 'c']) await store.commit({ ns: ns2, version: mkVersion(ns2, id, 0), expectedOv: null, head: { createdAt: 1 } });
    await store.hardDelete(ns2, 'b');
    const p = await store.changesAfter(ns2, { afterCv: 0, limit: 100 });
    expect(p.versions.map((v) => v.itemId)).toEqual(['a', 'c']);
    expect(p.nextCv).toBe(3);
  });

  it('refuses bad input with a ValidationError', async () => {
    for (const q of [
      { afterCv: -1, limit: 1 },
      { afterCv: 0.5, limit: 1 },
      { afterCv: 0, limit: 0 },
    ]) {
      await expect(store.changesAfter(ns, q)).rejects.toMatchObject({ code: 'VALIDATION' });
    }
    await expect(store.listVersions(ns, 'r', { dir: 0 as 1 })).rejects.toMatchObject({ code: 'VALIDATION' });
  });
});
