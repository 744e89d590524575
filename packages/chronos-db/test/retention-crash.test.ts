/**
 * SIGKILL during rollup and during prune (a child process, as the other crash tests), on the
 * embedded store and on FerretDB + Ceph: every read answers as before at every point, and a
 * rerun completes the job with nothing lost.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import {
  CollectionEngine,
  ManifestError,
  loadManifestIndex,
  pruneNamespace,
  rewriteManifestsWithout,
  rollupNamespace,
  type BlobStore,
  type BlockEntry,
  type MetadataStore,
  type SegmentEntry,
} from '@chronos-db/core';
import { makeStores, type StoreSpec } from './crash/stores.js';
import { runTsxChild } from './helpers/child.js';
import { withInflated } from './helpers/raw-scan.js';
import { describeServers, rnd, serverStoreSpec } from './helpers/servers.js';

const DAY = 86_400_000;
const T0 = Date.parse('2026-03-01T10:00:00Z');
const retention = { maxVersions: 2 };

const runChild = (job: object) => runTsxChild(join(__dirname, 'crash/lifecycle-child.ts'), 'LIFECYCLE_JOB', job);

function crashScenarios(name: string, spec: () => Promise<StoreSpec>) {
  describe(`SIGKILL during rollup and prune: ${name}`, () => {
    // the shared servers are slow under load (FerretDB answers range queries by scanning)
    jest.setTimeout(600_000);
    let s: StoreSpec;
    let meta: MetadataStore;
    let blobs: BlobStore;
    beforeAll(async () => {
      s = await spec();
      ({ meta, blobs } = makeStores(s));
    });
    afterAll(async () => {
      await meta?.close();
      await blobs?.close();
    });

    async function seeded() {
      const ns = { dbName: `lc_${rnd()}`, collection: 'items' };
      let now = T0;
      const engine = new CollectionEngine({ ns, meta, blobs, clock: () => now });
      const ids: string[] = [];
      for (let r = 0; r < 3; r++) ids.push((await engine.create({ r, n: 0 }, undefined, undefined, { id: `rec${r}` })).id);
      for (let n = 1; n < 15; n++) {
        now += DAY / 6; // 15 versions over about 2.5 days: three daily parts
        for (const id of ids) await engine.update(id, { id, n });
      }
      const snapshot = async () => {
        const out: unknown[] = [];
        for (const id of ids) {
          for (let ov = 0; ov < 15; ov++) out.push(await engine.getVersion(id, ov, { includeDeleted: true }));
          for (let k = 0; k < 15; k += 3) out.push(await engine.getAsOf(id, T0 + (k * DAY) / 6 + 1));
          out.push((await engine.history(id, { limit: 1000 })).items);
        }
        return JSON.stringify(out);
      };
      return { ns, engine, ids, snapshot, now: now + DAY };
    }

    it('killed after writing its first manifest part: reads unchanged; the rerun lists every part and a further rerun writes nothing', async () => {
      const { ns, snapshot, now } = await seeded();
      const before = await snapshot();
      const r = await runChild({ mode: 'rollup', spec: s, ns, retention, now });
      expect({ signal: r.signal, err: r.stderr }).toEqual({ signal: 'SIGKILL', err: '' });
      expect((await loadManifestIndex(blobs, ns)).parts).toHaveLength(0); // killed before the index
      expect(await snapshot()).toBe(before);
      const target = { ns, meta, blobs, retention, period: 'daily' as const, now };
      const again = await rollupNamespace(target);
      expect(again.rows).toBe(3 * 13);
      const idx = await loadManifestIndex(blobs, ns);
      expect(idx.parts.reduce((a, p) => a + p.rows, 0)).toBe(3 * 13);
      expect(await rollupNamespace(target)).toMatchObject({ rows: 0, parts: 0 });
      expect((await pruneNamespace(target)).rows).toBe(3 * 13);
      expect(await snapshot()).toBe(before);
    });

    it('killed in the middle of a prune: reads unchanged (in between too); the rerun removes the rest', async () => {
      const { ns, snapshot, now } = await seeded();
      const before = await snapshot();
      const target = { ns, meta, blobs, retention, period: 'daily' as const, now };
      expect((await rollupNamespace(target)).rows).toBe(3 * 13);
      const r = await runChild({ mode: 'prune', spec: s, ns, retention, now });
      expect({ signal: r.signal, err: r.stderr }).toEqual({ signal: 'SIGKILL', err: '' });
      // ov 0..4 of each record went before the kill
      expect((await meta.listVersions(ns, 'rec0', { limit: 1 }))[0]!.ov).toBe(5);
      expect(await snapshot()).toBe(before);
      const rest = await pruneNamespace(target);
      expect(rest.rows).toBe(3 * 8);
      expect(rest.partsPruned).toBe(rest.partsVerified);
      expect((await meta.listVersions(ns, 'rec0', { limit: 1 }))[0]!.ov).toBe(13);
      expect(await snapshot()).toBe(before);
      expect(await pruneNamespace(target)).toMatchObject({ rows: 0, partsVerified: 0 });
      // GC keeps the payloads of pruned versions (only manifests name them now)
      const later = new CollectionEngine({ ns, meta, blobs, clock: () => Date.now() + 30 * DAY });
      expect((await later.collectGarbage()).removed).toBe(0);
      expect(await snapshot()).toBe(before);
    });

    /** Every object under the namespace's manifests, read raw (gzip members inflated, no index used): those holding a row of `id`. */
    async function objectsHoldingRows(dbName: string, id: string): Promise<string[]> {
      const marker = Buffer.from(`{"itemId":${JSON.stringify(id)},`);
      const out: string[] = [];
      for await (const e of blobs.list('backups', `manifests/${dbName}/`))
        if (withInflated(Buffer.from(await blobs.get('backups', e.key))).some((b) => b.includes(marker))) out.push(e.key);
      return out;
    }
    const partKeys = async (dbName: string) => {
      const out: string[] = [];
      for await (const e of blobs.list('backups', `manifests/${dbName}/`)) if (e.key.endsWith('.cmf')) out.push(e.key);
      return out.sort();
    };
    /** Erasure's steps on the stores (admin hardDelete): the tombstone, the version index and head, then the manifests. */
    async function erase(ns: { dbName: string; collection: string }, id: string, b: BlobStore = blobs) {
      await meta.beginErasure!(ns, { itemId: id, at: Date.now(), actor: 'test' });
      await meta.hardDelete(ns, id);
      return rewriteManifestsWithout(b, ns, id);
    }

    it('a rollup killed after writing a part, then erasure: the unlisted part holding the record goes, no object holds its rows; the rerun rolls up the rest', async () => {
      const { ns, engine, ids, now } = await seeded();
      const others = async () =>
        JSON.stringify(await Promise.all(ids.slice(1).map(async (id) => [await engine.getVersion(id, 0), (await engine.history(id, { limit: 100 })).items])));
      const before = await others();
      const r = await runChild({ mode: 'rollup', spec: s, ns, retention, now });
      expect({ signal: r.signal, err: r.stderr }).toEqual({ signal: 'SIGKILL', err: '' });
      expect((await loadManifestIndex(blobs, ns)).parts).toHaveLength(0);
      const orphans = await partKeys(ns.dbName);
      expect(orphans).toHaveLength(1);
      expect(await objectsHoldingRows(ns.dbName, 'rec0')).toEqual(orphans); // the orphan holds rows of rec0 (and of the others)
      const e = await erase(ns, 'rec0');
      expect(e).toMatchObject({ partsRewritten: 0, rowsRemoved: 0 });
      expect(e.objectsDeleted).toBeGreaterThanOrEqual(1);
      expect(await partKeys(ns.dbName)).toEqual([]);
      expect(await objectsHoldingRows(ns.dbName, 'rec0')).toEqual([]);
      // the rerun writes the others' rows again (the orphan's included); nothing of rec0
      const target = { ns, meta, blobs, retention, period: 'daily' as const, now };
      expect((await rollupNamespace(target)).rows).toBe(2 * 13);
      expect((await pruneNamespace(target)).rows).toBe(2 * 13);
      expect(await objectsHoldingRows(ns.dbName, 'rec0')).toEqual([]);
      expect(await objectsHoldingRows(ns.dbName, 'rec1')).not.toEqual([]);
      expect(await others()).toBe(before);
    });

    it('a part a killed rollup left unlisted, that its rerun did not write again, is deleted by a later rollup once old enough (not before)', async () => {
      const { ns, snapshot, now } = await seeded();
      const before = await snapshot();
      const r = await runChild({ mode: 'rollup', spec: s, ns, retention, now });
      expect({ signal: r.signal, err: r.stderr }).toEqual({ signal: 'SIGKILL', err: '' });
      const [orphan] = await partKeys(ns.dbName);
      // the rerun keeps more versions (ov 0..2 of each record due): its first day's part differs, the orphan stays unlisted
      const target = { ns, meta, blobs, retention: { maxVersions: 12 }, period: 'daily' as const, now };
      expect(await rollupNamespace(target)).toMatchObject({ rows: 3 * 3, unlistedPartsDeleted: 0 }); // younger than a day
      const listed = async () => (await loadManifestIndex(blobs, ns)).parts.map((p) => p.key).sort();
      expect(await listed()).not.toContain(orphan);
      expect(await partKeys(ns.dbName)).toContain(orphan);
      expect(await rollupNamespace({ ...target, unlistedPartAgeMs: 0 })).toMatchObject({ rows: 0, unlistedPartsDeleted: 1 });
      expect(await partKeys(ns.dbName)).toEqual(await listed());
      expect((await pruneNamespace(target)).rows).toBe(3 * 3);
      expect(await snapshot()).toBe(before);
    });

    it('an erasure while a rollup runs (after its first part, before its index update): the rollup drops the part the erasure removed and takes the record out of the rest', async () => {
      const { ns, engine, ids, now } = await seeded();
      const others = async () =>
        JSON.stringify(await Promise.all(ids.slice(1).map(async (id) => [await engine.getVersion(id, 0), (await engine.history(id, { limit: 100 })).items])));
      const before = await others();
      let erased: Awaited<ReturnType<typeof erase>> | undefined;
      const b: BlobStore = Object.create(blobs) as BlobStore;
      b.put = async (role, key, body, opts) => {
        await blobs.put(role, key, body, opts);
        if (!erased && key.includes('/parts/')) erased = await erase(ns, 'rec0');
      };
      const target = { ns, meta, blobs: b, retention, period: 'daily' as const, now };
      const first = await rollupNamespace(target);
      expect(first.rows).toBe(3 * 13); // read before the erasure
      expect(erased?.objectsDeleted).toBeGreaterThanOrEqual(1); // the rollup's first part: unlisted then, holding rec0
      const idx = await loadManifestIndex(blobs, ns);
      expect(idx.parts).toHaveLength(2); // the removed part dropped from the index, the other two rewritten without rec0
      for (const p of idx.parts) expect(await blobs.head('backups', p.key)).not.toBeNull();
      expect(await objectsHoldingRows(ns.dbName, 'rec0')).toEqual([]);
      // the rerun writes the dropped part's other rows; all of them then prune
      const t2 = { ...target, blobs };
      expect((await rollupNamespace(t2)).rows).toBeGreaterThan(0);
      expect((await pruneNamespace(t2)).rows).toBe(2 * 13);
      expect(await objectsHoldingRows(ns.dbName, 'rec0')).toEqual([]);
      expect(await others()).toBe(before);
    });

    it("rewriteManifestsWithout (for erasure): no manifest object holds the record's rows any more; the others read the same", async () => {
      const { ns, engine, ids, now } = await seeded();
      const target = { ns, meta, blobs, retention, period: 'daily' as const, now };
      await rollupNamespace(target);
      await pruneNamespace(target);
      const others = async () =>
        JSON.stringify(await Promise.all(ids.slice(1).map(async (id) => [await engine.getVersion(id, 0), (await engine.history(id)).items])));
      const before = await others();
      const r = await rewriteManifestsWithout(blobs, ns, 'rec0');
      // the 3 old parts, the index generation before the new one (it lists them) and the old copy of the newest (index/latest.json)
      expect(r).toMatchObject({ partsRewritten: 3, rowsRemoved: 13, objectsDeleted: 5 });
      // every object under the namespace's manifests, decompressed, holds no row of rec0
      const rowsSeen: string[] = [];
      for await (const e of blobs.list('backups', `manifests/${ns.dbName}/`)) {
        const bytes = Buffer.from(await blobs.get('backups', e.key));
        if (!e.key.endsWith('.cmf')) continue;
        const idx = await loadManifestIndex(blobs, ns);
        const entry = idx.parts.find((p) => p.key === e.key)!;
        expect(entry).toBeDefined();
        // the documented layout, read raw: footer lines (header, segments) -> page lines (blocks) -> gzip blocks
        const [, ...segments] = bytes.subarray(entry.footer.offset).toString('utf8').split('\n');
        for (const seg of segments.map((l) => JSON.parse(l) as SegmentEntry)) {
          const page = bytes
            .subarray(seg.page.offset, seg.page.offset + seg.page.length)
            .toString('utf8')
            .split('\n');
          for (const b of page.map((l) => JSON.parse(l) as BlockEntry))
            rowsSeen.push(
              ...gunzipSync(bytes.subarray(b.offset, b.offset + b.length))
                .toString('utf8')
                .split('\n')
                .filter(Boolean),
            );
        }
      }
      expect(rowsSeen.length).toBe(2 * 13);
      expect(rowsSeen.some((l) => l.includes('"rec0"'))).toBe(false);
      expect(await others()).toBe(before);
      // the erased record's pruned versions are gone: a loud error, never a wrong answer
      await expect(engine.getVersion('rec0', 0)).rejects.toThrow(ManifestError);
      expect(await rewriteManifestsWithout(blobs, ns, 'rec0')).toMatchObject({ partsRewritten: 0, rowsRemoved: 0 });
    });
  });
}

crashScenarios('embedded store', async () => ({ kind: 'local', basePath: mkdtempSync(join(tmpdir(), 'chronos-lc-crash-')) }));

describeServers('lifecycle crash on FerretDB + Ceph', (env) => {
  crashScenarios('FerretDB + Ceph', () => serverStoreSpec(env, 'lcc'));
});
