/**
 * The engine behaviour suite: the whole versioning engine over any pair of
 * adapters (MetadataStore + BlobStore). Adapter authors call
 * `runEngineBehaviour('my adapters', factory)` inside a jest test file.
 *
 * It checks the invariants of RELIABILITY.md that do not need a process
 * crash (I1-I9, T5, T6 with injected faults, T7, T8) and that bad input writes
 * nothing to either store.
 */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import fc from 'fast-check';
import {
  CollectionEngine,
  ExternalizationError,
  NotFoundError,
  OptimisticLockError,
  PayloadTooLargeError,
  ValidationError,
  type BlobStore,
  type CounterStore,
  type EngineOptions,
  type MetadataStore,
  type Namespace,
} from '@chronos-db/core';
import { FaultyBlobStore, FaultyMetadataStore, InjectedFault } from './faults.js';
import { snapshotStores, assertNoDanglingPointers } from './oracle.js';

export interface BehaviourStores {
  meta: MetadataStore;
  blobs: BlobStore;
  counters?: CounterStore;
  teardown?: () => Promise<void>;
}

export interface BehaviourOptions {
  /** Rounds for T5 (16 racers). Default 50. */
  raceRounds?: number;
  /** fast-check runs for T6. Default 200 in CI, 60 otherwise. */
  modelRuns?: number;
  /** Number of records for the restoreCollection test. Default 60. */
  restoreRecords?: number;
}

const rnd = () => Math.random().toString(36).slice(2, 10);

export function runEngineBehaviour(name: string, factory: () => Promise<BehaviourStores>, opts: BehaviourOptions = {}): void {
  describe(`engine behaviour: ${name}`, () => {
    let stores: BehaviourStores;
    const engine = (over: Partial<EngineOptions> = {}, ns?: Namespace) =>
      new CollectionEngine({
        ns: ns ?? { dbName: `bk_${rnd()}`, collection: 'items' },
        meta: stores.meta,
        blobs: stores.blobs,
        counters: stores.counters,
        ...over,
      });

    beforeAll(async () => {
      stores = await factory();
    });
    afterAll(async () => {
      await stores?.teardown?.();
    });

    it('create, update, delete and the history of one record', async () => {
      const e = engine();
      const c = await e.create({ email: 'a@example.com', n: 1 }, 'alice', 'signup');
      expect(c.ov).toBe(0);
      expect(c.createdAt).toBeInstanceOf(Date);
      const u = await e.update(c.id, { email: 'b@example.com', n: 2 }, 0, 'bob', 'change');
      expect(u.ov).toBe(1);
      expect(u.cv).toBeGreaterThan(c.cv);
      const latest = await e.getLatest(c.id, { includeMeta: true });
      expect(latest).toMatchObject({ id: c.id, email: 'b@example.com', n: 2, _meta: { ov: 1 } });
      expect(latest!._system.insertedAt).toBe(c.createdAt.toISOString());
      const d = await e.delete(c.id, 1, 'carol', 'gone');
      expect(d.ov).toBe(2);
      expect(await e.getLatest(c.id)).toBeNull();
      const dl = await e.getLatest(c.id, { includeDeleted: true });
      expect(dl!._system.deleted).toBe(true);
      expect((await e.getVersion(c.id, 0))!.email).toBe('a@example.com');
      const h = await e.history(c.id);
      expect(h.map((x) => [x.ov, x.op, x.actor])).toEqual([[0, 'CREATE', 'alice'], [1, 'UPDATE', 'bob'], [2, 'DELETE', 'carol']]);
      await expect(e.update(c.id, { x: 1 })).rejects.toBeInstanceOf(NotFoundError);
      await expect(e.update('missing-id', { x: 1 })).rejects.toBeInstanceOf(NotFoundError);
      await assertNoDanglingPointers(stores, e.ns, [c.id]);
    });

    it('stale expectedOv is an OptimisticLockError and writes nothing to either store', async () => {
      const e = engine();
      const c = await e.create({ v: 0 });
      await e.update(c.id, { v: 1 }, 0);
      const before = await snapshotStores(stores, e.ns);
      await expect(e.update(c.id, { v: 2 }, 0)).rejects.toBeInstanceOf(OptimisticLockError);
      await expect(e.delete(c.id, 0)).rejects.toBeInstanceOf(OptimisticLockError);
      await expect(e.enrich(c.id, { w: 1 }, { expectedOv: 5 })).rejects.toBeInstanceOf(OptimisticLockError);
      expect(await snapshotStores(stores, e.ns)).toEqual(before);
    });

    it('T8: version and as-of reads of A only ever return A', async () => {
      const e = engine();
      const a = await e.create({ who: 'A', i: 0 });
      const b = await e.create({ who: 'B', i: 0 });
      const times: number[] = [];
      for (let i = 1; i <= 5; i++) {
        await e.update(a.id, { who: 'A', i });
        await e.update(b.id, { who: 'B', i });
        times.push(Date.now());
      }
      for (let ov = 0; ov <= 5; ov++) {
        expect(await e.getVersion(a.id, ov)).toMatchObject({ who: 'A', i: ov });
        expect(await e.getVersion(b.id, ov)).toMatchObject({ who: 'B', i: ov });
      }
      for (const t of times) {
        expect((await e.getAsOf(a.id, t))!.who).toBe('A');
        expect((await e.getAsOf(b.id, new Date(t)))!.who).toBe('B');
      }
      expect(await e.getAsOf(a.id, 0)).toBeNull();
      expect(await e.getVersion(a.id, 99)).toBeNull();
    });

    it('T7: two clocks ten minutes apart keep `at` non-decreasing and as-of consistent', async () => {
      const ns = { dbName: `bk_${rnd()}`, collection: 'clocks' };
      let skew = 0;
      const fast = engine({ clock: () => Date.now() + 600_000 }, ns);
      const slow = engine({ clock: () => Date.now() + skew }, ns);
      const c = await slow.create({ k: 0 });
      await fast.update(c.id, { k: 1 });
      await slow.update(c.id, { k: 2 });
      skew = -1000;
      await slow.update(c.id, { k: 3 });
      await fast.update(c.id, { k: 4 });
      const h = await slow.history(c.id);
      for (let i = 1; i < h.length; i++) expect(h[i]!.at.getTime()).toBeGreaterThanOrEqual(h[i - 1]!.at.getTime());
      // as-of at each version's own time returns the newest version with that time
      for (const v of h) {
        const sameAt = h.filter((x) => x.at.getTime() === v.at.getTime());
        const got = await slow.getAsOf(c.id, v.at);
        expect(got!.k).toBe(sameAt[sameAt.length - 1]!.ov);
      }
    });

    it('T5: 16 concurrent updaters with the same expectedOv: exactly one winner per round, payloads intact', async () => {
      const e = engine();
      const rounds = opts.raceRounds ?? 50;
      const c = await e.create({ round: 0, racer: -1 });
      const winners: number[] = [];
      for (let round = 0; round < rounds; round++) {
        const results = await Promise.allSettled(
          Array.from({ length: 16 }, (_, racer) => e.update(c.id, { round: round + 1, racer }, round)),
        );
        const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
        expect(won).toHaveLength(1);
        for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(OptimisticLockError);
        winners.push(won[0]!);
      }
      const latest = await e.getLatest(c.id, { includeMeta: true });
      expect(latest!._meta!.ov).toBe(rounds);
      const h = await e.history(c.id, { limit: 10_000 });
      expect(h.map((x) => x.ov)).toEqual(Array.from({ length: rounds + 1 }, (_, i) => i));
      for (let round = 1; round <= rounds; round++) {
        expect(await e.getVersion(c.id, round)).toMatchObject({ round, racer: winners[round - 1] });
      }
      await assertNoDanglingPointers(stores, e.ns, [c.id]);
    });

    it('enrich deep-merges, unions arrays (by id for objects) and records functionIds', async () => {
      const e = engine();
      const c = await e.create({ name: 'x', tags: ['a'], profile: { a: 1, nested: { b: 1 } }, items: [{ id: 1, q: 1 }] });
      await e.enrich(c.id, { tags: ['b', 'a'], profile: { nested: { c: 2 } }, items: [{ id: 1, r: 2 }, { id: 2 }] }, { functionId: 'fn-1' });
      await e.enrich(c.id, [{ profile: { a: 9 } }, { tags: ['c'] }], { functionId: 'fn-2', expectedOv: 1 });
      const r = await e.getLatest(c.id, { includeMeta: true });
      expect(r).toMatchObject({ name: 'x', tags: ['a', 'b', 'c'], profile: { a: 9, nested: { b: 1, c: 2 } }, items: [{ id: 1, q: 1, r: 2 }, { id: 2 }] });
      expect(r!._system.functionIds).toEqual(['fn-1', 'fn-2']);
      expect(r!._meta!.ov).toBe(2);
    });

    it('smartInsert creates once and enriches after, with no duplicates under concurrency', async () => {
      const e = engine({ map: { indexedProps: ['email'] } });
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) => e.smartInsert({ email: 'dup@example.com', [`f${i}`]: i }, { uniqueKeys: ['email'], functionId: `w${i}` })),
      );
      expect(results.filter((r) => r.created)).toHaveLength(1);
      expect(new Set(results.map((r) => r.id)).size).toBe(1);
      const page = await e.listByMeta({ filter: { email: 'dup@example.com' } });
      expect(page.items).toHaveLength(1);
      for (let i = 0; i < 8; i++) expect(page.items[0]![`f${i}`]).toBe(i);
      await expect(e.smartInsert({ email: 'x', name: 'y' }, { uniqueKeys: ['name'] })).rejects.toBeInstanceOf(ValidationError);
    });

    it('listByMeta filters on indexed metadata with stable keyset pagination', async () => {
      const e = engine({ map: { indexedProps: ['kind', 'score'] } });
      const ids: string[] = [];
      for (let i = 0; i < 23; i++) ids.push((await e.create({ kind: i % 2 ? 'odd' : 'even', score: i, body: 'x'.repeat(10) })).id);
      await e.delete(ids[4]!);
      const seen: number[] = [];
      let pageToken: string | undefined;
      do {
        const p = await e.listByMeta({ filter: { kind: 'even', score: { $gte: 2 } }, limit: 3, ...(pageToken ? { pageToken } : {}) });
        seen.push(...p.items.map((x) => x.score as number));
        pageToken = p.pageToken;
        if (!pageToken) break;
        await e.create({ kind: 'even', score: 1000 + seen.length }); // concurrent inserts never shift a page
      } while (pageToken);
      const want = [2, 6, 8, 10, 12, 14, 16, 18, 20, 22];
      expect(seen.filter((s) => s < 1000)).toEqual(want);
      const q = await e.query({ $or: [{ score: { $in: [1, 3] } }, { score: { $lt: 1 } }] }, { limit: 10 });
      expect(q.items.map((x) => x.score).sort()).toEqual([0, 1, 3]);
      await expect(e.listByMeta({ filter: { body: 'x' } })).rejects.toBeInstanceOf(ValidationError);
    });

    it('restoreObject appends a version equal to the target, and brings a deleted record back', async () => {
      const e = engine();
      const c = await e.create({ v: 'zero' });
      await e.update(c.id, { v: 'one' });
      const t1 = Date.now();
      await new Promise((r) => setTimeout(r, 5));
      await e.delete(c.id);
      const r = await e.restoreObject(c.id, { ov: 0 }, { actor: 'ops', reason: 'undo' });
      expect(r.newOv).toBe(3);
      expect(await e.getLatest(c.id)).toMatchObject({ v: 'zero' });
      const r2 = await e.restoreObject(c.id, { at: t1 });
      expect(r2.newOv).toBe(4);
      expect(await e.getLatest(c.id)).toMatchObject({ v: 'one' });
      expect((await e.history(c.id)).map((h) => h.op)).toEqual(['CREATE', 'UPDATE', 'DELETE', 'RESTORE', 'RESTORE']);
      await expect(e.restoreObject(c.id, { ov: 99 })).rejects.toBeInstanceOf(NotFoundError);
      await expect(e.restoreObject(c.id, { ov: 0 }, { expectedHeadOv: 1 })).rejects.toBeInstanceOf(OptimisticLockError);
    });

    it('restoreCollection appends versions so the collection is as it was; later records get a delete version', async () => {
      const e = engine({ map: { indexedProps: ['n'] } });
      const n = opts.restoreRecords ?? 60;
      const ids: string[] = [];
      for (let i = 0; i < n; i++) ids.push((await e.create({ n: i, phase: 'before' })).id);
      await e.delete(ids[0]!);
      const cvTarget = await stores.meta.currentCv(e.ns);
      const tTarget = Date.now();
      await new Promise((r) => setTimeout(r, 5));
      for (let i = 1; i < n; i += 2) await e.update(ids[i]!, { n: i, phase: 'after' });
      const born = await e.create({ n: -1, phase: 'after' });
      const progress: number[] = [];
      const dry = await e.restoreCollection({ cv: cvTarget }, { dryRun: true, pageSize: 7 });
      expect(dry.restored).toBe(0);
      expect(dry.planned).toBe(Math.floor(n / 2) + 1);
      expect((await e.getLatest(ids[1]!))!.phase).toBe('after');
      const res = await e.restoreCollection({ at: tTarget }, { pageSize: 7, parallel: 3, onProgress: (p) => progress.push(p.scanned) });
      expect(res.restored).toBe(Math.floor(n / 2) + 1);
      expect(progress.length).toBeGreaterThan(1);
      expect(progress[progress.length - 1]).toBe(n + 1);
      for (let i = 1; i < n; i++) expect((await e.getLatest(ids[i]!))!.phase).toBe('before');
      expect(await e.getLatest(ids[0]!)).toBeNull();
      expect(await e.getLatest(born.id)).toBeNull();
      expect((await e.getLatest(born.id, { includeDeleted: true }))!._system.deleted).toBe(true);
      // nothing rewritten: history kept, restore only appended
      expect((await e.history(ids[1]!)).map((h) => h.op)).toEqual(['CREATE', 'UPDATE', 'RESTORE']);
      const again = await e.restoreCollection({ at: tTarget });
      expect(again.restored).toBe(0);
    });

    it('base64 properties are externalized to the content bucket with a text rendition', async () => {
      const e = engine({ map: { indexedProps: ['title'], base64Props: { doc: { contentType: 'text/plain', preferredText: true, textCharset: 'utf-8' }, img: { contentType: 'image/png' } } } });
      const text = 'héllo wörld';
      const png = Buffer.from([137, 80, 78, 71, 0, 1, 2, 3]);
      const c = await e.create({ title: 't', doc: Buffer.from(text).toString('base64'), img: png.toString('base64') });
      const r = await e.getLatest(c.id);
      const doc = r!.doc as { ref: { key: string; size: number; contentType: string; textKey?: string } };
      expect(doc.ref.size).toBe(Buffer.byteLength(text));
      expect(doc.ref.contentType).toBe('text/plain');
      expect(Buffer.from(await stores.blobs.get('content', doc.ref.key)).toString()).toBe(text);
      expect(Buffer.from(await e.getPropertyContent(c.id, 'doc', { text: true })).toString()).toBe(text);
      expect(Buffer.from(await e.getPropertyContent(c.id, 'img'))).toEqual(png);
      // the JSON payload does not hold the base64
      const v = await stores.meta.getHead(e.ns, c.id);
      expect(Buffer.from(await stores.blobs.get('json', v!.jsonKey)).toString()).not.toContain(png.toString('base64'));
      // an update that passes the read reference back keeps the blob
      await e.update(c.id, { ...r, title: 't2' });
      expect(Buffer.from(await e.getPropertyContent(c.id, 'img'))).toEqual(png);
      await e.enrich(c.id, { extra: 1 });
      expect(Buffer.from(await e.getPropertyContent(c.id, 'doc'))).toEqual(Buffer.from(text));
      const before = await snapshotStores(stores, e.ns);
      await expect(e.create({ title: 'bad', img: 'not base64!!' })).rejects.toBeInstanceOf(ExternalizationError);
      await expect(e.create({ title: 'bad', doc: Buffer.from([0xff, 0xfe, 0xfd]).toString('base64') })).rejects.toBeInstanceOf(ExternalizationError);
      expect(await snapshotStores(stores, e.ns)).toEqual(before);
    });

    it('I6: a write retried with the same requestId gives one version; another payload with it is an error', async () => {
      const e = engine();
      const a = await e.create({ x: 1 }, 'u', 'r', { requestId: 'req-create-1' });
      const b = await e.create({ x: 1 }, 'u', 'r', { requestId: 'req-create-1' });
      expect(b).toEqual(a);
      const u1 = await e.update(a.id, { x: 2 }, 0, 'u', 'r', { requestId: 'req-upd-1' });
      const u2 = await e.update(a.id, { x: 2 }, 0, 'u', 'r', { requestId: 'req-upd-1' });
      expect(u2).toEqual(u1);
      expect((await e.history(a.id)).length).toBe(2);
      await expect(e.update(a.id, { x: 3 }, 1, 'u', 'r', { requestId: 'req-upd-1' })).rejects.toBeInstanceOf(ValidationError);
      // concurrent retries of one create: still one record
      const many = await Promise.all(Array.from({ length: 6 }, () => e.create({ y: 1 }, undefined, undefined, { requestId: 'req-burst' })));
      expect(new Set(many.map((m) => m.id)).size).toBe(1);
      expect((await e.history(many[0]!.id)).length).toBe(1);
    });

    it('counters count creates, updates and deletes, with conditional rules', async () => {
      if (!stores.counters) return expect(stores.counters).toBeUndefined();
      const e = engine({
        map: { indexedProps: ['status'] },
        counterRules: [{ name: 'active', when: { status: 'active' } }, { name: 'gone', on: ['DELETE'], when: {} }],
      });
      const a = await e.create({ status: 'active' });
      await e.create({ status: 'idle' });
      await e.update(a.id, { status: 'idle' });
      await e.delete(a.id);
      const t = await stores.counters.getCounters({ dbName: e.ns.dbName, collection: e.ns.collection });
      expect(t).toMatchObject({ created: 2, updated: 1, deleted: 1 });
      const zeroFilled = (x: object | undefined) => ({ created: 0, updated: 0, deleted: 0, ...x });
      expect(zeroFilled(t.rules.active)).toEqual({ created: 1, updated: 0, deleted: 0 });
      expect(zeroFilled(t.rules.gone)).toEqual({ created: 0, updated: 0, deleted: 1 });
    });

    it('devShadow serves the latest payload from the head without a GET', async () => {
      const e = engine({ devShadow: { enabled: true, ttlHours: 1 } });
      const c = await e.create({ hello: 'shadow' });
      const faulty = new FaultyBlobStore(stores.blobs);
      const reader = new CollectionEngine({ ns: e.ns, meta: stores.meta, blobs: faulty, devShadow: { enabled: true, ttlHours: 1 } });
      faulty.failNext('get', Infinity);
      expect(await reader.getLatest(c.id)).toMatchObject({ hello: 'shadow' });
      await expect(reader.getVersion(c.id, 0)).rejects.toBeInstanceOf(InjectedFault);
    });

    it('bad input is a typed error and writes nothing to either store', async () => {
      const e = engine({ maxPayloadBytes: 2048, map: { indexedProps: ['a'] } });
      const c = await e.create({ a: 1 });
      const before = await snapshotStores(stores, e.ns);
      const deep: Record<string, unknown> = {};
      let cur = deep;
      for (let i = 0; i < 10_000; i++) cur = (cur.n = {}) as Record<string, unknown>;
      const cyclic: Record<string, unknown> = { a: 1 };
      cyclic.self = cyclic;
      const badPayloads: Array<[unknown, new (...a: never[]) => Error]> = [
        [{ a: 'x'.repeat(5000) }, PayloadTooLargeError],
        [deep, ValidationError],
        [{ a: 1n }, ValidationError],
        [cyclic, ValidationError],
        [JSON.parse('{"__proto__": {"polluted": true}}'), ValidationError],
        [{ constructor: { prototype: { polluted: true } } }, ValidationError],
        ['a string', ValidationError],
        [[1, 2], ValidationError],
      ];
      for (const [p, cls] of badPayloads) {
        await expect(e.create(p)).rejects.toBeInstanceOf(cls);
        await expect(e.update(c.id, p)).rejects.toBeInstanceOf(cls);
      }
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      for (const ov of [-1, 1.5, '1', NaN]) await expect(e.update(c.id, { a: 2 }, ov as number)).rejects.toBeInstanceOf(ValidationError);
      for (const id of ['../../x', '%2e%2e', 'a'.repeat(1000), '', 'a/b']) {
        await expect(e.update(id, { a: 2 })).rejects.toBeInstanceOf(ValidationError);
        await expect(e.getLatest(id)).rejects.toBeInstanceOf(ValidationError);
      }
      for (const f of [{ $where: 'sleep(1)' }, { $function: {} }, { $expr: {} }, { $accumulator: {} }, { a: { $regex: '.*' } }, JSON.parse('{"__proto__": 1}'), { notIndexed: 1 }]) {
        await expect(e.listByMeta({ filter: f as Record<string, unknown> })).rejects.toBeInstanceOf(ValidationError);
      }
      for (const ttl of [0, -1, NaN, 8 * 24 * 3600]) await expect(e.presignProperty(c.id, 'a', ttl)).rejects.toBeInstanceOf(ValidationError);
      for (const coll of ['../x', 'a/b', '', '.', '..', '$x', 'system.users', 'a\u0000b', 'x'.repeat(300)]) {
        expect(() => engine({}, { dbName: e.ns.dbName, collection: coll })).toThrow(ValidationError);
      }
      for (const t of ['a/../b', '*', '']) expect(() => engine({}, { ...e.ns, tenant: t })).toThrow(ValidationError);
      expect(await snapshotStores(stores, e.ns)).toEqual(before);
    });

    it('I10 inside one store: namespaces never see each other', async () => {
      const db = `bk_${rnd()}`;
      const a = engine({}, { dbName: db, collection: 'users', tenant: 'a' });
      const b = engine({}, { dbName: db, collection: 'users', tenant: 'b' });
      const c = await a.create({ secret: 'A' }, undefined, undefined, { id: 'same-id' });
      await b.create({ secret: 'B' }, undefined, undefined, { id: 'same-id' });
      expect((await a.getLatest(c.id))!.secret).toBe('A');
      expect((await b.getLatest(c.id))!.secret).toBe('B');
      const onlyA = await a.create({ secret: 'A2' });
      expect(await b.getLatest(onlyA.id)).toBeNull();
      await expect(b.update(onlyA.id, { x: 1 })).rejects.toBeInstanceOf(NotFoundError);
      await expect(b.restoreObject(onlyA.id, { ov: 0 })).rejects.toBeInstanceOf(NotFoundError);
      expect((await b.listByMeta({})).items.map((x) => x.secret)).toEqual(['B']);
    });

    it('T6: a model-based run with injected crashes never diverges from the model', async () => {
      const runs = opts.modelRuns ?? (process.env.CI === 'true' ? 200 : 60);
      const ns = { dbName: `bk_${rnd()}`, collection: 'model' };
      await fc.assert(
        fc.asyncProperty(
          fc.array(
            fc.record({
              kind: fc.constantFrom('create', 'update', 'delete', 'restore', 'read'),
              target: fc.nat(4),
              value: fc.integer({ min: 0, max: 1000 }),
              crash: fc.constantFrom('none', 'none', 'none', 'before-put', 'after-put', 'after-commit'),
              stale: fc.boolean(),
            }),
            { minLength: 1, maxLength: 12 },
          ),
          async (cmds) => {
            const fb = new FaultyBlobStore(stores.blobs);
            const fm = new FaultyMetadataStore(stores.meta);
            const e = new CollectionEngine({ ns: { ...ns, collection: `m${rnd()}` }, meta: fm, blobs: fb });
            type MV = { value: number; deleted: boolean };
            const model = new Map<string, MV[]>();
            const ids: string[] = [];
            for (const cmd of cmds) {
              const id = ids.length ? ids[cmd.target % ids.length]! : undefined;
              const chain = id ? model.get(id)! : undefined;
              const head = chain?.[chain.length - 1];
              if (cmd.crash === 'before-put') fb.failNext('put', 1);
              if (cmd.crash === 'after-put') fm.failNext('commit', 1);
              if (cmd.crash === 'after-commit') fm.failAfterNext('commit', 1);
              let outcome = 'ok' as 'ok' | 'fail' | 'ambiguous';
              const run = async (f: () => Promise<unknown>) => {
                try {
                  return await f();
                } catch (err) {
                  if (err instanceof InjectedFault) {
                    outcome = err.afterEffect ? 'ambiguous' : 'fail';
                    return undefined;
                  }
                  if (err instanceof OptimisticLockError || err instanceof NotFoundError) {
                    outcome = 'fail';
                    return undefined;
                  }
                  throw err;
                }
              };
              if (cmd.kind === 'create' || !id) {
                const r = (await run(() => e.create({ value: cmd.value }))) as { id: string } | undefined;
                const newId = r?.id ?? fm.lastCommittedId();
                if (outcome !== 'fail' && newId && !model.has(newId)) {
                  ids.push(newId);
                  model.set(newId, [{ value: cmd.value, deleted: false }]);
                }
              } else if (cmd.kind === 'update') {
                const expected = cmd.stale ? chain!.length - 2 : chain!.length - 1;
                await run(() => e.update(id, { value: cmd.value }, Math.max(expected, 0)));
                const applies = !head!.deleted && (!cmd.stale || chain!.length === 1);
                if (outcome !== 'fail' && applies) chain!.push({ value: cmd.value, deleted: false });
              } else if (cmd.kind === 'delete') {
                await run(() => e.delete(id));
                if (outcome !== 'fail' && !head!.deleted) chain!.push({ value: head!.value, deleted: true });
              } else if (cmd.kind === 'restore') {
                const ov = cmd.value % chain!.length;
                await run(() => e.restoreObject(id, { ov }));
                if (outcome !== 'fail') chain!.push({ ...chain![ov]! });
              } else {
                fb.clear();
                fm.clear();
              }
              fb.clear();
              fm.clear();
              // after every step: the store agrees with the model
              for (const [mid, mchain] of model) {
                const hist = await e.history(mid);
                expect(hist.map((h) => h.ov)).toEqual(mchain.map((_, i) => i)); // I3 gapless
                const last = mchain[mchain.length - 1]!;
                const latest = await e.getLatest(mid, { includeDeleted: true });
                expect(latest!.value).toBe(last.value);
                expect(!!latest!._system.deleted).toBe(last.deleted);
                for (let i = 1; i < hist.length; i++) expect(hist[i]!.at.getTime()).toBeGreaterThanOrEqual(hist[i - 1]!.at.getTime()); // I8
                const asOf = await e.getAsOf(mid, hist[hist.length - 1]!.at, { includeDeleted: true });
                expect(asOf!.value).toBe(last.value);
              }
              await assertNoDanglingPointers(stores, e.ns, [...model.keys()]); // I1
            }
          },
        ),
        { numRuns: runs },
      );
    });
  });
}

export { FaultyBlobStore, FaultyMetadataStore, InjectedFault } from './faults.js';
export { snapshotStores, assertNoDanglingPointers } from './oracle.js';
