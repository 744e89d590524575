/**
 * The MetadataStore contract (core/src/ports.ts), executable. Call it from a
 * jest test file of your adapter:
 *
 *   runMetadataStoreConformance('sqlite', async () => ({ store, teardown }));
 *
 * One store is created per suite; every test works in namespaces of its own
 * (random dbName / collection / tenant), so nothing needs cleaning between tests.
 */
import { beforeAll, describe, expect } from '@jest/globals';
import fc from 'fast-check';
import { compileFilter, matchFilter, type CommitInput, type HeadDoc, type MetadataStore, type Namespace, type VersionDoc } from '@chronos-db/core';
import { clean, expectCode, freshNs, makeIt, mkVersion, OPTIMISTIC_LOCK, rand, VALIDATION, type SuiteOptions, setUpStore } from './helpers.js';

export type MetadataStoreFactory = () => Promise<{ store: MetadataStore; teardown?: () => Promise<void> }>;

const STATES = ['new-not-synched', 'new', 'processed'];

export function runMetadataStoreConformance(name: string, factory: MetadataStoreFactory, opts: SuiteOptions = {}): void {
  const it = makeIt(opts.skip);

  describe(`MetadataStore conformance: ${name}`, () => {
    let store!: MetadataStore;
    setUpStore(factory, (s) => (store = s));

    /** A fresh, ensured namespace. */
    const ns = async (o: Parameters<typeof freshNs>[0] = {}): Promise<Namespace> => {
      const n = freshNs(o);
      await store.ensureNamespace(n);
      return n;
    };

    /** Commits a create at ov 0. */
    const create = async (n: Namespace, id: string, o: Parameters<typeof mkVersion>[3] = {}, head: CommitInput['head'] = {}) => {
      const version = mkVersion(n, id, 0, o);
      const r = await store.commit({ ns: n, version, expectedOv: null, head: { createdAt: version.at, ...head } });
      return { version, cv: r.cv };
    };

    /** Commits the next version after `ov`. */
    const next = async (n: Namespace, id: string, expectedOv: number, o: Parameters<typeof mkVersion>[3] = {}, head: CommitInput['head'] = {}) => {
      const version = mkVersion(n, id, expectedOv + 1, o);
      const r = await store.commit({ ns: n, version, expectedOv, head });
      return { version, cv: r.cv };
    };

    /** A record with `count` versions (ov 0..count-1). Returns them with their cv. */
    const chain = async (n: Namespace, id: string, count: number, at: (ov: number) => number = (ov) => 1_700_000_000_000 + ov * 1000): Promise<VersionDoc[]> => {
      const out: VersionDoc[] = [];
      for (let ov = 0; ov < count; ov++) {
        const { version, cv } = ov === 0 ? await create(n, id, { at: at(0) }) : await next(n, id, ov - 1, { at: at(ov) });
        out.push({ ...version, cv });
      }
      return out;
    };

    describe('basics', () => {
      it('declares its capabilities', async () => {
        expect(typeof store.capabilities.transactions).toBe('boolean');
        expect(typeof store.capabilities.uniqueIndexes).toBe('boolean');
        expect(typeof store.capabilities.changeStream).toBe('boolean');
      });

      it('answers ping', async () => {
        await expect(store.ping()).resolves.toBeUndefined();
      });

      it('ensureNamespace is idempotent', async () => {
        const n = freshNs();
        await store.ensureNamespace(n);
        await store.ensureNamespace(n);
        await Promise.all([store.ensureNamespace(n), store.ensureNamespace(n)]);
        expect(await store.getHead(n, 'nobody')).toBeNull();
      });

      it('reads of an empty namespace find nothing', async () => {
        const n = await ns();
        expect(await store.getHead(n, 'x1')).toBeNull();
        expect(await store.getVersion(n, 'x1', { ov: 0 })).toBeNull();
        expect(await store.getVersion(n, 'x1', { at: Date.now() })).toBeNull();
        expect(await store.getVersion(n, 'x1', { cv: 1_000_000 })).toBeNull();
        expect(await store.listVersions(n, 'x1')).toEqual([]);
        expect(await store.findByRequestId(n, 'r1')).toBeNull();
        expect(await store.queryHeads(n, { limit: 10 })).toEqual([]);
        expect(await store.currentCv(n)).toBe(0);
        expect(await store.setState(n, 'x1', 'processed')).toBe(false);
        expect(await store.hardDelete(n, 'x1')).toEqual([]);
      });

      it('rejects an invalid namespace with ValidationError', async () => {
        const bad: Namespace = { dbName: `ck_${rand(6)}`, collection: '../x' };
        await expectCode(store.getHead(bad, 'a'), VALIDATION);
        await expectCode(store.getHead({ dbName: '../x', collection: 'c1' }, 'a'), VALIDATION);
        await expectCode(store.getHead({ dbName: `ck_${rand(6)}`, collection: 'c1', tenant: 'a/../b' }, 'a'), VALIDATION);
      });
    });

    describe('commit', () => {
      it('creates a record: head and version 0', async () => {
        const n = await ns();
        const v = mkVersion(n, 'r1', 0, {
          actor: 'alice', reason: 'first', requestId: `req-${rand()}`, requestHash: 'h'.repeat(64),
          functionIds: ['f1', 'f2'],
          blobs: { 'doc.file': { key: 'k/blob.bin', size: 3, sha256: 'b'.repeat(64), contentType: 'application/pdf', textKey: 'k/text.txt' } },
          metaIndexed: { name: 'Zoë ✓', n: 1.5, nested: { deep: { x: [1, 'two', null] } }, flag: true, nothing: null },
        });
        const { cv } = await store.commit({ ns: n, version: v, expectedOv: null, head: { createdAt: 1234, state: 'new' } });
        expect(Number.isInteger(cv)).toBe(true);
        expect(cv).toBeGreaterThan(0);
        const head = await store.getHead(n, 'r1');
        expect(head).not.toBeNull();
        expect(clean(head!)).toEqual(clean({ ...v, cv, createdAt: 1234, state: 'new' }));
        const versions = await store.listVersions(n, 'r1');
        expect(versions.map(clean)).toEqual([clean({ ...v, cv })]);
        expect(clean((await store.getVersion(n, 'r1', { ov: 0 }))!)).toEqual(clean({ ...v, cv }));
      });

      it('getHead forWrite answers what getHead answers; a commit with prev (the head it read) lands like one without', async () => {
        const n = await ns();
        expect(await store.getHead(n, 'w1', { forWrite: true })).toBeNull();
        const c0 = await store.commit({ ns: n, version: mkVersion(n, 'w1', 0), expectedOv: null, head: { createdAt: 77 } });
        const h0 = await store.getHead(n, 'w1', { forWrite: true });
        expect(clean(h0!)).toEqual(clean((await store.getHead(n, 'w1'))!));
        const c1 = await store.commit({ ns: n, version: mkVersion(n, 'w1', 1), expectedOv: 0, head: {}, prev: { cv: h0!.cv, createdAt: h0!.createdAt } });
        expect(c1.cv).toBeGreaterThan(c0.cv);
        const h1 = await store.getHead(n, 'w1');
        expect(h1).toMatchObject({ ov: 1, cv: c1.cv, createdAt: 77 });
        // prev does not excuse a stale expectedOv
        await expectCode(store.commit({ ns: n, version: mkVersion(n, 'w1', 1), expectedOv: 0, head: {}, prev: { cv: h0!.cv, createdAt: 77 } }), OPTIMISTIC_LOCK);
        expect((await store.listVersions(n, 'w1')).map((v) => v.ov)).toEqual([0, 1]);
      });

      it(`commitMany is ${opts.commitMany ? 'offered: each entry lands or fails on its own, like commit' : 'not offered'}`, async () => {
        expect(typeof store.commitMany).toBe(opts.commitMany ? 'function' : 'undefined');
        if (!store.commitMany) return;
        const n = await ns();
        const heads: Array<{ id: string; cv: number }> = [];
        for (let i = 0; i < 120; i++) {
          const { cv } = await create(n, `m${String(i).padStart(3, '0')}`, { metaIndexed: { i, phase: 'a' } });
          heads.push({ id: `m${String(i).padStart(3, '0')}`, cv });
        }
        // another writer moves m007 first: its entry must fail alone
        await next(n, 'm007', 0, { metaIndexed: { i: 7, phase: 'other' } });
        await create(n, 'solo');
        const inputs: CommitInput[] = heads.map((h, i) => ({
          ns: n, version: mkVersion(n, h.id, 1, { metaIndexed: { i, phase: 'b' } }), expectedOv: 0, head: {}, prev: { cv: h.cv, createdAt: 1234 },
        }));
        inputs.push({ ns: n, version: mkVersion(n, 'fresh', 0, { metaIndexed: { phase: 'b' } }), expectedOv: null, head: { createdAt: 99 } });
        inputs.push({ ns: n, version: mkVersion(n, 'solo', 0), expectedOv: null, head: { createdAt: 1 } }); // exists already
        const cvBefore = await store.currentCv(n);
        const results = await store.commitMany(inputs);
        expect(results).toHaveLength(inputs.length);
        const failed = results.flatMap((r, i) => (r.ok ? [] : [inputs[i]!.version.itemId]));
        expect(failed.sort()).toEqual(['m007', 'solo']);
        for (const r of results) if (!r.ok) expect((r.error as { code?: string }).code).toBe(OPTIMISTIC_LOCK);
        const cvs = results.flatMap((r) => (r.ok ? [r.cv] : []));
        expect(new Set(cvs).size).toBe(cvs.length);
        for (const cv of cvs) expect(cv).toBeGreaterThan(cvBefore);
        for (const [i, h] of heads.entries()) {
          const head = await store.getHead(n, h.id);
          if (h.id === 'm007') expect(head).toMatchObject({ ov: 1, metaIndexed: { phase: 'other' } });
          else expect(head).toMatchObject({ ov: 1, cv: (results[i] as { cv: number }).cv, metaIndexed: { i, phase: 'b' } });
        }
        expect(await store.getHead(n, 'fresh')).toMatchObject({ ov: 0, createdAt: 99 });
        const hits = await store.queryHeads(n, { limit: 500, filter: compileFilter({ phase: 'b' })! });
        expect(hits.length).toBe(119 + 1);
        // wrong as a whole: mixed namespaces or one record twice
        const other = await ns();
        await expectCode(store.commitMany([inputs[0]!, { ...inputs[1]!, ns: other }]), VALIDATION);
        await expectCode(store.commitMany([inputs[0]!, inputs[0]!]), VALIDATION);
        expect(await store.commitMany([])).toEqual([]);
      });

      it(`scanHeads is ${opts.scanHeads ? 'offered: every head in itemId order, in batches, like queryHeads' : 'not offered'}`, async () => {
        expect(typeof store.scanHeads).toBe(opts.scanHeads ? 'function' : 'undefined');
        if (!store.scanHeads) return;
        const n = await ns();
        for (let i = 0; i < 130; i++) {
          const id = `s${String((i * 37) % 130).padStart(3, '0')}`;
          await create(n, id, { metaIndexed: { odd: i % 2 === 1 } });
          if (i % 10 === 0) await next(n, id, 0, { deleted: true, op: 'DELETE' });
        }
        const batches: HeadDoc[][] = [];
        for await (const b of store.scanHeads(n, { includeDeleted: true, batchSize: 40 })) batches.push(b);
        expect(batches.map((b) => b.length)).toEqual([40, 40, 40, 10]);
        const all = batches.flat();
        const byQuery = await store.queryHeads(n, { limit: 1000, includeDeleted: true });
        expect(all.map(clean)).toEqual(byQuery.map(clean));
        expect(all.map((h) => h.itemId)).toEqual([...all.map((h) => h.itemId)].sort());
        const live: HeadDoc[] = [];
        for await (const b of store.scanHeads(n, { batchSize: 1000, filter: compileFilter({ odd: true })! })) live.push(...b);
        expect(live.map((h) => h.itemId)).toEqual((await store.queryHeads(n, { limit: 1000, filter: compileFilter({ odd: true })! })).map((h) => h.itemId));
        expect(live.every((h) => !h.deleted && h.metaIndexed.odd === true)).toBe(true);
        // leaving early closes the scan; the store keeps working
        for await (const b of store.scanHeads(n, { includeDeleted: true, batchSize: 7 })) {
          expect(b).toHaveLength(7);
          break;
        }
        expect((await store.getHead(n, 's000'))!.itemId).toBe('s000');
        const bad = store.scanHeads(n, { batchSize: 0 })[Symbol.asyncIterator]();
        await expectCode(bad.next(), VALIDATION);
      });

      it('a create without a state gets a valid state', async () => {
        const n = await ns();
        await create(n, 'r1');
        const head = await store.getHead(n, 'r1');
        expect(STATES).toContain(head!.state);
      });

      it('updates with the matching expectedOv', async () => {
        const n = await ns();
        const a = await create(n, 'r1', {}, { createdAt: 777, state: 'new' });
        const b = await next(n, 'r1', 0, { metaIndexed: { n: 'one' }, op: 'UPDATE' }, { createdAt: 999 });
        const c = await next(n, 'r1', 1, { op: 'DELETE', deleted: true, metaIndexed: {} });
        expect(b.cv).toBeGreaterThan(a.cv);
        expect(c.cv).toBeGreaterThan(b.cv);
        const head = await store.getHead(n, 'r1');
        expect(head!.ov).toBe(2);
        expect(head!.cv).toBe(c.cv);
        expect(head!.deleted).toBe(true);
        expect(head!.op).toBe('DELETE');
        expect(head!.jsonKey).toBe(c.version.jsonKey);
        expect(head!.createdAt).toBe(777); // createdAt is ignored on update
        expect(head!.state).toBe('new'); // state kept when not given
        expect((await store.listVersions(n, 'r1')).map((v) => [v.ov, v.cv])).toEqual([[0, a.cv], [1, b.cv], [2, c.cv]]);
      });

      it('stores the given head state on update', async () => {
        const n = await ns();
        await create(n, 'r1', {}, { createdAt: 1, state: 'new' });
        await next(n, 'r1', 0, {}, { state: 'processed' });
        expect((await store.getHead(n, 'r1'))!.state).toBe('processed');
      });

      it('stores, keeps and clears the shadow', async () => {
        const n = await ns();
        const shadow = { json: '{"a":1,"ü":"✓"}', expiresAt: 1_800_000_000_000 };
        await create(n, 'r1', {}, { createdAt: 1, shadow });
        expect((await store.getHead(n, 'r1'))!.shadow).toEqual(shadow);
        await next(n, 'r1', 0, {}, {});
        expect((await store.getHead(n, 'r1'))!.shadow).toEqual(shadow);
        const shadow2 = { json: '{"a":2}', expiresAt: 1_800_000_000_001 };
        await next(n, 'r1', 1, {}, { shadow: shadow2 });
        expect((await store.getHead(n, 'r1'))!.shadow).toEqual(shadow2);
        await next(n, 'r1', 2, {}, { shadow: null });
        expect((await store.getHead(n, 'r1'))!.shadow ?? undefined).toBeUndefined();
        // versions never carry the shadow
        for (const v of await store.listVersions(n, 'r1')) expect((v as HeadDoc).shadow).toBeUndefined();
      });

      it('rejects a stale expectedOv with OptimisticLockError and leaves no trace', async () => {
        const n = await ns();
        await chain(n, 'r1', 3);
        const headBefore = await store.getHead(n, 'r1');
        const versionsBefore = await store.listVersions(n, 'r1');
        for (const stale of [0, 1, 3, 7]) {
          const version = mkVersion(n, 'r1', stale + 1, { metaIndexed: { stale: true } });
          await expectCode(store.commit({ ns: n, version, expectedOv: stale, head: { state: 'processed' } }), OPTIMISTIC_LOCK);
        }
        expect(await store.getHead(n, 'r1')).toEqual(headBefore);
        expect(await store.listVersions(n, 'r1')).toEqual(versionsBefore);
        expect(await store.queryHeads(n, { limit: 10, filter: compileFilter({ stale: true })! })).toEqual([]);
      });

      it('rejects a create over an existing head and leaves no trace', async () => {
        const n = await ns();
        await chain(n, 'r1', 2);
        const headBefore = await store.getHead(n, 'r1');
        const versionsBefore = await store.listVersions(n, 'r1');
        const version = mkVersion(n, 'r1', 0, { metaIndexed: { again: true } });
        await expectCode(store.commit({ ns: n, version, expectedOv: null, head: { createdAt: 5 } }), OPTIMISTIC_LOCK);
        expect(await store.getHead(n, 'r1')).toEqual(headBefore);
        expect(await store.listVersions(n, 'r1')).toEqual(versionsBefore);
      });

      it('rejects an update of a missing record with OptimisticLockError', async () => {
        const n = await ns();
        await expectCode(store.commit({ ns: n, version: mkVersion(n, 'ghost', 1), expectedOv: 0, head: {} }), OPTIMISTIC_LOCK);
        expect(await store.getHead(n, 'ghost')).toBeNull();
        expect(await store.listVersions(n, 'ghost')).toEqual([]);
      });

      it('rejects a version whose ov is not expectedOv + 1 and leaves no trace', async () => {
        const n = await ns();
        await chain(n, 'r1', 2);
        const headBefore = await store.getHead(n, 'r1');
        const versionsBefore = await store.listVersions(n, 'r1');
        await expect(store.commit({ ns: n, version: mkVersion(n, 'r1', 1), expectedOv: 1, head: {} })).rejects.toThrow();
        await expect(store.commit({ ns: n, version: mkVersion(n, 'r1', 5), expectedOv: 1, head: {} })).rejects.toThrow();
        await expect(store.commit({ ns: n, version: mkVersion(n, 'r2', 1), expectedOv: null, head: { createdAt: 1 } })).rejects.toThrow();
        expect(await store.getHead(n, 'r1')).toEqual(headBefore);
        expect(await store.listVersions(n, 'r1')).toEqual(versionsBefore);
        expect(await store.getHead(n, 'r2')).toBeNull();
      });

      it('of 16 concurrent updaters with the same expectedOv exactly one wins', async () => {
        const n = await ns();
        await chain(n, 'r1', 1);
        for (let round = 0; round < 3; round++) {
          const versions = Array.from({ length: 16 }, (_, i) => mkVersion(n, 'r1', round + 1, { metaIndexed: { racer: i } }));
          const results = await Promise.allSettled(versions.map((version) => store.commit({ ns: n, version, expectedOv: round, head: {} })));
          const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
          expect(won).toHaveLength(1);
          for (const r of results) if (r.status === 'rejected') expect((r.reason as { code?: string }).code).toBe(OPTIMISTIC_LOCK);
          const head = await store.getHead(n, 'r1');
          expect(head!.ov).toBe(round + 1);
          expect(head!.jsonKey).toBe(versions[won[0]!]!.jsonKey);
          expect(head!.metaIndexed).toEqual({ racer: won[0] });
        }
        const list = await store.listVersions(n, 'r1');
        expect(list.map((v) => v.ov)).toEqual([0, 1, 2, 3]);
      });

      it('readers racing with writers only ever see committed versions', async () => {
        const n = await ns();
        await chain(n, 'r1', 1);
        let done = false;
        const problems: string[] = [];
        const reader = (async () => {
          while (!done) {
            const head = await store.getHead(n, 'r1');
            const list = await store.listVersions(n, 'r1');
            if (!head) problems.push('head vanished');
            else {
              const v = await store.getVersion(n, 'r1', { ov: head.ov });
              if (!v || v.jsonKey !== head.jsonKey || v.cv !== head.cv) problems.push(`head ov ${head.ov} has no matching committed version`);
            }
            // the list is gapless and ends no lower than the head seen before it
            if (list.some((v, i) => v.ov !== i)) problems.push(`gap in ${list.map((v) => v.ov).join(',')}`);
            if (head && list.length < head.ov + 1) problems.push(`list shorter (${list.length}) than head ov ${head.ov}`);
            await new Promise((r) => setImmediate(r));
          }
        })();
        try {
          for (let round = 0; round < 8; round++) {
            const versions = Array.from({ length: 8 }, (_, i) => mkVersion(n, 'r1', round + 1, { metaIndexed: { racer: i } }));
            const results = await Promise.allSettled(versions.map((version) => store.commit({ ns: n, version, expectedOv: round, head: {} })));
            expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
          }
        } finally {
          done = true;
          await reader;
        }
        expect(problems).toEqual([]);
        expect((await store.listVersions(n, 'r1')).map((v) => v.ov)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
      });

      it('of 16 concurrent creators of one id exactly one wins', async () => {
        const n = await ns();
        const versions = Array.from({ length: 16 }, (_, i) => mkVersion(n, 'same', 0, { metaIndexed: { racer: i } }));
        const results = await Promise.allSettled(versions.map((version) => store.commit({ ns: n, version, expectedOv: null, head: { createdAt: version.at } })));
        const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
        expect(won).toHaveLength(1);
        for (const r of results) if (r.status === 'rejected') expect((r.reason as { code?: string }).code).toBe(OPTIMISTIC_LOCK);
        const list = await store.listVersions(n, 'same');
        expect(list).toHaveLength(1);
        expect(list[0]!.jsonKey).toBe(versions[won[0]!]!.jsonKey);
      });

      it('assigns distinct increasing cvs to concurrent commits on different records', async () => {
        const n = await ns();
        const results = await Promise.all(Array.from({ length: 20 }, (_, i) => create(n, `p${i}`)));
        const cvs = results.map((r) => r.cv);
        expect(new Set(cvs).size).toBe(20);
        expect(await store.currentCv(n)).toBe(Math.max(...cvs));
        for (let i = 0; i < 20; i++) expect((await store.getHead(n, `p${i}`))!.cv).toBe(cvs[i]);
      });
    });

    describe('getVersion', () => {
      it('by ov returns that version of that record only', async () => {
        const n = await ns();
        const a = await chain(n, 'A', 4);
        const b = await chain(n, 'B', 2);
        for (const v of a) expect(clean((await store.getVersion(n, 'A', { ov: v.ov }))!)).toEqual(clean(v));
        for (const v of b) expect(clean((await store.getVersion(n, 'B', { ov: v.ov }))!)).toEqual(clean(v));
        expect(await store.getVersion(n, 'A', { ov: 4 })).toBeNull();
        expect(await store.getVersion(n, 'B', { ov: 2 })).toBeNull();
        expect(await store.getVersion(n, 'C', { ov: 0 })).toBeNull();
      });

      it('by at returns the newest version with at <= T of that record only (interleaved A and B)', async () => {
        const n = await ns();
        // A at 100, 300, 500, 500; B at 200, 400, 600 (committed interleaved)
        const A: VersionDoc[] = [];
        const B: VersionDoc[] = [];
        const push = async (arr: VersionDoc[], id: string, at: number) => {
          const ov = arr.length;
          const r = ov === 0 ? await create(n, id, { at }) : await next(n, id, ov - 1, { at });
          arr.push({ ...r.version, cv: r.cv });
        };
        await push(A, 'A', 100);
        await push(B, 'B', 200);
        await push(A, 'A', 300);
        await push(B, 'B', 400);
        await push(A, 'A', 500);
        await push(B, 'B', 600);
        await push(A, 'A', 500);
        const ovAt = async (id: string, at: number) => (await store.getVersion(n, id, { at }))?.ov ?? null;
        expect(await ovAt('A', 99)).toBeNull();
        expect(await ovAt('A', 100)).toBe(0);
        expect(await ovAt('A', 250)).toBe(0);
        expect(await ovAt('A', 399)).toBe(1);
        expect(await ovAt('A', 450)).toBe(1);
        expect(await ovAt('A', 500)).toBe(3);
        expect(await ovAt('A', 10_000)).toBe(3);
        expect(await ovAt('B', 199)).toBeNull();
        expect(await ovAt('B', 350)).toBe(0);
        expect(await ovAt('B', 599)).toBe(1);
        expect(await ovAt('B', 601)).toBe(2);
        for (const t of [0, 100, 150, 200, 300, 450, 500, 550, 600, 700]) {
          const a = await store.getVersion(n, 'A', { at: t });
          if (a) expect(a.itemId).toBe('A');
          const b = await store.getVersion(n, 'B', { at: t });
          if (b) expect(b.itemId).toBe('B');
          const expectA = [...A].reverse().find((v) => v.at <= t);
          expect(a ? clean(a) : null).toEqual(expectA ? clean(expectA) : null);
          const expectB = [...B].reverse().find((v) => v.at <= t);
          expect(b ? clean(b) : null).toEqual(expectB ? clean(expectB) : null);
        }
      });

      it('by cv returns the newest version with cv <= C of that record only', async () => {
        const n = await ns();
        const all: VersionDoc[] = [];
        const counts: Record<string, number> = { A: 0, B: 0 };
        for (const id of ['A', 'B', 'B', 'A', 'A', 'B', 'A']) {
          const ov = counts[id]!;
          const r = ov === 0 ? await create(n, id) : await next(n, id, ov - 1);
          counts[id] = ov + 1;
          all.push({ ...r.version, cv: r.cv });
        }
        const maxCv = Math.max(...all.map((v) => v.cv));
        for (let c = 0; c <= maxCv + 1; c++) {
          for (const id of ['A', 'B']) {
            const got = await store.getVersion(n, id, { cv: c });
            const want = all.filter((v) => v.itemId === id && v.cv <= c).pop();
            expect(got ? clean(got) : null).toEqual(want ? clean(want) : null);
          }
        }
      });
    });

    describe('listVersions', () => {
      it('lists in ov order with afterOv and limit', async () => {
        const n = await ns();
        const a = await chain(n, 'A', 7);
        await chain(n, 'B', 3);
        expect((await store.listVersions(n, 'A')).map(clean)).toEqual(a.map(clean));
        expect((await store.listVersions(n, 'A', { afterOv: 2 })).map((v) => v.ov)).toEqual([3, 4, 5, 6]);
        expect((await store.listVersions(n, 'A', { limit: 3 })).map((v) => v.ov)).toEqual([0, 1, 2]);
        expect((await store.listVersions(n, 'A', { afterOv: 1, limit: 2 })).map((v) => v.ov)).toEqual([2, 3]);
        expect((await store.listVersions(n, 'A', { afterOv: 6 })).map((v) => v.ov)).toEqual([]);
        expect((await store.listVersions(n, 'A', { afterOv: 100 })).map((v) => v.ov)).toEqual([]);
        expect((await store.listVersions(n, 'B')).map((v) => v.itemId)).toEqual(['B', 'B', 'B']);
        // paging through with afterOv covers every version once
        const seen: number[] = [];
        let after: number | undefined;
        for (;;) {
          const page = await store.listVersions(n, 'A', { limit: 2, ...(after !== undefined ? { afterOv: after } : {}) });
          if (page.length === 0) break;
          seen.push(...page.map((v) => v.ov));
          after = page[page.length - 1]!.ov;
        }
        expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6]);
      });
    });

    describe('findByRequestId', () => {
      it('finds the committed version written with a requestId', async () => {
        const n = await ns();
        const req1 = `req-${rand()}`;
        const req2 = `req-${rand()}`;
        const a = await create(n, 'A', { requestId: req1, requestHash: 'x'.repeat(64) });
        await next(n, 'A', 0);
        const b = await next(n, 'A', 1, { requestId: req2 });
        expect(clean((await store.findByRequestId(n, req1))!)).toEqual(clean({ ...a.version, cv: a.cv }));
        expect(clean((await store.findByRequestId(n, req2))!)).toEqual(clean({ ...b.version, cv: b.cv }));
        expect(await store.findByRequestId(n, `req-${rand()}`)).toBeNull();
      });

      it('never returns a version of a failed commit', async () => {
        const n = await ns();
        await chain(n, 'A', 2);
        const req = `req-${rand()}`;
        await expectCode(store.commit({ ns: n, version: mkVersion(n, 'A', 1, { requestId: req }), expectedOv: 0, head: {} }), OPTIMISTIC_LOCK);
        expect(await store.findByRequestId(n, req)).toBeNull();
      });
    });

    describe('queryHeads', () => {
      // Values of different types under the same fields: the oracle (core's matchFilter)
      // only matches same-type comparisons, as MongoDB does.
      const metas: Record<string, unknown>[] = [
        { s: 'apple', n: 1, b: true, mixed: 'x', tags: ['a', 'b'], o: { p: 1, q: 'deep' } },
        { s: 'banana', n: 2.5, b: false, mixed: 1, o: { p: 2 } },
        { s: 'cherry', n: -3, b: true, mixed: true, o: { p: 'two' } },
        { s: 'Apple', n: 0, mixed: null, o: null },
        { s: '', n: 1e9, b: false, mixed: '1', o: { q: 'deep', r: { z: 1 } } },
        { s: 'apple pie', n: 10, mixed: 0, o: 5 },
        { n: 1, mixed: false, o: { p: 1.5 } },
        { s: 'banana', b: null, mixed: 2, o: { p: null } },
        { s: 'date', n: 7, mixed: 'y', extra: 'only-here' },
        { s: 'elder', n: 7.0001, b: true, mixed: [1, 2], o: { p: -1 } },
        { s: 'fig', n: 100, mixed: { a: 1 }, o: { p: 100, q: 'shallow' } },
        {},
        { s: 'grape', n: 2, b: true, mixed: 'X', o: { p: 2, q: 'deep' } },
        { s: 'zz', n: -0.5, mixed: -1, o: { p: 'deep' } },
        { s: 'ü-umlaut', n: 3, b: false, mixed: 'ü', o: { p: 3 } },
        { s: 'kiwi', n: 4, mixed: 4, deletedOne: true },
      ];
      const ids = metas.map((_, i) => `q${String(i).padStart(2, '0')}`);

      let qn!: Namespace;
      beforeAll(async () => {
        qn = freshNs();
        await store.ensureNamespace(qn);
        for (let i = 0; i < metas.length; i++) await create(qn, ids[i]!, { metaIndexed: metas[i]! });
        // q15 is logically deleted (its head is a delete version)
        await next(qn, ids[15]!, 0, { op: 'DELETE', deleted: true, metaIndexed: metas[15]! });
      });

      const oracle = (filter: unknown, includeDeleted = false) => {
        const node = compileFilter(filter);
        return ids.filter((id, i) => (includeDeleted || i !== 15) && matchFilter(node, metas[i]!));
      };
      const run = async (filter: unknown, includeDeleted = false) => {
        const node = compileFilter(filter);
        const heads = await store.queryHeads(qn, { ...(node ? { filter: node } : {}), limit: 1000, includeDeleted });
        return heads.map((h) => h.itemId);
      };

      const cases: Record<string, unknown>[] = [
        {},
        { s: 'apple' },
        { s: { $eq: 'banana' } },
        { s: { $ne: 'banana' } },
        { s: { $gt: 'banana' } },
        { s: { $gte: 'banana' } },
        { s: { $lt: 'banana' } },
        { s: { $lte: 'banana' } },
        { s: { $gt: 'a', $lt: 'd' } },
        { n: 1 },
        { n: { $gt: 1 } },
        { n: { $gte: 1 } },
        { n: { $lt: 2.5 } },
        { n: { $lte: 2.5 } },
        { n: { $ne: 1 } },
        { n: { $gt: -1, $lte: 7 } },
        { n: { $in: [1, 2, 7] } },
        { n: { $nin: [1, 2, 7] } },
        { b: true },
        { b: false },
        { b: { $ne: true } },
        { b: null },
        { b: { $ne: null } },
        { b: { $exists: true } },
        { b: { $exists: false } },
        { mixed: 1 },
        { mixed: '1' },
        { mixed: true },
        { mixed: false },
        { mixed: 0 },
        { mixed: null },
        { mixed: { $gt: 0 } },
        { mixed: { $gte: 'x' } },
        { mixed: { $lt: 'y' } },
        { mixed: { $gt: true } },
        { mixed: { $lte: null } },
        { mixed: { $in: ['x', 1, true, null] } },
        { mixed: { $nin: ['x', 1, true, null] } },
        { mixed: { $in: [] } },
        { mixed: { $nin: [] } },
        { mixed: { $exists: true } },
        { 'o.p': 1 },
        { 'o.p': { $gt: 1 } },
        { 'o.p': { $gte: 'deep' } },
        { 'o.p': null },
        { 'o.p': { $exists: true } },
        { 'o.p': { $exists: false } },
        { 'o.q': 'deep' },
        { 'o.r.z': 1 },
        { 'o.r.z': { $exists: true } },
        { o: null },
        { o: 5 },
        { o: { $exists: true } },
        { tags: 'a' },
        { tags: { $exists: true } },
        { extra: { $exists: true } },
        { nope: { $exists: true } },
        { nope: null },
        { nope: { $ne: 1 } },
        { $or: [{ s: 'apple' }, { n: { $gte: 10 } }] },
        { $and: [{ b: true }, { n: { $lt: 5 } }] },
        { $or: [{ $and: [{ b: true }, { 'o.p': { $gte: 2 } }] }, { mixed: { $in: ['y', 'X'] } }] },
        { s: { $gte: 'b' }, n: { $lt: 100 }, b: { $exists: true } },
        { $or: [{ s: { $exists: false } }, { n: { $exists: false } }] },
        { s: 'kiwi' },
        { deletedOne: true },
      ];

      it('every operator agrees with core matchFilter (table of cases)', async () => {
        for (const c of cases) {
          const got = await run(c);
          expect({ filter: c, ids: got }).toEqual({ filter: c, ids: oracle(c) });
        }
      });

      it('random filters agree with core matchFilter (property)', async () => {
        const field = fc.constantFrom('s', 'n', 'b', 'mixed', 'o', 'o.p', 'o.q', 'o.r.z', 'tags', 'nope');
        const value = fc.oneof(
          fc.constantFrom<string | number | boolean | null>('apple', 'banana', 'x', 'X', '1', '', 'deep', 'ü', 1, 2, 0, -1, 2.5, 7, 1e9, true, false, null),
          fc.integer({ min: -5, max: 12 }),
          fc.string({ maxLength: 3 }),
        );
        const leaf = fc.oneof(
          fc.tuple(field, value).map(([f, v]) => ({ [f]: v })),
          fc.tuple(field, fc.constantFrom('$eq', '$ne', '$gt', '$gte', '$lt', '$lte'), value).map(([f, op, v]) => ({ [f]: { [op]: v } })),
          fc.tuple(field, fc.constantFrom('$in', '$nin'), fc.array(value, { maxLength: 4 })).map(([f, op, v]) => ({ [f]: { [op]: v } })),
          fc.tuple(field, fc.boolean()).map(([f, v]) => ({ [f]: { $exists: v } })),
        );
        const filter = fc.oneof(
          { weight: 3, arbitrary: leaf },
          { weight: 1, arbitrary: fc.tuple(fc.constantFrom('$and', '$or'), fc.array(leaf, { minLength: 1, maxLength: 3 })).map(([op, l]) => ({ [op]: l })) },
        );
        await fc.assert(
          fc.asyncProperty(filter, fc.boolean(), async (f, includeDeleted) => {
            expect({ filter: f, ids: await run(f, includeDeleted) }).toEqual({ filter: f, ids: oracle(f, includeDeleted) });
          }),
          { numRuns: 120 },
        );
      });

      it('excludes deleted heads unless includeDeleted', async () => {
        expect(await run({ s: 'kiwi' })).toEqual([]);
        expect(await run({ s: 'kiwi' }, true)).toEqual([ids[15]]);
        const all = await store.queryHeads(qn, { limit: 1000, includeDeleted: true });
        expect(all).toHaveLength(metas.length);
        const del = all.find((h) => h.itemId === ids[15]);
        expect(del!.deleted).toBe(true);
        expect(del!.ov).toBe(1);
      });

      it('returns whole heads', async () => {
        const heads = await store.queryHeads(qn, { limit: 1, filter: compileFilter({ s: 'cherry' })! });
        expect(heads).toHaveLength(1);
        expect(clean(heads[0]!)).toEqual(clean((await store.getHead(qn, heads[0]!.itemId))!));
        expect(heads[0]!.metaIndexed).toEqual(metas[2]);
      });

      it('paginates by itemId with afterId, limit and dir', async () => {
        const live = ids.filter((_, i) => i !== 15);
        expect((await store.queryHeads(qn, { limit: 1000 })).map((h) => h.itemId)).toEqual(live);
        expect((await store.queryHeads(qn, { limit: 1000, dir: -1 })).map((h) => h.itemId)).toEqual([...live].reverse());
        expect((await store.queryHeads(qn, { limit: 3 })).map((h) => h.itemId)).toEqual(live.slice(0, 3));
        expect((await store.queryHeads(qn, { limit: 3, afterId: ids[4]! })).map((h) => h.itemId)).toEqual(live.slice(5, 8));
        expect((await store.queryHeads(qn, { limit: 3, afterId: ids[4]!, dir: -1 })).map((h) => h.itemId)).toEqual([ids[3], ids[2], ids[1]]);
        expect((await store.queryHeads(qn, { limit: 3, afterId: 'q04x' })).map((h) => h.itemId)).toEqual(live.slice(5, 8));
        expect((await store.queryHeads(qn, { limit: 3, afterId: ids[0]!, dir: -1 })).map((h) => h.itemId)).toEqual([]);
        expect((await store.queryHeads(qn, { limit: 3, afterId: 'zzz' })).map((h) => h.itemId)).toEqual([]);
        for (const dir of [1, -1] as const) {
          for (const filter of [undefined, { n: { $gte: 1 } }, { b: { $exists: true } }]) {
            const node = compileFilter(filter);
            const expected = oracle(filter ?? {});
            if (dir === -1) expected.reverse();
            const seen: string[] = [];
            let afterId: string | undefined;
            for (let guard = 0; guard < 100; guard++) {
              const page = await store.queryHeads(qn, { limit: 2, dir, ...(node ? { filter: node } : {}), ...(afterId ? { afterId } : {}) });
              expect(page.length).toBeLessThanOrEqual(2);
              if (page.length === 0) break;
              seen.push(...page.map((h) => h.itemId));
              afterId = page[page.length - 1]!.itemId;
            }
            expect(seen).toEqual(expected);
          }
        }
      });

      it('sees the newest version of each record only', async () => {
        const n = await ns();
        await create(n, 'a', { metaIndexed: { v: 'old' } });
        await next(n, 'a', 0, { metaIndexed: { v: 'new' } });
        expect((await store.queryHeads(n, { limit: 10, filter: compileFilter({ v: 'old' })! })).map((h) => h.itemId)).toEqual([]);
        const hits = await store.queryHeads(n, { limit: 10, filter: compileFilter({ v: 'new' })! });
        expect(hits.map((h) => [h.itemId, h.ov])).toEqual([['a', 1]]);
      });
    });

    describe('currentCv', () => {
      it('is 0 for a new namespace and grows monotonically with commits', async () => {
        const n = await ns();
        expect(await store.currentCv(n)).toBe(0);
        let last = 0;
        for (let i = 0; i < 5; i++) {
          const r = i === 0 ? await create(n, 'a') : await next(n, 'a', i - 1);
          expect(r.cv).toBeGreaterThan(last);
          const cur = await store.currentCv(n);
          expect(cur).toBe(r.cv);
          last = cur;
        }
        const r = await create(n, 'b');
        expect(r.cv).toBeGreaterThan(last);
        expect(await store.currentCv(n)).toBe(r.cv);
        await expectCode(store.commit({ ns: n, version: mkVersion(n, 'b', 0), expectedOv: null, head: { createdAt: 1 } }), OPTIMISTIC_LOCK);
        expect(await store.currentCv(n)).toBeGreaterThanOrEqual(r.cv);
      });
    });

    describe('setState', () => {
      it('changes the head state without adding a version', async () => {
        const n = await ns();
        await chain(n, 'a', 2);
        const before = await store.getHead(n, 'a');
        const cvBefore = await store.currentCv(n);
        expect(await store.setState(n, 'a', 'processed')).toBe(true);
        const after = await store.getHead(n, 'a');
        expect(after!.state).toBe('processed');
        expect({ ...after, state: before!.state }).toEqual(before);
        expect(await store.listVersions(n, 'a')).toHaveLength(2);
        expect(await store.currentCv(n)).toBe(cvBefore);
        expect(await store.setState(n, 'a', 'new')).toBe(true);
        expect((await store.getHead(n, 'a'))!.state).toBe('new');
        expect(await store.setState(n, 'missing', 'processed')).toBe(false);
        expect(await store.getHead(n, 'missing')).toBeNull();
      });
    });

    describe('hardDelete', () => {
      it('removes every version and the head of one record only', async () => {
        const n = await ns();
        const a = await chain(n, 'a', 3);
        const b = await chain(n, 'b', 2);
        const removed = await store.hardDelete(n, 'a');
        expect(removed.map(clean).sort((x, y) => x.ov - y.ov)).toEqual(a.map(clean));
        expect(await store.getHead(n, 'a')).toBeNull();
        expect(await store.listVersions(n, 'a')).toEqual([]);
        expect(await store.getVersion(n, 'a', { ov: 0 })).toBeNull();
        expect(await store.getVersion(n, 'a', { at: Number.MAX_SAFE_INTEGER })).toBeNull();
        expect((await store.queryHeads(n, { limit: 10, includeDeleted: true })).map((h) => h.itemId)).toEqual(['b']);
        expect((await store.listVersions(n, 'b')).map(clean)).toEqual(b.map(clean));
        expect(await store.hardDelete(n, 'a')).toEqual([]);
        // the id can be created again from scratch
        const again = await create(n, 'a');
        expect(again.cv).toBeGreaterThan(b[1]!.cv);
        expect((await store.listVersions(n, 'a')).map((v) => v.ov)).toEqual([0]);
      });
    });

    describe('namespace isolation', () => {
      it('the same itemId in other collections, tenants and databases never shows across', async () => {
        const dbName = `ck_${rand(10)}`;
        const otherDb = `ck_${rand(10)}`;
        const collection = `c${rand(8)}`;
        const tenant = `t${rand(8)}`;
        const spaces: Namespace[] = [
          { dbName, collection },
          { dbName, collection: `${collection}x` },
          { dbName, collection, tenant },
          { dbName, collection, tenant: `${tenant}2` },
          { dbName: otherDb, collection },
          { dbName: otherDb, collection, tenant },
        ];
        for (const s of spaces) await store.ensureNamespace(s);
        const req = `req-${rand()}`;
        // create the same id everywhere: no create may see another namespace's head
        const made = [];
        for (let i = 0; i < spaces.length; i++) {
          made.push(await create(spaces[i]!, 'same', { metaIndexed: { space: i }, at: 1000 + i, requestId: req }));
          for (let j = 0; j < i; j++) await next(spaces[i]!, 'same', j, { metaIndexed: { space: i }, at: 2000 + j });
        }
        for (let i = 0; i < spaces.length; i++) {
          const s = spaces[i]!;
          const head = await store.getHead(s, 'same');
          expect(head!.metaIndexed).toEqual({ space: i });
          expect(head!.ov).toBe(i);
          const versions = await store.listVersions(s, 'same');
          expect(versions).toHaveLength(i + 1);
          expect(versions.every((v) => (v.metaIndexed as { space: number }).space === i)).toBe(true);
          expect((await store.getVersion(s, 'same', { ov: 0 }))!.metaIndexed).toEqual({ space: i });
          expect((await store.getVersion(s, 'same', { at: 1999 }))!.at).toBe(1000 + i);
          expect((await store.findByRequestId(s, req))!.metaIndexed).toEqual({ space: i });
          expect((await store.queryHeads(s, { limit: 100, includeDeleted: true })).map((h) => h.metaIndexed)).toEqual([{ space: i }]);
          expect((await store.queryHeads(s, { limit: 100, filter: compileFilter({ space: { $exists: true } })! })).map((h) => h.metaIndexed)).toEqual([{ space: i }]);
          expect(await store.currentCv(s)).toBe(Math.max(...versions.map((v) => v.cv)));
          // the cv seek sees only this namespace's versions
          expect((await store.getVersion(s, 'same', { cv: Number.MAX_SAFE_INTEGER }))!.ov).toBe(i);
        }
        // state, hard delete and conflicts stay inside their namespace
        expect(await store.setState(spaces[0]!, 'same', 'processed')).toBe(true);
        for (const s of spaces.slice(1)) expect((await store.getHead(s, 'same'))!.state).not.toBe('processed');
        await store.hardDelete(spaces[1]!, 'same');
        expect(await store.getHead(spaces[1]!, 'same')).toBeNull();
        for (const s of [spaces[0]!, ...spaces.slice(2)]) expect(await store.getHead(s, 'same')).not.toBeNull();
        await next(spaces[2]!, 'same', 2);
        expect((await store.getHead(spaces[3]!, 'same'))!.ov).toBe(3);
        expect((await store.getHead(spaces[2]!, 'same'))!.ov).toBe(3);
        // a fresh namespace next to busy ones starts at cv 0
        expect(await store.currentCv({ dbName, collection: `${collection}y` })).toBe(0);
        expect(await store.currentCv({ dbName, collection, tenant: `${tenant}3` })).toBe(0);
      });
    });
  });
}
