/**
 * Issue 9, engine side: each test fails on the engine before its fix.
 * The user-facing ones go through the embedded default (initChronos with localStorage);
 * the fault-injection ones drive CollectionEngine over the same embedded stores (and, where
 * the point is store-specific, over FerretDB + Ceph) with wrappers around the real adapters.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import Database from 'better-sqlite3';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CollectionEngine,
  StorageError,
  ValidationError,
  jsonKey,
  newAttempt,
  type BlobStore,
  type CommitInput,
  type MetadataStore,
  type Namespace,
} from '@chronos-db/core';
import { createLocalStorage, METADATA_FILE, type LocalStorage } from '@chronos-db/storage-local';
import { createMongoMetadataStore } from '@chronos-db/storage-mongo';
import { createS3BlobStore } from '@chronos-db/storage-s3';
import { initChronos, type Chronos } from 'chronos-db';
import { describeServers, rnd, serverStoreSpec } from './helpers/servers.js';

const HOUR = 3600_000;

/**
 * Every payload a write leaves: files under dir (except SQLite files) and the
 * payload rows the embedded store keeps inside its SQLite file, as
 * `<path>:<size>` (rows as `<dir>/json/<key>`, the path the file would have).
 */
function files(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (!/\.(sqlite|db)(-wal|-shm|-journal)?$/.test(e.name)) out.push(`${p}:${statSync(p).size}`);
    }
  };
  walk(dir);
  for (const r of payloadRows(dir)) out.push(`${join(dir, r.role, ...r.key.split('/'))}:${r.size}`);
  return out.sort();
}

/** Payload rows of the embedded store's SQLite file (storage-local's SqliteBlobStore). */
function payloadRows(dir: string): { role: string; key: string; size: number; body: Buffer }[] {
  const file = join(dir, METADATA_FILE);
  if (!existsSync(file)) return [];
  const db = new Database(file, { readonly: true });
  try {
    // chronos_payloads: small rows; chronos_blobs: larger inline rows (and every row of the earlier layout)
    const tables = (
      db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('chronos_blobs', 'chronos_payloads')").all() as { name: string }[]
    ).map((r) => r.name);
    return tables.flatMap((t) => db.prepare(`SELECT role, key, size, body FROM ${t}`).all() as { role: string; key: string; size: number; body: Buffer }[]);
  } finally {
    db.close();
  }
}

/** The stored payload at `<dir>/<role>/<key>` (a file, or a row of the SQLite file). */
function readStored(dir: string, path: string): string {
  const row = payloadRows(dir).find((r) => join(dir, r.role, ...r.key.split('/')) === path);
  return row ? row.body.toString('utf8') : readFileSync(path, 'utf8');
}

/** A proxy of a store with some methods replaced (or removed with `undefined`). */
function wrap<T extends object>(target: T, over: Partial<Record<keyof T, unknown>>): T {
  return new Proxy(target, {
    get(t, p, r) {
      if (Object.hasOwn(over, p)) return (over as Record<string | symbol, unknown>)[p];
      const v = Reflect.get(t, p, r);
      return typeof v === 'function' ? v.bind(t) : v;
    },
  });
}

async function keysUnder(blobs: BlobStore, bucket: 'json' | 'content', prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of blobs.list(bucket, prefix)) out.push(e.key);
  return out.sort();
}

async function committedJsonKeys(meta: MetadataStore, ns: Namespace, id: string): Promise<string[]> {
  return [...new Set((await meta.listVersions(ns, id)).map((v) => v.jsonKey))].sort();
}

describe('hardening (issue 9): the embedded default', () => {
  let dir: string;
  let chronos: Chronos;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'chronos-harden-'));
    chronos = initChronos({
      localStorage: { enabled: true, basePath: dir },
      collectionMaps: { people: { indexedProps: ['email', 'profile'] } },
    });
  });
  afterAll(async () => {
    await chronos.admin.shutdown();
    rmSync(dir, { recursive: true, force: true });
  });
  const coll = (collection: string) => chronos.with({ dbName: 'harden', collection });

  describe('smartInsert', () => {
    it('a null, undefined or missing unique-key value is a ValidationError and writes nothing', async () => {
      const users = coll('si_null');
      await users.create({ name: 'no email here' });
      const before = files(dir);
      for (const data of [{ email: null, name: 'a' }, { email: undefined, name: 'b' }, { name: 'c' }]) {
        const err = await users.smartInsert(data, { uniqueKeys: ['email'] }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(ValidationError);
        expect((err as Error).message).toContain('email');
      }
      expect(files(dir)).toEqual(before);
      expect((await users.query({})).items).toHaveLength(1);
    });

    it('many concurrent callers with the same keys: exactly one creates, the others merge into it', async () => {
      const users = coll('si_race');
      const rs = await Promise.all(
        Array.from({ length: 12 }, (_, i) => users.smartInsert({ email: 'race@example.com', [`f${i}`]: i }, { uniqueKeys: ['email'] })),
      );
      expect(rs.filter((r) => r.created)).toHaveLength(1);
      expect(new Set(rs.map((r) => r.id)).size).toBe(1);
      const latest = await users.getLatest(rs[0]!.id);
      for (let i = 0; i < 12; i++) expect(latest![`f${i}`]).toBe(i);
      expect((await users.history(rs[0]!.id, { limit: 100 })).items).toHaveLength(12);
    });

    it('when the record holding the derived id had its keys changed: a new record is created (no spinning), concurrent callers still converge', async () => {
      const users = coll('si_moved');
      const first = await users.smartInsert({ email: 'old@example.com', n: 1 }, { uniqueKeys: ['email'] });
      await users.update(first.id, { email: 'new@example.com', n: 1 });
      const again = await users.smartInsert({ email: 'old@example.com', n: 2 }, { uniqueKeys: ['email'] });
      expect(again.created).toBe(true);
      expect(again.id).not.toBe(first.id);
      expect(await users.getLatest(first.id)).toMatchObject({ email: 'new@example.com', n: 1 });
      const merged = await users.smartInsert({ email: 'old@example.com', m: 3 }, { uniqueKeys: ['email'] });
      expect(merged).toMatchObject({ id: again.id, created: false });

      // the same case under a race: the record of the second id moves away too
      await users.update(again.id, { email: 'newer@example.com' });
      const rs = await Promise.all(Array.from({ length: 8 }, (_, i) => users.smartInsert({ email: 'old@example.com', k: i }, { uniqueKeys: ['email'] })));
      expect(rs.filter((r) => r.created)).toHaveLength(1);
      const ids = new Set(rs.map((r) => r.id));
      expect(ids.size).toBe(1);
      expect([...ids][0]).not.toBe(first.id);
      expect([...ids][0]).not.toBe(again.id);
      expect((await users.query({ email: 'old@example.com' })).items).toHaveLength(1);
    });

    it('a deleted record holding the derived id is revived (same id, history kept)', async () => {
      const users = coll('si_revive');
      const a = await users.smartInsert({ email: 'gone@example.com', v: 1 }, { uniqueKeys: ['email'] });
      await users.delete(a.id);
      const b = await users.smartInsert({ email: 'gone@example.com', v: 2 }, { uniqueKeys: ['email'] });
      expect(b).toMatchObject({ id: a.id, created: true, ov: 2 });
      expect(await users.getLatest(a.id)).toMatchObject({ v: 2 });
    });
  });

  describe('_system.state', () => {
    it('new after every write, processed only until the next version; stored payloads say new-not-synched', async () => {
      const items = coll('state');
      const { id } = await items.create({ v: 0 });
      expect((await items.getLatest(id))!._system.state).toBe('new');
      await chronos.admin.markItemAsProcessed({ dbName: 'harden', collection: 'state' }, id, { confirm: true });
      expect((await items.getLatest(id))!._system.state).toBe('processed');
      await items.update(id, { v: 1 });
      expect((await items.getLatest(id))!._system.state).toBe('new');
      await chronos.admin.markItemAsProcessed({ dbName: 'harden', collection: 'state' }, id, { confirm: true });
      await items.enrich(id, { w: 1 });
      expect((await items.getLatest(id))!._system.state).toBe('new');
      await chronos.admin.markItemAsProcessed({ dbName: 'harden', collection: 'state' }, id, { confirm: true });
      await items.delete(id);
      expect((await items.getLatest(id, { includeDeleted: true }))!._system.state).toBe('new');
      // a past version shows `new`; the payload object as stored was written before its commit
      expect((await items.getVersion(id, 0))!._system.state).toBe('new');
      const stored = files(dir)
        .map((f) => f.slice(0, f.lastIndexOf(':')))
        .filter((f) => f.includes(`${join('json', 'harden')}`) && f.includes(id));
      expect(stored.length).toBeGreaterThanOrEqual(3);
      for (const f of stored) expect(JSON.parse(readStored(dir, f))._system.state).toBe('new-not-synched');
    });
  });

  describe('no silent changes to what the user gave', () => {
    it('_system and _meta in a new payload are a ValidationError naming the key; nothing is written', async () => {
      const items = coll('reserved');
      const before = files(dir);
      for (const [data, key] of [
        [{ a: 1, _system: { state: 'processed' } }, '_system'],
        [{ a: 1, _meta: { ov: 7 } }, '_meta'],
        [{ a: 1, id: 'mine' }, 'id'],
      ] as const) {
        const err = await items.create(data).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(ValidationError);
        expect((err as Error).message).toContain(`data.${key}`);
        const si = await items.smartInsert({ ...data, k: 'x' }, { uniqueKeys: ['k'] }).catch((e: unknown) => e);
        expect(si).toBeInstanceOf(ValidationError);
      }
      expect(files(dir)).toEqual(before);
    });

    it('id: equal to the record written is accepted (create { id }, a record read and written back); any other id is a ValidationError', async () => {
      const items = coll('reserved_id');
      const c = await items.create({ id: 'fixed-1', a: 1 }, undefined, undefined, { id: 'fixed-1' });
      expect(c.id).toBe('fixed-1');
      const read = (await items.getLatest('fixed-1', { includeMeta: true }))!;
      const u = await items.update('fixed-1', { ...read, a: 2 });
      expect(u.ov).toBe(1);
      const after = (await items.getLatest('fixed-1'))!;
      expect(after).toMatchObject({ id: 'fixed-1', a: 2 });
      expect(Object.keys(after).sort()).toEqual(['_system', 'a', 'id']);
      await expect(items.update('fixed-1', { id: 'other', a: 3 })).rejects.toThrow(/data\.id .*differs/);
      await expect(items.enrich('fixed-1', { id: 'other' })).rejects.toBeInstanceOf(ValidationError);
      await expect(items.update('fixed-1', { a: 3, _system: 'processed' })).rejects.toThrow(/data\._system/);
      await expect(items.create({ id: 'x', a: 1 }, undefined, undefined, { id: 'y' })).rejects.toBeInstanceOf(ValidationError);
      expect((await items.history('fixed-1', { limit: 100 })).items).toHaveLength(2);
    });

    it('a dotted filter key that could never match is a ValidationError naming it; into an indexed object it works', async () => {
      const flat = coll('dotted');
      await flat.create({ email: 'a@example.com' });
      const err = await flat.query({ 'email.x': 1 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as Error).message).toContain("'email.x'");
      const people = coll('people');
      await people.create({ email: 'p@example.com', profile: { city: 'Oslo' } });
      await people.create({ email: 'q@example.com', profile: { city: 'Rome' } });
      const found = await people.query({ 'profile.city': 'Oslo' });
      expect(found.items.map((r) => r.email)).toEqual(['p@example.com']);
    });

    it('a Date comes back as its ISO string (documented)', async () => {
      const items = coll('dates');
      const when = new Date('2024-01-02T03:04:05.678Z');
      const { id } = await items.create({ when, nested: { at: when } });
      const r = (await items.getLatest(id))!;
      expect(r.when).toBe('2024-01-02T03:04:05.678Z');
      expect(r.nested).toEqual({ at: '2024-01-02T03:04:05.678Z' });
    });
  });

  describe('collectGarbage', () => {
    it('graceMs below twice the operation timeout is a ValidationError', async () => {
      const items = coll('gc_floor');
      await items.create({ a: 1 });
      for (const graceMs of [0, 1000, 59_999]) await expect(items.collectGarbage({ graceMs, dryRun: true })).rejects.toThrow(/at least 60000 ms/);
      await expect(items.collectGarbage({ graceMs: 60_000, dryRun: true })).resolves.toMatchObject({ removed: 0 });
    });

    it('the floor follows the configured operationTimeoutMs, in chronos.with and admin.gc alike', async () => {
      const d = mkdtempSync(join(tmpdir(), 'chronos-harden-gc-'));
      const c = initChronos({ localStorage: { enabled: true, basePath: d }, operationTimeoutMs: 45_000 });
      try {
        const ctx = { dbName: 'harden', collection: 'gc_cfg' };
        await c.with(ctx).create({ a: 1 });
        await expect(c.with(ctx).collectGarbage({ graceMs: 60_000 })).rejects.toThrow(/at least 90000 ms/);
        await expect(c.admin.gc(ctx, { graceMs: 89_999, confirm: true })).rejects.toBeInstanceOf(ValidationError);
        await expect(c.admin.gc(ctx, { graceMs: 90_000, confirm: true })).resolves.toMatchObject({ scanned: 1, removed: 0 });
      } finally {
        await c.admin.shutdown();
        rmSync(d, { recursive: true, force: true });
      }
    });
  });
});

describe('hardening (issue 9): engine over the embedded stores with fault injection', () => {
  let dir: string;
  let storage: LocalStorage;
  /** Every payload a file (inline limit 0): the PUT-before-commit path, whose lost attempts leave objects. */
  let files: LocalStorage;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'chronos-harden-fi-'));
    storage = createLocalStorage({ basePath: dir });
    files = createLocalStorage({ basePath: join(dir, 'files'), inlineMaxBytes: 0 });
  });
  afterAll(async () => {
    await storage.close();
    await files.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const ns = (collection: string): Namespace => ({ dbName: 'fi', collection });
  lostWriteCases(() => files);
  gcCases(() => storage, 1200);

  it('payloads written by the commit (the embedded default): a refused commit writes none, so there is nothing to remove', async () => {
    const n = ns(`inline_lost_${rnd()}`);
    const plain = new CollectionEngine({ ns: n, meta: storage.meta, blobs: storage.blobs });
    const { id } = await plain.create({ n: 0 });
    const before = await keysUnder(storage.blobs, 'json', 'fi/');
    let raced = false;
    const meta = wrap<MetadataStore>(storage.meta, {
      commit: async (input: CommitInput) => {
        if (!raced && input.expectedOv !== null) {
          raced = true;
          expect(input.payloads?.map((p) => p.role)).toEqual(['json']); // handed to the commit, not PUT before it
          await plain.update(id, { n: 99 });
        }
        return storage.meta.commit(input);
      },
    });
    const engine = new CollectionEngine({ ns: n, meta, blobs: storage.blobs });
    expect((await engine.update(id, { n: 1 })).ov).toBe(2);
    expect(engine.stats()).toEqual({ lostWriteObjectsRemoved: 0, lostWriteObjectsLeft: 0 });
    const after = await keysUnder(storage.blobs, 'json', 'fi/');
    // the rival's version and the retry's, nothing of the refused attempt
    const committed = (await committedJsonKeys(storage.meta, n, id)).filter((k) => !before.includes(k));
    expect(committed).toHaveLength(2);
    expect(after.filter((k) => !before.includes(k))).toEqual(committed);
  });

  it('restoreCollection: on the first error the other workers commit nothing more; the error says how far it got and that a rerun resumes', async () => {
    const n = ns('restore_stop');
    const plain = new CollectionEngine({ ns: n, meta: storage.meta, blobs: storage.blobs });
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) ids.push((await plain.create({ v: 0, i })).id);
    const target = await storage.meta.currentCv(n);
    for (const id of ids) await plain.update(id, { v: 1 });
    let commits = 0;
    let failed = false;
    let startedAfterFailure = 0;
    const meta = wrap<MetadataStore>(storage.meta, {
      commitMany: undefined, // the per-record path (the one whose workers ran on after an error)
      commit: async (input: CommitInput) => {
        const k = commits++;
        if (failed) startedAfterFailure++;
        // every commit waits a macrotask: the other workers are inside theirs when #5 fails
        await new Promise((r) => setImmediate(r));
        if (k === 5) {
          failed = true;
          throw new StorageError('injected: the metadata store went away');
        }
        return storage.meta.commit(input);
      },
    });
    const engine = new CollectionEngine({ ns: n, meta, blobs: storage.blobs });
    const err = (await engine.restoreCollection({ cv: target }, { parallel: 4, pageSize: 10 }).catch((e: unknown) => e)) as StorageError;
    expect(err).toBeInstanceOf(StorageError);
    expect(err.message).toMatch(/injected/);
    expect(err.message).toMatch(/run it again with the same target to resume/);
    const m = /after restoring (\d+) of (\d+) planned records/.exec(err.message);
    expect(m).not.toBeNull();
    const restored = Number(m![1]);
    expect(restored).toBe(commits - 1); // every commit but the failed one landed, and is counted
    expect(err.details).toMatchObject({ restore: { restored, resumable: true } });
    await new Promise((r) => setTimeout(r, 200)); // a worker still running would have committed by now
    expect(startedAfterFailure).toBe(0);
    expect(commits).toBeLessThan(10);
    // a rerun resumes: what was restored is skipped, the rest is restored
    const again = await plain.restoreCollection({ cv: target }, { parallel: 4, pageSize: 10 });
    expect(again).toMatchObject({ scanned: 40, restored: 40 - restored });
    for (const id of ids) expect(await plain.getLatest(id)).toMatchObject({ v: 0 });
  });
});

describeServers('hardening (issue 9): FerretDB + Ceph RGW', (env) => {
  let meta: ReturnType<typeof createMongoMetadataStore>;
  let blobs: ReturnType<typeof createS3BlobStore>;
  beforeAll(async () => {
    const { mongoUri, s3 } = await serverStoreSpec(env, 'harden');
    meta = createMongoMetadataStore({ uri: mongoUri });
    blobs = createS3BlobStore(s3);
  });
  afterAll(async () => {
    await meta?.close();
    await blobs?.close();
  });
  lostWriteCases(() => ({ meta, blobs }), `harden_${rnd()}`);
  gcCases(() => ({ meta, blobs }), 650, `harden_${rnd()}`);
});

/** Item 4: a write attempt whose commit was refused deletes its own payload and blobs. */
function lostWriteCases(stores: () => { meta: MetadataStore; blobs: BlobStore }, dbName = 'fi') {
  const map = { indexedProps: ['n'], base64Props: { file: { contentType: 'application/octet-stream' } } };
  /** An engine whose first commit of record `id` first lets a competing update land. */
  const racing = (n: Namespace, id: () => string, blobs?: BlobStore) => {
    const { meta } = stores();
    const rival = new CollectionEngine({ ns: n, meta, blobs: stores().blobs, map });
    let raced = false;
    const wrapped = wrap(meta, {
      commit: async (input: CommitInput) => {
        if (!raced && input.version.itemId === id() && input.expectedOv !== null) {
          raced = true;
          await rival.update(id(), { n: 99, file: Buffer.from('rival').toString('base64') });
        }
        return meta.commit(input);
      },
    });
    return new CollectionEngine({ ns: n, meta: wrapped, blobs: blobs ?? stores().blobs, map });
  };

  it('a lost attempt (commit refused) deletes its own payload and blobs; the retry wins; nothing is left behind', async () => {
    const n: Namespace = { dbName, collection: `lost_${rnd()}` };
    const { meta, blobs } = stores();
    const plain = new CollectionEngine({ ns: n, meta, blobs, map });
    const { id } = await plain.create({ n: 0 });
    const engine = racing(n, () => id);
    const r = await engine.update(id, { n: 1, file: Buffer.from('mine').toString('base64') });
    expect(r.ov).toBe(2); // the rival took ov 1, this write retried on top of it
    expect(engine.stats()).toEqual({ lostWriteObjectsRemoved: 2, lostWriteObjectsLeft: 0 });
    const prefix = `${dbName}/`;
    expect((await keysUnder(blobs, 'json', prefix)).filter((k) => k.includes(id))).toEqual(await committedJsonKeys(meta, n, id));
    const versions = await meta.listVersions(n, id);
    const referenced = versions.flatMap((v) => Object.values(v.blobs ?? {}).map((b) => b.key));
    expect((await keysUnder(blobs, 'content', prefix)).filter((k) => k.includes(id)).sort()).toEqual([...new Set(referenced)].sort());
  });

  it('what a lost attempt cannot delete is counted (stats) and left for collectGarbage', async () => {
    const n: Namespace = { dbName, collection: `lostfail_${rnd()}` };
    const { meta, blobs } = stores();
    const plain = new CollectionEngine({ ns: n, meta, blobs, map });
    const { id } = await plain.create({ n: 0 });
    const failing = wrap(blobs, {
      delete: async () => {
        throw new StorageError('injected: delete refused');
      },
    });
    const engine = racing(n, () => id, failing);
    await engine.update(id, { n: 1 });
    expect(engine.stats()).toEqual({ lostWriteObjectsRemoved: 0, lostWriteObjectsLeft: 1 });
    const jsonKeys = (await keysUnder(blobs, 'json', `${dbName}/`)).filter((k) => k.includes(id));
    expect(jsonKeys).toHaveLength((await committedJsonKeys(meta, n, id)).length + 1);
  });

  it('a commit whose outcome is unknown (an error that is not a refusal) deletes nothing', async () => {
    const n: Namespace = { dbName, collection: `unknown_${rnd()}` };
    const { meta, blobs } = stores();
    const landedThenLost = wrap(meta, {
      commit: async (input: CommitInput) => {
        await meta.commit(input);
        throw new StorageError('injected: the reply was lost');
      },
    });
    const engine = new CollectionEngine({ ns: n, meta: landedThenLost, blobs, map });
    await expect(engine.create({ n: 1 }, undefined, undefined, { id: 'u1' })).rejects.toBeInstanceOf(StorageError);
    expect(engine.stats()).toEqual({ lostWriteObjectsRemoved: 0, lostWriteObjectsLeft: 0 });
    const reader = new CollectionEngine({ ns: n, meta, blobs, map });
    expect(await reader.getLatest('u1')).toMatchObject({ n: 1 });
  });
}

/** Item 3: GC streams and batches its lookups; the grace floor holds. */
function gcCases(stores: () => { meta: MetadataStore; blobs: BlobStore }, orphans: number, dbName = 'fi') {
  it(`collectGarbage over ${orphans} orphans: batched lookups (findVersions, or getVersion per key without it), a count and a bounded sample`, async () => {
    const n: Namespace = { dbName, collection: `gc_${rnd()}` };
    const { meta, blobs } = stores();
    const plain = new CollectionEngine({ ns: n, meta, blobs });
    const kept: string[] = [];
    for (let i = 0; i < 5; i++) kept.push((await plain.create({ i })).id);
    await plain.update(kept[0]!, { i: 100 });
    // orphans: payloads of attempts that never committed (unknown records, and a lost attempt on a kept one)
    const body = Buffer.from('{"orphan":true}');
    const orphanKeys = Array.from({ length: orphans }, (_, i) =>
      i === 0 ? jsonKey(n, kept[1]!, 0, newAttempt()) : jsonKey(n, `orphan-${i}`, i % 3, newAttempt()),
    );
    for (let i = 0; i < orphanKeys.length; i += 25) await Promise.all(orphanKeys.slice(i, i + 25).map((k) => blobs.put('json', k, body)));
    const calls = { findVersions: 0, refs: 0, getVersion: 0 };
    const counted = wrap(meta, {
      findVersions: async (ns: Namespace, refs: Array<{ itemId: string; ov: number }>) => {
        calls.findVersions++;
        calls.refs = Math.max(calls.refs, refs.length);
        return meta.findVersions!(ns, refs);
      },
      getVersion: async (...a: Parameters<MetadataStore['getVersion']>) => {
        calls.getVersion++;
        return meta.getVersion(...a);
      },
    });
    // the collector's clock runs ahead, so that everything is older than the grace period
    const collector = new CollectionEngine({ ns: n, meta: counted, blobs, clock: () => Date.now() + HOUR });
    const dry = await collector.collectGarbage({ graceMs: 60_000, dryRun: true });
    expect(dry.removed).toBe(orphans);
    expect(dry.scanned).toBe(orphans + 6);
    expect(dry.removedSample).toHaveLength(20);
    expect(calls.getVersion).toBe(0);
    expect(calls.findVersions).toBe(Math.ceil((orphans + 6) / 500));
    expect(calls.refs).toBeLessThanOrEqual(500);
    const res = await collector.collectGarbage({ graceMs: 60_000 });
    expect(res.removed).toBe(orphans);
    expect(await keysUnder(blobs, 'json', `${dbName}/`).then((ks) => ks.filter((k) => orphanKeys.includes(k)))).toEqual([]);
    for (const id of kept) expect(await plain.getLatest(id)).not.toBeNull();
    expect(await plain.getVersion(kept[0]!, 0)).toMatchObject({ i: 0 });
    // without the batched port method: one getVersion per key, same result
    const perKey = new CollectionEngine({ ns: n, meta: wrap(meta, { findVersions: undefined }), blobs, clock: () => Date.now() + HOUR });
    await blobs.put('json', jsonKey(n, 'late-orphan', 0, newAttempt()), body);
    expect(await perKey.collectGarbage({ graceMs: 60_000 })).toEqual({ scanned: 7, removed: 1, removedSample: [expect.stringContaining('late-orphan')] });
    expect(await perKey.collectGarbage({ graceMs: 60_000 })).toEqual({ scanned: 6, removed: 0 });
  });
}
