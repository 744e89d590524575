/**
 * listVersions pages and the change feed (changesAfter) against FerretDB: the `_id`-seek page
 * equals the query page; a cv held by a writer in flight is never skipped (the feed seals it,
 * the writer commits with a new cv that the feed delivers later); a burned cv does not stall.
 */
import { MongoClient } from 'mongodb';
import type { Namespace, VersionDoc } from '@chronos-db/core';
import { createMongoMetadataStore, type MongoMetadataStore } from '@chronos-db/storage-mongo';
import { describeMongo, MONGO_URL, rand } from './helpers/env';
import { mkVersion } from './helpers/versions';

const freshNs = (): Namespace => ({ dbName: `hf_${rand(10)}`, collection: `p${rand(8)}` });

describeMongo('storage-mongo listVersions pages and changesAfter (FerretDB)', () => {
  let client: MongoClient;
  let store: MongoMetadataStore;
  beforeAll(async () => {
    client = new MongoClient(MONGO_URL!);
    store = createMongoMetadataStore({ client });
  });
  afterAll(async () => {
    await store.close();
    await client.close();
  });

  const create = (s: MongoMetadataStore, ns: Namespace, id: string) => s.commit({ ns, version: mkVersion(id, 0), expectedOv: null, head: { createdAt: 1 } });
  const update = (s: MongoMetadataStore, ns: Namespace, id: string, expectedOv: number) =>
    s.commit({ ns, version: mkVersion(id, expectedOv + 1), expectedOv, head: {} });

  it('pages one record both ways, within bounds; seeks (limit <= 1000) and the query (limit > 1000) agree', async () => {
    const ns = freshNs();
    await create(store, ns, 'r');
    for (let ov = 0; ov < 29; ov++) await update(store, ns, 'r', ov);
    const ovs = (vs: VersionDoc[]) => vs.map((v) => v.ov);
    expect(ovs(await store.listVersions(ns, 'r', { dir: -1, limit: 5 }))).toEqual([29, 28, 27, 26, 25]);
    expect(ovs(await store.listVersions(ns, 'r', { dir: -1, limit: 3, beforeOv: 25 }))).toEqual([24, 23, 22]);
    expect(ovs(await store.listVersions(ns, 'r', { dir: 1, limit: 3, afterOv: 10 }))).toEqual([11, 12, 13]);
    expect(ovs(await store.listVersions(ns, 'r', { afterOv: 5, beforeOv: 9 }))).toEqual([6, 7, 8]);
    expect(ovs(await store.listVersions(ns, 'r', { dir: -1, afterOv: 27 }))).toEqual([29, 28]);
    const seek = await store.listVersions(ns, 'r', { dir: -1, limit: 1000 });
    const query = await store.listVersions(ns, 'r', { dir: -1, limit: 1001 });
    expect(seek).toEqual(query);
    expect(seek).toHaveLength(30);
    expect(await store.listVersions(ns, 'nobody', { dir: -1 })).toEqual([]);
    await expect(store.listVersions(ns, 'r', { dir: 2 as 1 })).rejects.toMatchObject({ code: 'VALIDATION' });
  });

  it('never skips a cv held by a writer in flight: it seals it, and the writer commits later with a new cv', async () => {
    const ns = freshNs();
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let heldCv = -1;
    const slow = createMongoMetadataStore({
      client,
      onCommitStep: async (step, info) => {
        if (step === 'checked' && info.itemId === 'slow' && heldCv < 0) {
          heldCv = info.cv;
          await held;
        }
      },
    });
    try {
      await create(store, ns, 'a'); // cv 1
      const slowCommit = create(slow, ns, 'slow'); // takes cv 2 (slow's own hint is fresh), then waits
      while (heldCv < 0) await new Promise((r) => setTimeout(r, 5));
      // both stores share the client's cv hint: these take the cvs above the held one
      await create(store, ns, 'b');
      await create(store, ns, 'c');
      const seen: VersionDoc[] = [];
      let after = 0;
      for (let i = 0; i < 10; i++) {
        const page = await store.changesAfter!(ns, { afterCv: after, limit: 100 });
        seen.push(...page.versions);
        expect(page.nextCv).toBeGreaterThanOrEqual(after);
        after = page.nextCv;
      }
      release();
      const r = await slowCommit;
      for (let i = 0; i < 3; i++) {
        const page = await store.changesAfter!(ns, { afterCv: after, limit: 100 });
        seen.push(...page.versions);
        after = page.nextCv;
      }
      const ids = seen.map((v) => v.itemId).sort();
      expect(ids).toEqual(['a', 'b', 'c', 'slow']);
      const cvs = seen.map((v) => v.cv);
      expect(cvs).toEqual([...cvs].sort((x, y) => x - y));
      expect(seen.find((v) => v.itemId === 'slow')!.cv).toBe(r.cv);
      // the feed sealed the held cv, so the writer committed with a new one, above it
      expect(r.cv).toBeGreaterThan(heldCv);
      // whichever way the race went, the version is where the feed says it is
      expect((await store.getVersion(ns, 'slow', { ov: 0 }))!.cv).toBe(r.cv);
    } finally {
      release();
      await slow.close();
    }
  });

  it('a burned cv (a lost race) does not stall the feed; resuming from any nextCv sees each version once', async () => {
    const ns = freshNs();
    await create(store, ns, 'x');
    const other = createMongoMetadataStore({ client });
    try {
      // two writers on the same head: one loses its (itemId, ov) and burns its cv
      const results = await Promise.allSettled([update(store, ns, 'x', 0), update(other, ns, 'x', 0)]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      await update(store, ns, 'x', 1);
      await update(other, ns, 'x', 2);
      const all: VersionDoc[] = [];
      let after = 0;
      const resumePoints: number[] = [0];
      for (let i = 0; i < 20 && all.length < 4; i++) {
        const page = await store.changesAfter!(ns, { afterCv: after, limit: 2 });
        all.push(...page.versions);
        after = page.nextCv;
        resumePoints.push(after);
      }
      expect(all.map((v) => v.ov)).toEqual([0, 1, 2, 3]);
      for (const from of resumePoints) {
        const page = await store.changesAfter!(ns, { afterCv: from, limit: 100 });
        expect(page.versions.map((v) => v.cv)).toEqual(all.filter((v) => v.cv > from).map((v) => v.cv));
      }
    } finally {
      await other.close();
    }
  });

  it('refuses bad input with a ValidationError', async () => {
    const ns = freshNs();
    for (const q of [
      { afterCv: -1, limit: 1 },
      { afterCv: 1.5, limit: 1 },
      { afterCv: 0, limit: 0 },
      { afterCv: 0, limit: 10_001 },
    ]) {
      await expect(store.changesAfter!(ns, q)).rejects.toMatchObject({ code: 'VALIDATION' });
    }
  });
});
