/**
 * The non-transactional commit protocol against a real server (FerretDB):
 * T5 races, commands per operation, crashes between protocol steps (in
 * process and with a SIGKILLed child process).
 */
import { fork } from 'node:child_process';
import path from 'node:path';
import { MongoClient } from 'mongodb';
import { compileFilter, OptimisticLockError, type CommitInput, type Namespace, type VersionDoc } from '@chronos-db/core';
import { countCommands, createMongoMetadataStore, type CommitStep, type MongoMetadataStore } from '@chronos-db/storage-mongo';
import { describeMongo, MONGO_URL, rand } from './helpers/env';
import { mkVersion } from './helpers/versions';

const ROOT = path.resolve(__dirname, '../../..');

const freshNs = (): Namespace => ({ dbName: `ck_${rand(10)}`, collection: `p${rand(8)}` });
const codeOf = (e: unknown) => (e as { code?: string }).code;

describeMongo('storage-mongo commit protocol (FerretDB, no transactions)', () => {
  let client: MongoClient;
  let store: MongoMetadataStore;

  beforeAll(async () => {
    client = new MongoClient(MONGO_URL!, { monitorCommands: true });
    store = createMongoMetadataStore({ client });
  });
  afterAll(async () => {
    await store.close();
    await client.close();
  });

  const create = (ns: Namespace, id: string, extra: Partial<VersionDoc> = {}) =>
    store.commit({ ns, version: mkVersion(id, 0, extra), expectedOv: null, head: { createdAt: 1 } });
  const update = (ns: Namespace, id: string, expectedOv: number, extra: Partial<VersionDoc> = {}) =>
    store.commit({ ns, version: mkVersion(id, expectedOv + 1, extra), expectedOv, head: {} });

  it('detects no transactions on FerretDB (hello has no setName / isdbgrid)', async () => {
    expect(await store.detectTransactions()).toBe(false);
    expect(store.capabilities.transactions).toBe(false);
    const hello = await client.db('admin').command({ hello: 1 });
    expect(hello.setName).toBeUndefined();
    expect(hello.msg).toBeUndefined();
  });

  it('uses at most 5 commands per create and per update (4, 5, and 4 with prev, measured, the erasure look included; 3 awaited)', async () => {
    const ns = freshNs();
    await store.ensureNamespace(ns);
    await create(ns, 'warm'); // first commit of a namespace in this process reads the max cv once
    await store.settle();
    const counter = countCommands(client);
    const perCreate: number[] = [];
    const perUpdate: number[] = [];
    const perUpdatePrev: number[] = [];
    const awaitedCreate: number[] = [];
    for (let i = 0; i < 5; i++) {
      counter.reset();
      const { cv } = await create(ns, `r${i}`);
      awaitedCreate.push(counter.commands); // the `_h` clear may still be in flight
      await store.settle();
      perCreate.push(counter.commands);
      counter.reset();
      const u = await update(ns, `r${i}`, 0);
      await store.settle();
      perUpdate.push(counter.commands);
      counter.reset();
      await store.commit({ ns, version: mkVersion(`r${i}`, 2), expectedOv: 1, head: {}, prev: { cv: u.cv, createdAt: 1 } });
      await store.settle();
      perUpdatePrev.push(counter.commands);
      expect(cv).toBeLessThan(u.cv);
    }
    // eslint-disable-next-line no-console
    console.log(
      `[storage-mongo] commands per create: ${perCreate.join(',')} (awaited before returning: ${awaitedCreate.join(',')}); per update: ${perUpdate.join(',')}; with prev: ${perUpdatePrev.join(',')}`,
    );
    // each commit looks for an erasure tombstone after its writes (lifecycle.ts): one command more
    for (const n of [...perCreate, ...perUpdate, ...perUpdatePrev]) expect(n).toBeLessThanOrEqual(5);
    expect(Math.max(...perCreate)).toBe(4);
    expect(Math.max(...perUpdate)).toBe(5);
    expect(Math.max(...perUpdatePrev)).toBe(4);
    for (const n of awaitedCreate) expect(n).toBeGreaterThanOrEqual(3);
    for (let i = 0; i < 5; i++) expect((await store.getVersion(ns, `r${i}`, { ov: 2 }))!.cv).toBeGreaterThan(0);
    // every pending flag is cleared once the background work settled
    const flagged = await client.db(ns.dbName).collection(`${ns.collection}_ver`).countDocuments({ _h: true });
    expect(flagged).toBe(0);
    counter.reset();
    await store.getVersion(ns, 'r0', { ov: 1 });
    expect(counter.commands).toBe(1);
    counter.reset();
    await store.getVersion(ns, 'r0', { at: Date.now() });
    const asOf = counter.commands;
    counter.reset();
    await store.getHead(ns, 'r0');
    const head = counter.commands;
    // eslint-disable-next-line no-console
    console.log(`[storage-mongo] commands per getVersion(at): ${asOf}; per getHead: ${head}`);
    expect(asOf).toBeLessThanOrEqual(3);
    expect(head).toBeLessThanOrEqual(2);
  });

  it('erasure: false (initChronos without hardDeleteEnabled) drops the tombstone look: 3 commands per create, 4 per update; no erasedIds; beginErasure refused', async () => {
    const lean = createMongoMetadataStore({ client, erasure: false });
    const ns = freshNs();
    await lean.ensureNamespace(ns);
    await lean.commit({ ns, version: mkVersion('warm', 0), expectedOv: null, head: { createdAt: 1 } });
    await lean.settle();
    const counter = countCommands(client);
    const perCreate: number[] = [];
    const perUpdate: number[] = [];
    for (let i = 0; i < 3; i++) {
      counter.reset();
      await lean.commit({ ns, version: mkVersion(`e${i}`, 0), expectedOv: null, head: { createdAt: 1 } });
      await lean.settle();
      perCreate.push(counter.commands);
      counter.reset();
      await lean.commit({ ns, version: mkVersion(`e${i}`, 1), expectedOv: 0, head: {} });
      await lean.settle();
      perUpdate.push(counter.commands);
    }
    expect(Math.max(...perCreate)).toBe(3);
    expect(Math.max(...perUpdate)).toBe(4);
    expect(lean.erasedIds).toBeUndefined();
    await expect(lean.beginErasure!(ns, { itemId: 'e0', at: Date.now() })).rejects.toMatchObject({ code: 'VALIDATION' });
    expect(await client.db(ns.dbName).collection(`${ns.collection}_erasures`).countDocuments({})).toBe(0);
    expect((await lean.getHead(ns, 'e0'))!.ov).toBe(1);
  });

  it('an update whose metadata has the old values under other keys reaches the head (FerretDB $set quirk)', async () => {
    const ns = freshNs();
    const blob = { key: 'k/b.bin', size: 1, sha256: 'd'.repeat(64), contentType: 'text/plain' };
    await create(ns, 'q', { metaIndexed: { n: 0, s: 'x' }, blobs: { 'a.b': blob } });
    await update(ns, 'q', 0, { metaIndexed: { racer: 0, t: 'x' }, blobs: { c: blob } });
    const head = await store.getHead(ns, 'q');
    expect(head!.metaIndexed).toEqual({ racer: 0, t: 'x' });
    expect(head!.blobs).toEqual({ c: blob });
    const hits = await store.queryHeads(ns, { limit: 10, filter: compileFilter({ racer: 0 })! });
    expect(hits.map((h) => [h.itemId, h.metaIndexed])).toEqual([['q', { racer: 0, t: 'x' }]]);
    expect(await store.queryHeads(ns, { limit: 10, filter: compileFilter({ n: 0 })! })).toEqual([]);
  });

  it('T5: 16 racers x 50 rounds on one record: one winner per round, final ov 50, gapless chain, winners intact', async () => {
    const ns = freshNs();
    await store.ensureNamespace(ns);
    await create(ns, 'hot');
    const winners: Omit<VersionDoc, 'cv'>[] = [];
    for (let round = 0; round < 50; round++) {
      const versions = Array.from({ length: 16 }, (_, i) => mkVersion('hot', round + 1, { metaIndexed: { round, racer: i } }));
      const results = await Promise.allSettled(versions.map((version) => store.commit({ ns, version, expectedOv: round, head: {} })));
      const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
      expect(won).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect(codeOf(r.reason)).toBe('OPTIMISTIC_LOCK');
      winners.push(versions[won[0]!]!);
    }
    const head = await store.getHead(ns, 'hot');
    expect(head!.ov).toBe(50);
    const chain = await store.listVersions(ns, 'hot', { limit: 1000 });
    expect(chain.map((v) => v.ov)).toEqual(Array.from({ length: 51 }, (_, i) => i));
    for (let i = 1; i < chain.length; i++) expect(chain[i]!.cv).toBeGreaterThan(chain[i - 1]!.cv);
    for (const w of winners) {
      const v = chain[w.ov]!;
      expect(v.jsonKey).toBe(w.jsonKey);
      expect(v.metaIndexed).toEqual(w.metaIndexed);
    }
    expect(head!.jsonKey).toBe(winners[49]!.jsonKey);
  });

  it('a head read by one process is current after another process moved it, and after a commit of its own was interrupted', async () => {
    const ns = freshNs();
    const other = new MongoClient(MONGO_URL!);
    const b = createMongoMetadataStore({ client: other });
    const crashing = createMongoMetadataStore({
      client: other,
      onCommitStep: (step) => {
        if (step === 'version') throw new Error('simulated crash');
      },
    });
    try {
      await create(ns, 'g');
      expect((await store.getHead(ns, 'g'))!.ov).toBe(0); // this process now expects ov 0
      await b.commit({ ns, version: mkVersion('g', 1), expectedOv: 0, head: {} });
      await b.commit({ ns, version: mkVersion('g', 2, { metaIndexed: { v: 2 } }), expectedOv: 1, head: {} });
      expect(await store.getHead(ns, 'g')).toMatchObject({ ov: 2, metaIndexed: { v: 2 } });
      await expect(crashing.commit({ ns, version: mkVersion('g', 3, { metaIndexed: { v: 3 } }), expectedOv: 2, head: {} })).rejects.toThrow('simulated crash');
      expect(await store.getHead(ns, 'g')).toMatchObject({ ov: 3, metaIndexed: { v: 3 } });
      expect(await b.getHead(ns, 'g')).toMatchObject({ ov: 3 });
    } finally {
      await b.close();
      await other.close();
    }
  });

  it('racers on separate clients (separate cv hints, like separate processes) still get one winner and distinct increasing cvs', async () => {
    const ns = freshNs();
    const clients = await Promise.all(Array.from({ length: 4 }, async () => new MongoClient(MONGO_URL!)));
    const stores = clients.map((client) => createMongoMetadataStore({ client }));
    try {
      await stores[0]!.ensureNamespace(ns);
      await stores[0]!.commit({ ns, version: mkVersion('x', 0), expectedOv: null, head: { createdAt: 1 } });
      for (let round = 0; round < 10; round++) {
        const results = await Promise.allSettled(
          Array.from({ length: 8 }, (_, i) =>
            stores[i % 4]!.commit({ ns, version: mkVersion('x', round + 1, { metaIndexed: { i } }), expectedOv: round, head: {} }),
          ),
        );
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        for (const r of results) if (r.status === 'rejected') expect(codeOf(r.reason)).toBe('OPTIMISTIC_LOCK');
        // other records created from every client at once: cvs must never collide
        const made = await Promise.all(
          stores.map((s, i) => s.commit({ ns, version: mkVersion(`o${round}_${i}`, 0), expectedOv: null, head: { createdAt: 1 } })),
        );
        expect(new Set(made.map((m) => m.cv)).size).toBe(made.length);
      }
      const chain = await store.listVersions(ns, 'x');
      expect(chain.map((v) => v.ov)).toEqual(Array.from({ length: 11 }, (_, i) => i));
      for (let i = 1; i < chain.length; i++) expect(chain[i]!.cv).toBeGreaterThan(chain[i - 1]!.cv);
      const all = await client
        .db(ns.dbName)
        .collection(`${ns.collection}_ver`)
        .find({}, { projection: { cv: 1 } })
        .toArray();
      expect(new Set(all.map((d) => d.cv)).size).toBe(all.length);
    } finally {
      for (const s of stores) await s.close();
      for (const c of clients) await c.close();
    }
  });

  describe('crash between protocol steps (in process: the step hook throws)', () => {
    const crashingStore = (at: CommitStep) =>
      createMongoMetadataStore({
        client,
        onCommitStep: (step) => {
          if (step === at) throw new Error(`simulated crash after ${step}`);
        },
      });

    it('before the version insert: nothing is visible, the same expectedOv then succeeds', async () => {
      const ns = freshNs();
      await create(ns, 'a', { metaIndexed: { v: 0 } });
      const crashing = crashingStore('checked');
      await expect(crashing.commit({ ns, version: mkVersion('a', 1, { metaIndexed: { v: 'lost' } }), expectedOv: 0, head: {} })).rejects.toThrow(
        'simulated crash',
      );
      expect((await store.getHead(ns, 'a'))!.ov).toBe(0);
      expect((await store.listVersions(ns, 'a')).map((v) => v.ov)).toEqual([0]);
      expect(await store.queryHeads(ns, { limit: 10, filter: compileFilter({ v: 'lost' })! })).toEqual([]);
      await update(ns, 'a', 0, { metaIndexed: { v: 1 } });
      expect((await store.getHead(ns, 'a'))!.metaIndexed).toEqual({ v: 1 });
    });

    it('after the version insert, before the head write: readers see the committed version, the next writer succeeds', async () => {
      const ns = freshNs();
      await create(ns, 'a', { metaIndexed: { v: 0 } });
      await create(ns, 'b', { metaIndexed: { v: 0 } });
      const crashing = crashingStore('version');
      const va = mkVersion('a', 1, { metaIndexed: { v: 'committed' }, requestId: `req-${rand()}` });
      await expect(crashing.commit({ ns, version: va, expectedOv: 0, head: {} })).rejects.toThrow('simulated crash');
      // the head document lags (raw look), but no reader can tell
      const raw = await client
        .db(ns.dbName)
        .collection(`${ns.collection}_head`)
        .findOne({ _id: 'a' as never });
      expect(raw!.ov).toBe(0);
      const hits = await store.queryHeads(ns, { limit: 10, filter: compileFilter({ v: 'committed' })! });
      expect(hits.map((h) => [h.itemId, h.ov])).toEqual([['a', 1]]);
      expect((await store.queryHeads(ns, { limit: 10, filter: compileFilter({ v: 0 })! })).map((h) => h.itemId)).toEqual(['b']);
      expect((await store.findByRequestId(ns, va.requestId!))!.jsonKey).toBe(va.jsonKey);
      // a create interrupted the same way: the head is rebuilt by getHead
      const vc = mkVersion('c', 0, { metaIndexed: { v: 'c' } });
      await expect(crashing.commit({ ns, version: vc, expectedOv: null, head: { createdAt: 42 } })).rejects.toThrow('simulated crash');
      const hc = await store.getHead(ns, 'c');
      expect(hc).toMatchObject({ itemId: 'c', ov: 0, createdAt: 42, jsonKey: vc.jsonKey, state: 'new' });
      await update(ns, 'a', 1, { metaIndexed: { v: 2 } });
      const ha = await store.getHead(ns, 'a');
      expect(ha!.ov).toBe(2);
      expect((await store.listVersions(ns, 'a')).map((v) => v.ov)).toEqual([0, 1, 2]);
      expect(ha!.createdAt).toBe(1);
    });

    it('a lagging head read forWrite loses its commit to the newer version; the checked read then repairs it', async () => {
      const ns = freshNs();
      const c0 = await create(ns, 'a', { metaIndexed: { v: 0 } });
      const crashing = crashingStore('version');
      await expect(crashing.commit({ ns, version: mkVersion('a', 1, { metaIndexed: { v: 1 } }), expectedOv: 0, head: {} })).rejects.toThrow('simulated crash');
      const stale = await store.getHead(ns, 'a', { forWrite: true });
      expect(stale!.ov).toBe(0); // trusted as stored: one command, no check
      const lost = store.commit({ ns, version: mkVersion('a', 1, { metaIndexed: { v: 'late' } }), expectedOv: 0, head: {}, prev: { cv: c0.cv, createdAt: 1 } });
      await expect(lost).rejects.toBeInstanceOf(OptimisticLockError);
      const checked = await store.getHead(ns, 'a');
      expect(checked).toMatchObject({ ov: 1, metaIndexed: { v: 1 } });
      // a missing head is always checked, even forWrite
      await expect(crashing.commit({ ns, version: mkVersion('m', 0), expectedOv: null, head: { createdAt: 7 } })).rejects.toThrow('simulated crash');
      expect(await store.getHead(ns, 'm', { forWrite: true })).toMatchObject({ itemId: 'm', ov: 0, createdAt: 7 });
    });
  });

  describe('crash between protocol steps (SIGKILL of a child process)', () => {
    const child = (args: { ns: Namespace; version: Omit<VersionDoc, 'cv'>; expectedOv: number | null; head: CommitInput['head']; stopAt: CommitStep }) =>
      new Promise<{ killedAt?: string; outcome?: unknown }>((resolve, reject) => {
        const p = fork(path.join(__dirname, 'fixtures/crash-child.ts'), [JSON.stringify({ uri: MONGO_URL, ...args })], {
          execArgv: ['--import', 'tsx'],
          cwd: ROOT,
          stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
        });
        let killedAt: string | undefined;
        let outcome: unknown;
        let stderr = '';
        p.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
        p.on('message', (m: { reached?: string }) => {
          if (m.reached) {
            killedAt = m.reached;
            p.kill('SIGKILL');
          } else outcome = m;
        });
        p.on('error', reject);
        p.on('exit', (code, signal) => {
          if (killedAt && signal === 'SIGKILL') resolve({ killedAt });
          else if (outcome) resolve({ outcome });
          else reject(new Error(`child exited (${code ?? signal}) without reaching ${args.stopAt}: ${stderr.slice(-2000)}`));
        });
      });

    it('killed after the version insert (committed, head not written): readers consistent, next writer succeeds', async () => {
      const ns = freshNs();
      await store.ensureNamespace(ns);
      await create(ns, 'k', { metaIndexed: { v: 0 } });
      const version = mkVersion('k', 1, { metaIndexed: { v: 'child' } });
      const r = await child({ ns, version, expectedOv: 0, head: {}, stopAt: 'version' });
      expect(r.killedAt).toBe('version');
      const head = await store.getHead(ns, 'k');
      expect(head!.ov).toBe(1);
      expect(head!.jsonKey).toBe(version.jsonKey);
      expect((await store.listVersions(ns, 'k')).map((v) => v.ov)).toEqual([0, 1]);
      await expect(update(ns, 'k', 0)).rejects.toMatchObject({ code: 'OPTIMISTIC_LOCK' });
      await update(ns, 'k', 1, { metaIndexed: { v: 'after' } });
      expect((await store.getHead(ns, 'k'))!.ov).toBe(2);
    });

    it('killed before the version insert: nothing visible, the same expectedOv succeeds', async () => {
      const ns = freshNs();
      await store.ensureNamespace(ns);
      await create(ns, 'k');
      const r = await child({ ns, version: mkVersion('k', 1, { metaIndexed: { v: 'never' } }), expectedOv: 0, head: {}, stopAt: 'checked' });
      expect(r.killedAt).toBe('checked');
      expect((await store.getHead(ns, 'k'))!.ov).toBe(0);
      expect((await store.listVersions(ns, 'k')).map((v) => v.ov)).toEqual([0]);
      expect(await store.queryHeads(ns, { limit: 10, filter: compileFilter({ v: 'never' })! })).toEqual([]);
      await update(ns, 'k', 0);
      expect((await store.getHead(ns, 'k'))!.ov).toBe(1);
    });
  });

  it('shares one client per URI and closes it with the last store', async () => {
    const { sharedClientCount } = await import('@chronos-db/storage-mongo');
    const uri = `${MONGO_URL}${MONGO_URL!.includes('?') ? '&' : '?'}appName=share-${rand(6)}`;
    const before = sharedClientCount();
    const a = createMongoMetadataStore({ uri });
    const b = createMongoMetadataStore({ uri });
    expect(a.client).toBe(b.client);
    expect(sharedClientCount()).toBe(before + 1);
    await a.ping();
    await a.close();
    await b.ping(); // still open
    await b.close();
    expect(sharedClientCount()).toBe(before);
    await expect(b.ping()).rejects.toMatchObject({ code: 'STORAGE' });
  });
});
