/**
 * The BlobStore contract (core/src/ports.ts), executable. Every test writes
 * under a random key prefix of its own, in all three bucket roles. Tests of a
 * capability the store does not declare are registered as skipped, with the
 * capability in their title.
 */
import type { BlobCapabilities, BlobListEntry, BlobStore, BucketRole } from '@chronos-db/core';
import { expect } from '../assert.js';
import { registrar, type TestRunner } from '../runner.js';
import { checkSkipList, expectCode, NOT_FOUND, OPTIMISTIC_LOCK, rand, setUpStore, type StoreFactory, type SuiteOptions, VALIDATION } from './helpers.js';

export type BlobStoreFactory = StoreFactory<BlobStore>;

/** The capabilities the suite reads (skips by). */
export type TestedBlobCapabilities = Pick<BlobCapabilities, 'conditionalWrite' | 'presign'>;

export interface BlobStoreOptions extends SuiteOptions {
  /**
   * What the store declares in `capabilities` once made (checked by the first test); the tests
   * of a capability set to false are skipped. Default: every capability on.
   */
  capabilities?: Partial<TestedBlobCapabilities>;
  /** Whether the store offers the optional `getRange` (checked; its tests skip when false). Default false. */
  getRange?: boolean;
  /** Whether the store offers the optional `purgePrefix` (erasure; checked; its test skips when false). Default false. */
  purgePrefix?: boolean;
}

const ROLES: BucketRole[] = ['json', 'content', 'backups'];

function bytes(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

const text = (s: string) => new TextEncoder().encode(s);

/** Compares bytes without caring whether the store returns a Buffer or a plain Uint8Array. */
function expectBytes(got: Uint8Array, want: Uint8Array): void {
  // realm-independent checks (jest runs tests in another realm than Node's own objects)
  expect(Object.prototype.toString.call(got)).toBe('[object Uint8Array]');
  expect(got.byteLength).toBe(want.byteLength);
  expect(Buffer.from(got.buffer, got.byteOffset, got.byteLength).equals(Buffer.from(want.buffer, want.byteOffset, want.byteLength))).toBe(true);
}

/** A valid Date, checked without instanceof (Node's Dates come from another realm than jest's). */
function expectDate(d: unknown): void {
  expect(Object.prototype.toString.call(d)).toBe('[object Date]');
  expect(Number.isNaN((d as Date).getTime())).toBe(false);
}

async function collect(it: AsyncIterable<BlobListEntry>): Promise<BlobListEntry[]> {
  const out: BlobListEntry[] = [];
  for await (const e of it) out.push(e);
  return out;
}

/** Keys that must be refused with a ValidationError by every operation. */
export const UNSAFE_KEYS = [
  '',
  '/abs',
  '/etc/passwd',
  '..',
  '../x',
  'a/../../x',
  'a/..',
  './x',
  'a/./b',
  'a//b',
  'a/',
  'a\\b',
  '..\\x',
  'a b',
  'a?b',
  'a#b',
  'a%2e%2e/b',
  'a:b',
  'a*b',
  'a\u0000b',
  'a\nb',
  'é',
  '~x',
];

export function runBlobStoreConformance(runner: TestRunner, name: string, factory: BlobStoreFactory, opts: BlobStoreOptions = {}): void {
  const t = registrar(runner, opts.skip);
  const caps: TestedBlobCapabilities = { conditionalWrite: true, presign: true, ...opts.capabilities };
  const it = t.it;

  t.describe(`BlobStore conformance: ${name}`, () => {
    const store = setUpStore(t, 'BlobStore', factory);

    /** A fresh key prefix for one test: `ck-<random>/`. */
    const root = () => `ck-${rand(12)}/`;

    it('round-trips binary bytes', async () => {
      const r = root();
      const all = new Uint8Array(256).map((_, i) => i);
      await store.put('content', `${r}all.bin`, all, { contentType: 'application/octet-stream' });
      expectBytes(await store.get('content', `${r}all.bin`), all);
      const some = bytes(4099, 7);
      await store.put('json', `${r}a/b/c/item.json`, some);
      expectBytes(await store.get('json', `${r}a/b/c/item.json`), some);
      const h = await store.head('json', `${r}a/b/c/item.json`);
      expect(h).not.toBeNull();
      expect(h!.size).toBe(4099);
      if (h!.lastModified !== undefined) expectDate(h!.lastModified);
    });

    it('round-trips an empty object', async () => {
      const r = root();
      await store.put('json', `${r}empty`, new Uint8Array(0));
      expectBytes(await store.get('json', `${r}empty`), new Uint8Array(0));
      expect((await store.head('json', `${r}empty`))!.size).toBe(0);
    });

    it('round-trips about 5 MB', async () => {
      const r = root();
      const big = bytes(5 * 1024 * 1024 + 17, 99);
      await store.put('content', `${r}big.bin`, big);
      expectBytes(await store.get('content', `${r}big.bin`), big);
      expect((await store.head('content', `${r}big.bin`))!.size).toBe(big.byteLength);
    });

    it('accepts every allowed key character', async () => {
      const r = root();
      const key = `${r}AZaz09._-/x.y-z_0/v12/item.json`;
      await store.put('json', key, text('ok'));
      expectBytes(await store.get('json', key), text('ok'));
      expect((await collect(store.list('json', r))).map((e) => e.key)).toEqual([key]);
    });

    it('overwrites without ifNoneMatch', async () => {
      const r = root();
      await store.put('json', `${r}k`, text('one'));
      await store.put('json', `${r}k`, text('second'));
      expectBytes(await store.get('json', `${r}k`), text('second'));
      expect((await store.head('json', `${r}k`))!.size).toBe(6);
    });

    it('get of a missing key throws NotFoundError; head returns null', async () => {
      const r = root();
      for (const role of ROLES) {
        await expectCode(store.get(role, `${r}missing`), NOT_FOUND);
        await expectCode(store.get(role, `${r}missing/deeper/x.json`), NOT_FOUND);
        expect(await store.head(role, `${r}missing`)).toBeNull();
      }
      await store.put('json', `${r}dir/file`, text('x'));
      // a "directory" prefix is not an object
      await expectCode(store.get('json', `${r}dir`), NOT_FOUND);
      expect(await store.head('json', `${r}dir`)).toBeNull();
    });

    t.itIf(
      !!opts.getRange,
      'getRange not offered (option getRange: false)',
      'getRange reads a byte range; past the end it is shorter; a missing key is NotFoundError',
      async () => {
        const r = root();
        const body = new Uint8Array(5000).map((_, i) => (i * 7) % 256);
        for (const role of ROLES) {
          await store.put(role, `${r}range.bin`, body);
          const getRange = store.getRange!.bind(store);
          expectBytes(await getRange(role, `${r}range.bin`, 0, 10), body.subarray(0, 10));
          expectBytes(await getRange(role, `${r}range.bin`, 1234, 2000), body.subarray(1234, 3234));
          expectBytes(await getRange(role, `${r}range.bin`, 4990, 100), body.subarray(4990));
          expect((await getRange(role, `${r}range.bin`, 6000, 10)).byteLength).toBe(0);
          await expectCode(getRange(role, `${r}missing.bin`, 0, 10), NOT_FOUND);
          await expectCode(getRange(role, `${r}range.bin`, -1, 10), VALIDATION);
          await expectCode(getRange(role, `${r}range.bin`, 0, Number.NaN), VALIDATION);
          await expectCode(getRange(role, '../x', 0, 10), VALIDATION);
        }
      },
    );

    it(`offers getRange exactly as the suite was told (${opts.getRange ? 'offered' : 'not offered'})`, async () => {
      expect(typeof store.getRange).toBe(opts.getRange ? 'function' : 'undefined');
    });

    t.itIf(
      !!opts.purgePrefix,
      'purgePrefix not offered (option purgePrefix: false)',
      'purgePrefix deletes every key under the prefix and nothing else; an empty or unsafe prefix is a ValidationError and deletes nothing',
      async () => {
        const r = root();
        const purge = store.purgePrefix!.bind(store);
        const gone = [`${r}rec/a/v0/item.json`, `${r}rec/a/v1/item.json`, `${r}rec/a-b`];
        const kept = [`${r}rec/b/v0/item.json`, `${r}re/a`, `${r}other`];
        for (const k of [...gone, ...kept]) await store.put('json', k, text(k));
        await store.put('content', `${r}rec/a/blob.bin`, text('other role'));
        await expectCode(purge('json', ''), VALIDATION);
        await expectCode(purge('json', '../x'), VALIDATION);
        expect((await collect(store.list('json', r))).map((e) => e.key)).toEqual([...gone, ...kept].sort());
        // at least one delete per key (a store that keeps object versions deletes those too)
        expect(await purge('json', `${r}rec/a`)).toBeGreaterThanOrEqual(gone.length);
        expect((await collect(store.list('json', r))).map((e) => e.key)).toEqual([...kept].sort());
        for (const k of gone) await expectCode(store.get('json', k), NOT_FOUND);
        expectBytes(await store.get('content', `${r}rec/a/blob.bin`), text('other role'));
        expect(await purge('json', `${r}nothing/`)).toBe(0);
      },
    );

    it(`offers purgePrefix exactly as the suite was told (${opts.purgePrefix ? 'offered' : 'not offered'})`, async () => {
      expect(typeof store.purgePrefix).toBe(opts.purgePrefix ? 'function' : 'undefined');
    });

    it('delete is idempotent and removes the object', async () => {
      const r = root();
      await store.put('json', `${r}d/x`, text('x'));
      await store.put('json', `${r}d/y`, text('y'));
      await store.delete('json', `${r}d/x`);
      await expectCode(store.get('json', `${r}d/x`), NOT_FOUND);
      expect(await store.head('json', `${r}d/x`)).toBeNull();
      await store.delete('json', `${r}d/x`);
      await store.delete('json', `${r}never/was`);
      expectBytes(await store.get('json', `${r}d/y`), text('y'));
      expect((await collect(store.list('json', r))).map((e) => e.key)).toEqual([`${r}d/y`]);
      // a deleted key can be written again
      await store.put('json', `${r}d/x`, text('again'), { ifNoneMatch: store.capabilities.conditionalWrite });
      expectBytes(await store.get('json', `${r}d/x`), text('again'));
    });

    it('lists keys under a prefix in key order, without leaking other prefixes', async () => {
      const r = root();
      const keys = [
        `${r}p/a-c`,
        `${r}p/a/b`,
        `${r}p/a/b0`,
        `${r}p/a.b`,
        `${r}p/ab`,
        `${r}p/a_z`,
        `${r}p/B`,
        `${r}p/z/y/x/deep.json`,
        `${r}p/0`,
        `${r}p/a/b/c`.replace('/b/c', '/bc'),
      ];
      const others = [`${r}p2/a`, `${r}px`, `${r}q/p/a`, `${r}Pa`];
      const shuffled = [...keys, ...others].sort(() => Math.random() - 0.5);
      for (const [i, k] of shuffled.entries()) await store.put('json', k, bytes(i + 1, i + 1));
      const sorted = [...keys].sort();
      const listed = await collect(store.list('json', `${r}p/`));
      expect(listed.map((e) => e.key)).toEqual(sorted);
      for (const e of listed) {
        expect(e.size).toBe(shuffled.indexOf(e.key) + 1);
        expectDate(e.lastModified);
      }
      // a prefix that ends inside a name
      expect((await collect(store.list('json', `${r}p/a`))).map((e) => e.key)).toEqual(sorted.filter((k) => k.startsWith(`${r}p/a`)));
      expect((await collect(store.list('json', `${r}p/a/`))).map((e) => e.key)).toEqual(sorted.filter((k) => k.startsWith(`${r}p/a/`)));
      expect((await collect(store.list('json', `${r}p`))).map((e) => e.key)).toEqual([...keys, `${r}p2/a`, `${r}px`].sort());
      expect((await collect(store.list('json', r))).map((e) => e.key)).toEqual([...keys, ...others].sort());
      expect(await collect(store.list('json', `${r}nothing/`))).toEqual([]);
      expect(await collect(store.list('json', `${r}p/zz`))).toEqual([]);
      // other buckets see none of it
      expect(await collect(store.list('content', r))).toEqual([]);
      expect(await collect(store.list('backups', r))).toEqual([]);
    });

    it('keeps the three bucket roles isolated', async () => {
      const r = root();
      const key = `${r}same/key.bin`;
      for (const [i, role] of ROLES.entries()) await store.put(role, key, text(`role-${role}-${i}`));
      for (const [i, role] of ROLES.entries()) {
        expectBytes(await store.get(role, key), text(`role-${role}-${i}`));
        expect((await collect(store.list(role, r))).map((e) => e.key)).toEqual([key]);
      }
      await store.delete('json', key);
      await expectCode(store.get('json', key), NOT_FOUND);
      expectBytes(await store.get('content', key), text('role-content-1'));
      expectBytes(await store.get('backups', key), text('role-backups-2'));
      await store.put('content', `${r}only-content`, text('c'));
      expect(await store.head('json', `${r}only-content`)).toBeNull();
      expect(await store.head('backups', `${r}only-content`)).toBeNull();
    });

    const noConditional = 'the store declares conditionalWrite: false';
    t.itIf(caps.conditionalWrite, noConditional, 'ifNoneMatch refuses an existing key with OptimisticLockError', async () => {
      const r = root();
      await store.put('json', `${r}once`, text('first'), { ifNoneMatch: true });
      await expectCode(store.put('json', `${r}once`, text('second'), { ifNoneMatch: true }), OPTIMISTIC_LOCK);
      expectBytes(await store.get('json', `${r}once`), text('first'));
      expect((await collect(store.list('json', r))).map((e) => e.key)).toEqual([`${r}once`]);
      // the same key in another role is another object
      await store.put('content', `${r}once`, text('other'), { ifNoneMatch: true });
    });

    t.itIf(caps.conditionalWrite, noConditional, 'of 8 concurrent ifNoneMatch puts exactly one wins', async () => {
      const r = root();
      const bodies = Array.from({ length: 8 }, (_, i) => bytes(2000 + i, i + 3));
      const results = await Promise.allSettled(bodies.map((b) => store.put('json', `${r}race`, b, { ifNoneMatch: true })));
      const won = results.flatMap((x, i) => (x.status === 'fulfilled' ? [i] : []));
      expect(won).toHaveLength(1);
      for (const x of results) if (x.status === 'rejected') expect((x.reason as { code?: string }).code).toBe(OPTIMISTIC_LOCK);
      expectBytes(await store.get('json', `${r}race`), bodies[won[0]!]!);
    });

    it('readers see all of an object or none of it (atomic put)', async () => {
      const r = root();
      const a = new Uint8Array(512 * 1024).fill(0x61);
      const b = new Uint8Array(512 * 1024 + 3).fill(0x62);
      await store.put('content', `${r}atomic`, a);
      const writes = (async () => {
        for (let i = 0; i < 6; i++) await store.put('content', `${r}atomic`, i % 2 ? a : b);
      })();
      const reads = (async () => {
        for (let i = 0; i < 12; i++) {
          const got = await store.get('content', `${r}atomic`);
          const first = got[0];
          expect(got.byteLength === a.byteLength || got.byteLength === b.byteLength).toBe(true);
          expect(got.byteLength).toBe(first === 0x61 ? a.byteLength : b.byteLength);
          expect(got.every((x) => x === first)).toBe(true);
        }
      })();
      await Promise.all([writes, reads]);
      // a key never written is never visible half-way either
      expect(await store.head('content', `${r}never`)).toBeNull();
    });

    it('refuses unsafe keys with ValidationError and writes nothing', async () => {
      const r = root();
      await store.put('json', `${r}keep`, text('keep'));
      for (const bad of UNSAFE_KEYS) {
        for (const key of [bad, `${r}${bad}`]) {
          await expectCode(store.put('json', key, text('evil')), VALIDATION);
          await expectCode(store.put('json', key, text('evil'), { ifNoneMatch: true }), VALIDATION);
          await expectCode(store.get('json', key), VALIDATION);
          await expectCode(store.head('json', key), VALIDATION);
          await expectCode(store.delete('json', key), VALIDATION);
        }
      }
      expect((await collect(store.list('json', r))).map((e) => e.key)).toEqual([`${r}keep`]);
      for (const probe of ['x', 'etc/passwd', `${r.slice(0, -1)}x`, 'abs', 'a/b', 'b']) {
        for (const role of ROLES) expect(await store.head(role, probe)).toBeNull();
      }
      expectBytes(await store.get('json', `${r}keep`), text('keep'));
    });

    it('refuses an unknown bucket role and an unsafe list prefix with ValidationError', async () => {
      await expectCode(store.put('secrets' as BucketRole, `${root()}x`, text('x')), VALIDATION);
      await expectCode(store.get('../json' as BucketRole, `${root()}x`), VALIDATION);
      const listAll = async (prefix: string) => collect(store.list('json', prefix));
      await expectCode(listAll('../'), VALIDATION);
      await expectCode(listAll('/etc'), VALIDATION);
      await expectCode(listAll('a/../..'), VALIDATION);
    });

    t.itIf(caps.presign, 'the store declares presign: false', 'presigns a GET URL that fetch() can read', async () => {
      const presign = store.presign!;
      const r = root();
      const body = bytes(3000, 5);
      await store.put('content', `${r}shared.bin`, body, { contentType: 'application/octet-stream' });
      const url = await presign('content', `${r}shared.bin`, 60);
      expect(typeof url).toBe('string');
      const res = await fetch(url);
      expect(res.status).toBe(200);
      expectBytes(new Uint8Array(await res.arrayBuffer()), body);
      await expectCode(presign('content', '../x', 60), VALIDATION);
    });

    // last: a store that detects its capabilities (storage-s3's conditionalWrite 'auto') has done so by now
    it(`declares the capabilities the suite was told (conditionalWrite: ${caps.conditionalWrite}, presign: ${caps.presign})`, async () => {
      expect({ conditionalWrite: store.capabilities.conditionalWrite, presign: store.capabilities.presign }).toEqual(caps);
      if (caps.presign) expect(typeof store.presign).toBe('function');
    });

    checkSkipList(t);
  });
}
