/**
 * The SQLite blob store of the embedded default: the testkit BlobStore suite
 * (all inline, and mixed with a tiny inline limit so files and rows meet), the
 * engine behaviour suite on SQLite metadata + SQLite payloads in one file, and
 * the rules of the two layers (older files still read, overwrite, compact).
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CollectionEngine, OptimisticLockError } from '@chronos-db/core';
import { mkVersion, runBlobStoreConformance, runEngineBehaviour } from '@chronos-db/testkit';
import { createLocalBlobStore, createLocalMetadataStore, createLocalStorage, createSqliteBlobStore, METADATA_FILE } from '@chronos-db/storage-local';
import { tmpDirs } from './helpers/tmp-dirs';

const tmp = tmpDirs('chronos-sqlblobs-');
/** The jest functions the testkit suites register their tests with. */
const runner = { describe, it, beforeAll, afterAll, afterEach };
const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

runBlobStoreConformance(
  runner,
  'storage-local (SQLite, every payload inline)',
  async () => {
    const store = createSqliteBlobStore({ basePath: tmp() });
    return { store, teardown: () => store.close() };
  },
  { capabilities: { presign: false }, getRange: true, purgePrefix: true },
);

runBlobStoreConformance(
  runner,
  'storage-local (SQLite, inline up to 8 bytes, files above)',
  async () => {
    const store = createSqliteBlobStore({ basePath: tmp(), inlineMaxBytes: 8 });
    return { store, teardown: () => store.close() };
  },
  { capabilities: { presign: false }, getRange: true, purgePrefix: true },
);

runEngineBehaviour(runner, 'embedded default (SQLite metadata + SQLite payloads, one file)', async () => {
  const { meta, blobs, close } = createLocalStorage({ basePath: tmp() });
  return { meta, blobs, counters: meta, teardown: close };
});

describe('SqliteBlobStore layers', () => {
  it('keeps small payloads in the SQLite file and large ones as files', async () => {
    const base = tmp();
    const store = createSqliteBlobStore({ basePath: base, inlineMaxBytes: 4 });
    await store.put('json', 'a/b/small', bytes('1234'));
    await store.put('json', 'a/b/large', bytes('12345'));
    expect(existsSync(join(base, 'json', 'a', 'b', 'small'))).toBe(false);
    expect(statSync(join(base, 'json', 'a', 'b', 'large')).size).toBe(5);
    expect(text(await store.get('json', 'a/b/small'))).toBe('1234');
    expect(text(await store.get('json', 'a/b/large'))).toBe('12345');
    const keys: string[] = [];
    for await (const e of store.list('json', 'a/')) keys.push(`${e.key}:${e.size}`);
    expect(keys).toEqual(['a/b/large:5', 'a/b/small:4']);
    await store.close();
  });

  it('reads, lists, overwrites and deletes files of the older layout; ifNoneMatch sees them', async () => {
    const base = tmp();
    const old = createLocalBlobStore({ basePath: base });
    await old.put('json', 'x/1', bytes('old-1'));
    await old.put('json', 'x/2', bytes('old-2'));
    const store = createSqliteBlobStore({ basePath: base });
    await store.put('json', 'x/3', bytes('new-3'));
    expect(text(await store.get('json', 'x/1'))).toBe('old-1');
    expect((await store.head('json', 'x/2'))?.size).toBe(5);
    const keys: string[] = [];
    for await (const e of store.list('json', 'x/')) keys.push(e.key);
    expect(keys).toEqual(['x/1', 'x/2', 'x/3']);
    await expect(store.put('json', 'x/1', bytes('again'), { ifNoneMatch: true })).rejects.toBeInstanceOf(OptimisticLockError);
    await store.put('json', 'x/1', bytes('replaced'));
    expect(existsSync(join(base, 'json', 'x', '1'))).toBe(false);
    expect(text(await store.get('json', 'x/1'))).toBe('replaced');
    await store.delete('json', 'x/2');
    expect(await store.head('json', 'x/2')).toBeNull();
    await store.close();
  });

  it('a commit whose payload key exists (small row, large row, file) is refused with nothing written; commitMany refuses only that entry', async () => {
    const base = tmp();
    // a payload as a file (the older layout, or one over the inline limit), written before the store opens
    await createLocalBlobStore({ basePath: join(base, 'blobs') }).put('json', 'taken/file', bytes('f'));
    const { meta, blobs, close } = createLocalStorage({ basePath: base, inlineMaxBytes: 2048 });
    const ns = { dbName: 'db', collection: 'c' };
    await meta.ensureNamespace(ns);
    const big = 'b'.repeat(1500); // over the small-row size (896 bytes): a row of the other table
    await blobs.put('json', 'taken/small', bytes('s'));
    await blobs.put('json', 'taken/large', bytes(big));
    const commit = (id: string, key: string, body: string) => ({
      ns,
      version: { ...mkVersion(ns, id, 0), jsonKey: key },
      expectedOv: null,
      head: { createdAt: 1 },
      payloads: [{ role: 'json' as const, key, body: bytes(body) }],
    });
    for (const [id, key] of [
      ['r1', 'taken/small'],
      ['r2', 'taken/large'],
      ['r3', 'taken/file'],
    ] as const) {
      for (const body of ['x', big])
        await expect(meta.commit(commit(id, key, body)).then(() => `${key} ${body.length}: written`)).rejects.toBeInstanceOf(OptimisticLockError);
      expect(await meta.getHead(ns, id)).toBeNull();
    }
    expect(text(await blobs.get('json', 'taken/small'))).toBe('s');
    expect(text(await blobs.get('json', 'taken/large'))).toBe(big);
    const many = await meta.commitMany([
      commit('m1', 'free/1', 'one'),
      commit('m2', 'taken/large', 'two'),
      commit('m3', 'free/3', big),
      commit('m4', 'taken/small', big),
    ]);
    expect(many.map((r) => r.ok)).toEqual([true, false, true, false]);
    expect(many[1]!.ok === false && many[1]!.error).toBeInstanceOf(OptimisticLockError);
    expect((await meta.getHead(ns, 'm2')) ?? (await meta.getHead(ns, 'm4'))).toBeNull();
    expect(text(await blobs.get('json', 'free/1'))).toBe('one');
    expect(text(await blobs.get('json', 'free/3'))).toBe(big);
    expect(text(await blobs.get('json', 'taken/large'))).toBe(big);
    await close();
  });

  it('compact() moves small files of the older layout into SQLite; large ones stay; a dry run moves nothing', async () => {
    const base = tmp();
    const old = createLocalBlobStore({ basePath: base });
    for (let i = 0; i < 20; i++) await old.put('json', `db/c/id${i}/v0/item.json`, bytes(`{"i":${i}}`));
    await old.put('content', 'db/c/big.bin', new Uint8Array(100));
    const store = createSqliteBlobStore({ basePath: base, inlineMaxBytes: 64 });
    expect(await store.compact({ dryRun: true })).toEqual({ moved: 20, movedBytes: expect.any(Number), keptAsFiles: 1 });
    expect(existsSync(join(base, 'json', 'db'))).toBe(true);
    const r = await store.compact();
    expect(r.moved).toBe(20);
    expect(existsSync(join(base, 'json', 'db'))).toBe(false); // files and their folders are gone
    expect(readdirSync(join(base, 'content', 'db', 'c'))).toEqual(['big.bin']);
    for (let i = 0; i < 20; i++) expect(text(await store.get('json', `db/c/id${i}/v0/item.json`))).toBe(`{"i":${i}}`);
    expect((await store.compact()).moved).toBe(0);
    await store.close();
  });

  it('an engine over a folder of the older layout reads every record, and after compact()', async () => {
    const base = tmp();
    const ns = { dbName: 'up', collection: 'items' };
    // Written as before: SQLite metadata, every payload a file under <base>/<role>/.
    const meta0 = createLocalMetadataStore({ basePath: base });
    const files = createLocalBlobStore({ basePath: base });
    const e0 = new CollectionEngine({ ns, meta: meta0, blobs: files });
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) ids.push((await e0.create({ i })).id);
    await e0.update(ids[0]!, { i: 100 }, 0);
    await meta0.close();
    // Upgraded: the same folder through the SQLite blob store on the metadata file.
    const meta = createLocalMetadataStore({ basePath: base });
    const blobs = createSqliteBlobStore({ basePath: base, filename: join(base, METADATA_FILE), deferSync: true });
    const e = new CollectionEngine({ ns, meta, blobs });
    const read = async () => Promise.all(ids.map(async (id) => (await e.getLatest(id))?.i));
    const expected = ids.map((_, i) => (i === 0 ? 100 : i));
    expect(await read()).toEqual(expected);
    expect((await e.getVersion(ids[0]!, 0))?.i).toBe(0);
    const created = await e.create({ i: 'new' });
    expect((await e.getLatest(created.id))?.i).toBe('new');
    expect((await blobs.compact()).moved).toBe(11);
    expect(await read()).toEqual(expected);
    await meta.close();
    await blobs.close();
  });
});
