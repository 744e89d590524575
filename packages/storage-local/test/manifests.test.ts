/**
 * Manifest parts on the embedded store (core engine/manifest-format.ts, docs/MANIFESTS.md):
 *
 * - format 1, as written before format 2 (fixtures/manifest-v1.json.gz, see make-manifest-v1.ts):
 *   every row reads back, by ov, time and cv, and an erasure rewrites those parts as format 2;
 * - format 2: a cold point read (nothing of the manifests cached) costs a bounded number of GETs,
 *   bytes and rows, counted (manifestReadStats), whatever the size of the part; every answer
 *   equals the version index's before pruning; a flipped byte is a ManifestError naming the part.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import {
  BLOCK_ROWS,
  CollectionEngine,
  MANIFEST_FORMAT,
  ManifestError,
  clearManifestCaches,
  loadManifestIndex,
  manifestReadStats,
  pruneNamespace,
  readManifestRow,
  readManifestRows,
  rewriteManifestsWithout,
  rollupNamespace,
  sha256,
  type BlobStore,
  type BlockEntry,
  type CommitInput,
  type Namespace,
  type PartEntry,
  type SegmentEntry,
  type VersionDoc,
  type VersionSelector,
} from '@chronos-db/core';
import { METADATA_FILE, createLocalMetadataStore, createSqliteBlobStore } from '../src/index.js';
import { tmpDirs } from './helpers/tmp-dirs';

const tmp = tmpDirs('chronos-manifests-');

/** What the version index answered for a selector: the newest row at or below it (rows of one record, by ov). */
function expected(rows: VersionDoc[], sel: VersionSelector): VersionDoc | null {
  if ('ov' in sel) return rows.find((r) => r.ov === sel.ov) ?? null;
  const f = 'at' in sel ? 'at' : 'cv';
  const bound = 'at' in sel ? sel.at : (sel as { cv: number }).cv;
  let best: VersionDoc | null = null;
  for (const r of rows) if (r[f] <= bound && (!best || r[f] > best[f] || (r[f] === best[f] && r.ov > best.ov))) best = r;
  return best;
}

/** Every selector worth asking below the index's lowest row: each ov, each row's at and cv, and one below each. */
function selectors(rows: VersionDoc[], low: number): VersionSelector[] {
  const out: VersionSelector[] = [];
  const floor = rows[low]!;
  for (const r of rows.slice(0, low)) {
    out.push({ ov: r.ov }, { at: r.at }, { cv: r.cv });
    if (r.at - 1 < floor.at) out.push({ at: r.at - 1 });
    out.push({ cv: r.cv - 1 });
  }
  return out;
}

/** The block entries of a format-2 part, read raw from the pages its segment lines (the footer after its header) point at. */
function segmentBlocks(bytes: Buffer, segmentLines: string[]): BlockEntry[] {
  return segmentLines.flatMap((l) => {
    const seg = JSON.parse(l) as SegmentEntry;
    return bytes
      .subarray(seg.page.offset, seg.page.offset + seg.page.length)
      .toString('utf8')
      .split('\n')
      .map((b) => JSON.parse(b) as BlockEntry);
  });
}

/** Every row line of a part, read raw by the documented layout (either format), decompressed. */
function rawLines(bytes: Buffer, entry: PartEntry): string[] {
  const footer = bytes.subarray(entry.footer.offset, entry.footer.offset + entry.footer.length).toString('utf8');
  const [head, ...rest] = footer.split('\n');
  const format = (JSON.parse(head!) as { format: string }).format;
  const blocks: Array<{ offset: number; length: number }> =
    format === MANIFEST_FORMAT ? segmentBlocks(bytes, rest) : (JSON.parse(head!) as { blocks: BlockEntry[] }).blocks;
  return blocks.flatMap((b) =>
    gunzipSync(bytes.subarray(b.offset, b.offset + b.length))
      .toString('utf8')
      .split('\n')
      .filter(Boolean),
  );
}

async function partsOf(blobs: BlobStore, ns: Namespace) {
  const idx = await loadManifestIndex(blobs, ns);
  return Promise.all(idx.parts.map(async (p) => ({ entry: p, bytes: Buffer.from(await blobs.get('backups', p.key)) })));
}

describe('manifests of format 1 (written before format 2) still read', () => {
  const fx = JSON.parse(gunzipSync(readFileSync(join(__dirname, 'fixtures/manifest-v1.json.gz'))).toString('utf8')) as {
    ns: Namespace;
    low: Record<string, number>;
    rows: VersionDoc[];
    objects: Record<string, string>;
  };
  const rowsOf = (id: string) => fx.rows.filter((r) => r.itemId === id).sort((a, b) => a.ov - b.ov);

  async function load() {
    const base = tmp();
    const blobs = createSqliteBlobStore({ basePath: base, filename: join(base, METADATA_FILE) });
    for (const [k, b64] of Object.entries(fx.objects)) await blobs.put('backups', k, Buffer.from(b64, 'base64'));
    clearManifestCaches();
    return blobs;
  }

  it('every pruned row, by ov, time and cv, and each record whole', async () => {
    const blobs = await load();
    try {
      const parts = await partsOf(blobs, fx.ns);
      expect(parts.map((p) => JSON.parse(p.bytes.subarray(p.entry.footer.offset).toString('utf8')).format)).toEqual([
        'chronos-manifest/1',
        'chronos-manifest/1',
      ]);
      let asked = 0;
      for (const [id, low] of Object.entries(fx.low)) {
        const rows = rowsOf(id);
        expect(await readManifestRows(blobs, fx.ns, id, low)).toEqual(rows.slice(0, low));
        // format-1 reads decode the record's blocks whole: a sample of the selectors of the long records
        for (const sel of selectors(rows, low).filter((_, i) => low < 100 || i % 23 === 0)) {
          clearManifestCaches();
          expect({ sel, got: await readManifestRow(blobs, fx.ns, id, sel, low) }).toEqual({ sel, got: expected(rows.slice(0, low), sel) });
          asked++;
        }
      }
      expect(asked).toBeGreaterThan(400);
    } finally {
      await blobs.close();
    }
  });

  it('an erasure rewrites the format-1 parts holding the record as format 2; the other records read the same', async () => {
    const blobs = await load();
    try {
      // rec-a has rows in both parts
      const r = await rewriteManifestsWithout(blobs, fx.ns, 'rec-a');
      expect(r).toMatchObject({ partsRewritten: 2, rowsRemoved: fx.low['rec-a'] });
      const parts = await partsOf(blobs, fx.ns);
      expect(parts.map((p) => JSON.parse(p.bytes.subarray(p.entry.footer.offset).toString('utf8').split('\n')[0]!).format)).toEqual([
        MANIFEST_FORMAT,
        MANIFEST_FORMAT,
      ]);
      // the old objects are gone, and no row of rec-a is left in any part
      const keys: string[] = [];
      for await (const e of blobs.list('backups', '')) keys.push(e.key);
      for (const k of Object.keys(fx.objects).filter((x) => x.includes('/parts/'))) expect(keys).not.toContain(k);
      const lines = parts.flatMap((p) => rawLines(p.bytes, p.entry));
      expect(lines.length).toBe(Object.values(fx.low).reduce((a, b) => a + b, 0) - fx.low['rec-a']!);
      expect(lines.some((l) => l.includes('"rec-a"'))).toBe(false);
      for (const id of ['rec-b', 'rec-c', 'rec-d']) {
        const low = fx.low[id]!;
        const rows = rowsOf(id);
        clearManifestCaches();
        expect(await readManifestRows(blobs, fx.ns, id, low)).toEqual(rows.slice(0, low));
        for (const sel of selectors(rows, low).filter((_, i) => i % 7 === 0)) {
          clearManifestCaches();
          expect(await readManifestRow(blobs, fx.ns, id, sel, low)).toEqual(expected(rows.slice(0, low), sel));
        }
      }
      await expect(readManifestRows(blobs, fx.ns, 'rec-a', fx.low['rec-a']!)).rejects.toThrow(ManifestError);
    } finally {
      await blobs.close();
    }
  });
});

describe('manifests of format 2: one block per point read', () => {
  // 3 records of 1,500 versions (several segments each) between 60 records of 6
  const DEEP = 1500;
  const t0 = Date.parse('2026-05-01T00:00:00Z');
  let base: string;
  let meta: ReturnType<typeof createLocalMetadataStore>;
  let blobs: ReturnType<typeof createSqliteBlobStore>;
  const ns: Namespace = { dbName: 'm2', collection: 'items' };
  const before = new Map<string, VersionDoc[]>();
  const depthOf = (id: string) => (id.startsWith('deep') ? DEEP : 6);
  const ids = [...Array.from({ length: 60 }, (_, i) => `r${String(i).padStart(3, '0')}`), 'deep0', 'deep1', 'deep2'].sort();

  beforeAll(async () => {
    base = tmp();
    meta = createLocalMetadataStore({ basePath: base });
    blobs = createSqliteBlobStore({ basePath: base, filename: join(base, METADATA_FILE), deferSync: true });
    await meta.ensureNamespace(ns);
    const body = Buffer.from('{"x":1}');
    for (const id of ids) await blobs.put('json', `m2/items/${id}/v0/x/item.json`, body);
    const heads = new Map<string, number>();
    let tick = 0;
    for (let ov = 0; ov < DEEP; ov++) {
      const inputs = ids
        .filter((id) => ov < depthOf(id))
        .map(
          (id): CommitInput => ({
            ns,
            version: {
              itemId: id,
              ov,
              op: ov ? 'UPDATE' : 'CREATE',
              // several versions share a commit time: ties must read as the index reads them
              at: t0 + Math.floor(tick++ / 3) * 1000,
              jsonKey: `m2/items/${id}/v0/x/item.json`,
              size: body.byteLength,
              sha256: sha256(body),
              metaIndexed: { n: ov },
              deleted: false,
            },
            expectedOv: ov ? ov - 1 : null,
            head: ov ? {} : { createdAt: t0 },
            ...(ov ? { prev: { cv: heads.get(id)!, createdAt: t0 } } : {}),
          }),
        );
      (await meta.commitMany(inputs)).forEach((r, i) => {
        if (!r.ok) throw r.error;
        heads.set(inputs[i]!.version.itemId, r.cv);
      });
    }
    for (const id of ids) before.set(id, await meta.listVersions(ns, id, { limit: 2000 }));
    const target = { ns, meta, blobs, retention: { maxVersions: 2 }, now: t0 + 30 * 86_400_000 };
    await rollupNamespace(target);
    await pruneNamespace(target);
  });
  afterAll(async () => {
    await meta?.close();
    await blobs?.close();
  });

  it('a cold read costs 3 GETs (index copy, footer, one segment), one block gunzipped, a few rows parsed; a warm one nothing', async () => {
    const [part] = await partsOf(blobs, ns);
    expect(part).toBeDefined();
    const segments = part!.bytes.subarray(part!.entry.footer.offset).toString('utf8').split('\n').length - 1;
    expect(segments).toBeGreaterThan(2);
    const engine = new CollectionEngine({ ns, meta, blobs });
    let maxBytes = 0;
    for (const id of ['deep0', 'deep1', 'deep2', 'r000', 'r031']) {
      const rows = before.get(id)!;
      for (const k of [0, 1, 7, 333, 700, 1100, DEEP - 3]) {
        if (k >= rows.length - 2) continue;
        const at = rows[k]!.at;
        clearManifestCaches();
        const s0 = { ...manifestReadStats };
        const got = await engine.getAsOf(id, at, { includeMeta: true });
        const d = Object.fromEntries(Object.entries(manifestReadStats).map(([key, v]) => [key, v - s0[key as keyof typeof s0]]));
        expect({ id, k, ov: got?._meta?.ov, source: got?._meta?.source }).toEqual({ id, k, ov: expected(rows, { at })!.ov, source: 'manifest' });
        expect({ id, k, gets: d.gets, blocks: d.blocks }).toEqual({ id, k, gets: 3, blocks: 1 });
        expect(d.rowsDecoded).toBeLessThanOrEqual(BLOCK_ROWS);
        expect(d.rowsParsed).toBeLessThanOrEqual(12);
        maxBytes = Math.max(maxBytes, d.bytes!);
        // warm: the same read again fetches nothing
        const s1 = { ...manifestReadStats };
        await engine.getAsOf(id, at);
        expect(manifestReadStats.gets - s1.gets).toBe(0);
      }
    }
    // the footer and one segment, never the part
    const segs = part!.bytes
      .subarray(part!.entry.footer.offset)
      .toString('utf8')
      .split('\n')
      .slice(1)
      .map((l) => JSON.parse(l) as SegmentEntry);
    expect(maxBytes).toBeLessThanOrEqual(part!.entry.footer.length + Math.max(...segs.map((x) => x.length)));
    expect(maxBytes).toBeLessThan(part!.entry.bytes / 2);
  });

  it('every pruned row, cold, by ov, time and cv, equals what the index answered before pruning', async () => {
    let asked = 0;
    for (const id of ['r000', 'deep1', 'r059', 'deep2']) {
      const rows = before.get(id)!;
      const low = (await meta.listVersions(ns, id, { limit: 1 }))[0]!.ov;
      expect(low).toBe(rows.length - 2);
      const sels = selectors(rows, low);
      for (const [i, sel] of sels.entries()) {
        if (id.startsWith('deep') && i % 5 !== 0) continue;
        if (i % 3 === 0) clearManifestCaches();
        expect({ sel, got: await readManifestRow(blobs, ns, id, sel, low) }).toEqual({ sel, got: expected(rows.slice(0, low), sel) });
        asked++;
      }
      expect(await readManifestRows(blobs, ns, id, low)).toEqual(rows.slice(0, low));
    }
    expect(asked).toBeGreaterThan(1000);
  });

  it('a flipped byte in a block is a ManifestError naming the part, never a wrong answer', async () => {
    const [part] = await partsOf(blobs, ns);
    const { entry, bytes } = part!;
    const rows = before.get('deep1')!;
    const low = rows.length - 2;
    // the block holding deep1's row 700
    const footer = bytes.subarray(entry.footer.offset).toString('utf8').split('\n').slice(1);
    const block = segmentBlocks(bytes, footer).find(
      (b) => (b.first[0] < 'deep1' || (b.first[0] === 'deep1' && b.first[1] <= 700)) && (b.last[0] > 'deep1' || (b.last[0] === 'deep1' && b.last[1] >= 700)),
    )!;
    expect(block).toBeDefined();
    const broken = Buffer.from(bytes);
    broken[block.offset + 20] = broken[block.offset + 20]! ^ 0xff;
    await blobs.put('backups', entry.key, broken);
    try {
      clearManifestCaches();
      const e = await readManifestRow(blobs, ns, 'deep1', { ov: 700 }, low).catch((x: unknown) => x);
      expect(e).toBeInstanceOf(ManifestError);
      expect((e as Error).message).toContain(entry.key);
      // a row of another block still reads
      clearManifestCaches();
      expect(await readManifestRow(blobs, ns, 'deep0', { ov: 3 }, low)).toEqual(before.get('deep0')![3]);
    } finally {
      await blobs.put('backups', entry.key, bytes);
    }
  });
});
