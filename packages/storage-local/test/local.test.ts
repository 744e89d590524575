import { spawn } from 'node:child_process';
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { compileFilter, type Namespace, type VersionDoc } from '@chronos-db/core';
import { UNSAFE_KEYS, mkVersion } from '@chronos-db/testkit';
import { createLocalBlobStore, createLocalMetadataStore, createLocalStorage, METADATA_FILE } from '@chronos-db/storage-local';
import { tmpDirs } from './helpers/tmp-dirs';

const tmp = tmpDirs('chronos-local-');

/** Every file and folder under `dir`, relative. */
function tree(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      out.push(`${rel}${e.name}${e.isDirectory() ? '/' : ''}`);
      if (e.isDirectory()) walk(join(d, e.name), `${rel}${e.name}/`);
    }
  };
  walk(dir, '');
  return out.sort();
}

const code = async (p: Promise<unknown>) =>
  p.then(
    () => 'resolved',
    (e: { code?: string }) => e.code,
  );

describe('LocalBlobStore on disk', () => {
  it('stores <basePath>/<bucketRole>/<key> and leaves no temp file', async () => {
    const base = tmp();
    const store = createLocalBlobStore({ basePath: base });
    await store.put('json', 'db/c/id1/v0/a1/item.json', new TextEncoder().encode('{"a":1}'));
    await store.put('content', 'db/c/p/id1/v0/a1/blob.bin', new Uint8Array([1, 2, 3]), { ifNoneMatch: true });
    expect(await code(store.put('content', 'db/c/p/id1/v0/a1/blob.bin', new Uint8Array([9]), { ifNoneMatch: true }))).toBe('OPTIMISTIC_LOCK');
    expect(tree(base)).toEqual([
      'content/',
      'content/db/',
      'content/db/c/',
      'content/db/c/p/',
      'content/db/c/p/id1/',
      'content/db/c/p/id1/v0/',
      'content/db/c/p/id1/v0/a1/',
      'content/db/c/p/id1/v0/a1/blob.bin',
      'json/',
      'json/db/',
      'json/db/c/',
      'json/db/c/id1/',
      'json/db/c/id1/v0/',
      'json/db/c/id1/v0/a1/',
      'json/db/c/id1/v0/a1/item.json',
    ]);
    // delete prunes empty folders but keeps the role folder
    await store.delete('json', 'db/c/id1/v0/a1/item.json');
    expect(tree(join(base, 'json'))).toEqual([]);
  });

  it('path escape attempts write nothing (files counted before and after)', async () => {
    const parent = tmp();
    const base = join(parent, 'store');
    const store = createLocalBlobStore({ basePath: base });
    await store.put('json', 'seed/x', new Uint8Array([1]));
    writeFileSync(join(parent, 'outside.txt'), 'untouched');
    const before = tree(parent);
    const body = new TextEncoder().encode('evil');
    const attempts = [
      ...UNSAFE_KEYS,
      '../outside.txt',
      '../../outside.txt',
      'seed/../../outside.txt',
      'seed/../../../tmp/x',
      '/tmp/evil',
      'seed/x/..',
      'seed/./x',
    ];
    for (const key of attempts) {
      for (const role of ['json', 'content', 'backups'] as const) {
        expect([key, await code(store.put(role, key, body))]).toEqual([key, 'VALIDATION']);
        expect([key, await code(store.put(role, key, body, { ifNoneMatch: true }))]).toEqual([key, 'VALIDATION']);
        expect([key, await code(store.delete(role, key))]).toEqual([key, 'VALIDATION']);
      }
    }
    for (const role of ['..', '../json', 'json/..', '', 'JSON', 'json/x']) {
      expect(await code(store.put(role as 'json', 'seed/y', body))).toBe('VALIDATION');
    }
    expect(tree(parent)).toEqual(before);
    expect(await store.head('json', 'seed/x')).toEqual({ size: 1, lastModified: expect.anything() });
  });

  it('a key used as a folder and as an object is a StorageError, not a crash', async () => {
    const store = createLocalBlobStore({ basePath: tmp() });
    await store.put('json', 'a/b', new Uint8Array([1]));
    expect(await code(store.put('json', 'a', new Uint8Array([2])))).toBe('STORAGE');
    expect(await code(store.put('json', 'a/b/c', new Uint8Array([3])))).toBe('STORAGE');
    expect(await code(store.get('json', 'a/b/c'))).toBe('NOT_FOUND');
    expect(Array.from(await store.get('json', 'a/b'))).toEqual([1]);
  });

  it('lists nothing but keys (temp and foreign files are ignored)', async () => {
    const base = tmp();
    const store = createLocalBlobStore({ basePath: base });
    await store.put('json', 'p/a', new Uint8Array([1]));
    writeFileSync(join(base, 'json', 'p', 'a~123.tmp'), 'partial');
    writeFileSync(join(base, 'json', 'p', 'with space'), 'foreign');
    const keys: string[] = [];
    for await (const e of store.list('json', 'p/')) keys.push(e.key);
    expect(keys).toEqual(['p/a']);
  });
});

describe('SqliteMetadataStore specifics', () => {
  const ns: Namespace = { dbName: 'local1', collection: 'items' };

  it('persists across close and reopen', async () => {
    const base = tmp();
    const a = createLocalMetadataStore({ basePath: base });
    await a.commit({ ns, version: mkVersion(ns, 'r1', 0), expectedOv: null, head: { createdAt: 1 } });
    await a.close();
    expect(statSync(join(base, METADATA_FILE)).isFile()).toBe(true);
    const b = createLocalMetadataStore({ basePath: base });
    expect((await b.getHead(ns, 'r1'))!.ov).toBe(0);
    expect(await b.currentCv(ns)).toBe(1);
    await b.close();
    expect(await code(b.getHead(ns, 'r1'))).toBe('STORAGE');
  });

  it('a commit failing inside its transaction leaves no trace (cv counter included)', async () => {
    const base = tmp();
    const s = createLocalMetadataStore({ basePath: base });
    await s.commit({ ns, version: mkVersion(ns, 'r1', 0), expectedOv: null, head: { createdAt: 1 } });
    const head = await s.getHead(ns, 'r1');
    // A stray row at (r1, ov 1) makes the version insert violate the unique key mid-transaction.
    const db = new Database(join(base, METADATA_FILE));
    db.prepare(
      "INSERT INTO chronos_versions_v2 (ns, item_id, ov, cv, at, request_id, doc) SELECT id, 'r1', 1, 99, 0, NULL, '{}' FROM chronos_ns WHERE db_name = ? AND tenant = '' AND collection = ?",
    ).run(ns.dbName, ns.collection);
    db.close();
    expect(await code(s.commit({ ns, version: mkVersion(ns, 'r1', 1), expectedOv: 0, head: { state: 'processed' } }))).toBe('OPTIMISTIC_LOCK');
    expect(await s.getHead(ns, 'r1')).toEqual(head);
    expect(await s.currentCv(ns)).toBe(1);
    await s.close();
  });

  it('filters bind values and refuse hostile fields', async () => {
    const s = createLocalMetadataStore({ filename: ':memory:' });
    await s.commit({ ns, version: mkVersion(ns, 'r1', 0, { metaIndexed: { name: 'x' } }), expectedOv: null, head: { createdAt: 1 } });
    const hostile = ["' OR 1=1 --", 'x" OR 1=1 --', "x') OR ('1'='1"];
    for (const v of hostile) expect(await s.queryHeads(ns, { limit: 10, filter: compileFilter({ name: v })! })).toEqual([]);
    expect(await s.queryHeads(ns, { limit: 10, filter: compileFilter({ name: 'x' })! })).toHaveLength(1);
    for (const field of ['name") OR 1=1 --', "a'b", 'a..b', '__proto__', '$where']) {
      expect(await code(s.queryHeads(ns, { limit: 10, filter: { op: 'eq', field, value: 1 } }))).toBe('VALIDATION');
    }
    expect(await code(s.queryHeads(ns, { limit: 10, filter: { op: 'eq', field: 'name', value: { $gt: '' } as never } }))).toBe('VALIDATION');
    expect(await code(s.queryHeads(ns, { limit: 10, filter: { op: 'where', field: 'name', value: 1 } as never }))).toBe('VALIDATION');
    await s.close();
  });

  it('compares strings in JavaScript order, as matchFilter does', async () => {
    const s = createLocalMetadataStore({ filename: ':memory:' });
    // U+FF5E sorts after U+1F600 in UTF-8 byte order but before it in UTF-16 code units (JS order).
    const vals = ['\u{FF5E}', '\u{1F600}', 'a'];
    for (const [i, v] of vals.entries())
      await s.commit({ ns, version: mkVersion(ns, `r${i}`, 0, { metaIndexed: { v } }), expectedOv: null, head: { createdAt: 1 } });
    const ids = async (f: unknown) => (await s.queryHeads(ns, { limit: 10, filter: compileFilter(f)! })).map((h) => h.itemId);
    expect(await ids({ v: { $gt: '\u{FF5E}' } })).toEqual('\u{1F600}' > '\u{FF5E}' ? ['r1'] : []);
    expect(await ids({ v: { $lt: '\u{FF5E}' } })).toEqual(['r1', 'r2'].filter((id) => vals[Number(id.slice(1))]! < '\u{FF5E}'));
    await s.close();
  });

  it('getVersion by at and by cv are index seeks', async () => {
    const base = tmp();
    const s = createLocalMetadataStore({ basePath: base });
    await s.commit({ ns, version: mkVersion(ns, 'r1', 0), expectedOv: null, head: { createdAt: 1 } });
    const db = new Database(join(base, METADATA_FILE), { readonly: true });
    const plan = (sql: string) => (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(1, 'i', 1) as Array<{ detail: string }>).map((r) => r.detail).join(' | ');
    const at = plan('SELECT doc FROM chronos_versions_v2 v WHERE ns = ? AND item_id = ? AND at <= ? ORDER BY at DESC, ov DESC LIMIT 1');
    const cv = plan('SELECT doc FROM chronos_versions_v2 v WHERE ns = ? AND item_id = ? AND cv <= ? ORDER BY cv DESC LIMIT 1');
    expect(at).toMatch(/SEARCH v USING INDEX chronos_versions_v2_at/);
    expect(cv).toMatch(/SEARCH v USING INDEX chronos_versions_v2_cv/);
    expect(`${at} ${cv}`).not.toMatch(/TEMP B-TREE|SCAN/);
    db.close();
    await s.close();
  });

  it('uses WAL mode', async () => {
    const base = tmp();
    const s = createLocalMetadataStore({ basePath: base });
    const db = new Database(join(base, METADATA_FILE), { readonly: true });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
    await s.close();
  });

  it('createLocalStorage gives one store for metadata and counters, and a blob store', async () => {
    const base = tmp();
    const { meta, blobs, close } = createLocalStorage({ basePath: base, inlineMaxBytes: 0 }); // every payload a file
    await meta.incrementCounters(ns, { field: 'created', rules: ['r'] });
    expect((await meta.getCounters(ns)).created).toBe(1);
    await blobs.put('json', 'x/y', new Uint8Array([7]));
    expect(statSync(join(base, 'blobs', 'json', 'x', 'y')).size).toBe(1);
    expect(statSync(join(base, METADATA_FILE)).isFile()).toBe(true);
    await close();
  });
});

describe('several processes on one database file', () => {
  const repoRoot = resolve(__dirname, '../../..');
  const writer = join(__dirname, 'fixtures', 'writer.ts');

  const startWriter = (args: string[]) => {
    const child = spawn(process.execPath, ['--import', 'tsx', writer, ...args], {
      cwd: repoRoot,
      env: { ...process.env, TSX_TSCONFIG_PATH: join(repoRoot, 'tsconfig.json') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => child.on('exit', (c, s) => res({ code: c, signal: s })));
    const line = (want: string) =>
      new Promise<void>((res, rej) => {
        const check = () => (out.includes(want) ? res() : undefined);
        child.stdout.on('data', check);
        child.on('exit', () => (out.includes(want) ? res() : rej(new Error(`writer exited before '${want}': ${err}`))));
        check();
      });
    return { child, exited, line, output: () => out, errors: () => err };
  };

  const checkChain = (versions: VersionDoc[]) => {
    expect(versions.map((v) => v.ov)).toEqual(versions.map((_, i) => i));
    for (let i = 1; i < versions.length; i++) expect(versions[i]!.cv).toBeGreaterThan(versions[i - 1]!.cv);
  };

  it('two child processes and this one race on one record: one winner per ov, gapless chain', async () => {
    const base = tmp();
    const filename = join(base, 'shared.sqlite');
    const s = createLocalMetadataStore({ filename });
    const nsx: Namespace = { dbName: 'multi', collection: 'race' };
    await s.commit({ ns: nsx, version: mkVersion(nsx, 'r1', 0), expectedOv: null, head: { createdAt: 1 } });
    const rounds = 40;
    const kids = [
      startWriter([filename, 'multi', 'race', 'r1', 'race', String(rounds)]),
      startWriter([filename, 'multi', 'race', 'r1', 'race', String(rounds)]),
    ];
    let myWins = 0;
    for (let i = 0; i < rounds; i++) {
      const head = await s.getHead(nsx, 'r1');
      const r = await s.commit({ ns: nsx, version: mkVersion(nsx, 'r1', head!.ov + 1), expectedOv: head!.ov, head: {} }).then(
        () => true,
        (e: { code?: string }) => {
          if (e.code !== 'OPTIMISTIC_LOCK') throw e;
          return false;
        },
      );
      if (r) myWins++;
    }
    const results = [];
    for (const k of kids) {
      const ex = await k.exited;
      expect({ code: ex.code, errors: k.errors() }).toEqual({ code: 0, errors: '' });
      results.push(JSON.parse(k.output().trim()) as { wins: number; losses: number });
    }
    for (const r of results) expect(r.wins + r.losses).toBe(rounds);
    const total = myWins + results.reduce((a, r) => a + r.wins, 0);
    const versions = await s.listVersions(nsx, 'r1');
    expect(versions).toHaveLength(total + 1);
    checkChain(versions);
    expect((await s.getHead(nsx, 'r1'))!.ov).toBe(total);
    expect(await s.currentCv(nsx)).toBe(versions[versions.length - 1]!.cv);
    await s.close();
  });

  it('a writer killed with SIGKILL mid-stream leaves a consistent database', async () => {
    const base = tmp();
    const filename = join(base, 'killed.sqlite');
    const nsx: Namespace = { dbName: 'multi', collection: 'kill' };
    const k = startWriter([filename, 'multi', 'kill', 'r1', 'forever']);
    await k.line('ready');
    // Let it run a little while this process also writes, then kill it at an arbitrary point.
    const s = createLocalMetadataStore({ filename });
    for (let i = 0; i < 20; i++) {
      const head = await s.getHead(nsx, 'r1');
      await s.commit({ ns: nsx, version: mkVersion(nsx, 'r1', head!.ov + 1), expectedOv: head!.ov, head: {} }).catch((e: { code?: string }) => {
        if (e.code !== 'OPTIMISTIC_LOCK') throw e;
      });
    }
    k.child.kill('SIGKILL');
    expect((await k.exited).signal).toBe('SIGKILL');
    const db = new Database(filename);
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    db.close();
    const versions = await s.listVersions(nsx, 'r1');
    checkChain(versions);
    const head = await s.getHead(nsx, 'r1');
    expect(head!.ov).toBe(versions.length - 1);
    expect(head!.jsonKey).toBe(versions[versions.length - 1]!.jsonKey);
    // the next write with the head's ov succeeds
    await s.commit({ ns: nsx, version: mkVersion(nsx, 'r1', head!.ov + 1), expectedOv: head!.ov, head: {} });
    expect((await s.getHead(nsx, 'r1'))!.ov).toBe(head!.ov + 1);
    await s.close();
  });
});
