/**
 * The instance's lifecycle and admin contract on the embedded store:
 * shutdown (CLOSED before any write, no silent reopen), the bounded engine
 * cache, TTL marking by last update, ensureBucketsExist parity, unknown
 * context keys.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CollectionEngine } from '@chronos-db/core';
import { createLocalBlobStore, createLocalMetadataStore } from '@chronos-db/storage-local';
import { ChronosError, MAX_CACHED_ENGINES, RouteError, initChronos } from 'chronos-db';
import { expectBucketsContract } from './helpers/buckets-parity.js';
import { files } from './helpers/stored.js';

const fresh = () => mkdtempSync(join(tmpdir(), 'chronos-lifecycle-'));
const ctx = { dbName: 'app', collection: 'users' };

async function closedError(p: Promise<unknown> | (() => unknown)): Promise<unknown> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    return e;
  }
  return undefined;
}

describe('after admin.shutdown()', () => {
  it('every call is a ChronosError CLOSED, raised before anything is written; shutdown is idempotent', async () => {
    const basePath = fresh();
    const chronos = initChronos({ localStorage: { enabled: true, basePath } });
    const users = chronos.with(ctx);
    const { id, ov } = await users.create({ email: 'a@example.com' });
    expect((await chronos.admin.health()).ok).toBe(true);
    await chronos.admin.shutdown();
    const before = files(basePath);

    const attempts: Array<[string, () => unknown]> = [
      ['with', () => chronos.with(ctx)],
      ['bound create', () => users.create({ email: 'b@example.com' })],
      ['bound update', () => users.update(id, { email: 'c@example.com' }, ov)],
      ['bound getLatest', () => users.getLatest(id)],
      ['bound listByMeta', () => users.listByMeta({})],
      ['health', () => chronos.admin.health()],
      ['listBackends', () => chronos.admin.listBackends()],
      ['gc', () => chronos.admin.gc(ctx, { confirm: true })],
      ['ensureBucketsExist', () => chronos.admin.ensureBucketsExist(ctx, { confirm: true })],
      ['markItemsAsProcessedByTTL', () => chronos.admin.markItemsAsProcessedByTTL(ctx, 0, { confirm: true })],
      ['counters', () => chronos.counters.getTotals({ dbName: 'app', collection: 'users' })],
    ];
    for (const [what, call] of attempts) {
      const e = await closedError(call);
      expect([what, e]).toEqual([what, expect.any(ChronosError)]);
      expect([what, (e as ChronosError).code]).toEqual([what, 'CLOSED']);
    }
    expect(files(basePath)).toEqual(before);
    await expect(chronos.admin.shutdown()).resolves.toBeUndefined();
  });
});

describe('the per-context engine cache', () => {
  it(`is bounded: least recently used of more than ${MAX_CACHED_ENGINES} contexts is rebuilt`, () => {
    const chronos = initChronos({ localStorage: { enabled: true, basePath: fresh() } });
    const a = chronos.with(ctx);
    expect(chronos.with(ctx)).toBe(a);
    const c0 = chronos.with({ dbName: 'app', collection: 'c0' });
    for (let i = 1; i < MAX_CACHED_ENGINES - 1; i++) chronos.with({ dbName: 'app', collection: `c${i}` });
    // Full: a (oldest), c0 ... Touching a makes c0 the oldest; one more context evicts c0, not a.
    expect(chronos.with(ctx)).toBe(a);
    chronos.with({ dbName: 'app', collection: 'extra' });
    expect(chronos.with(ctx)).toBe(a);
    expect(chronos.with({ dbName: 'app', collection: 'c0' })).not.toBe(c0);
    // A process serving many more tenants keeps at most MAX_CACHED_ENGINES: a is evicted in turn.
    for (let i = 0; i < MAX_CACHED_ENGINES; i++) chronos.with({ dbName: 'app', collection: 'users', tenantId: `t${i}` });
    expect(chronos.with(ctx)).not.toBe(a);
    return chronos.admin.shutdown();
  });
});

describe('markItemsAsProcessedByTTL', () => {
  it("uses each record's last update, not its creation", async () => {
    const basePath = fresh();
    const twoDaysAgo = Date.now() - 48 * 3600_000;
    const meta = createLocalMetadataStore({ basePath });
    const blobs = createLocalBlobStore({ basePath });
    const old = new CollectionEngine({ ns: { dbName: 'app', collection: 'users' }, meta, blobs, clock: () => twoDaysAgo });
    const stale = await old.create({ email: 'stale@example.com' });
    const touched = await old.create({ email: 'touched@example.com' });
    await meta.close();
    await blobs.close();

    const chronos = initChronos({ localStorage: { enabled: true, basePath } });
    const users = chronos.with(ctx);
    await users.update(touched.id, { email: 'touched-now@example.com' }, touched.ov);
    const dry = await chronos.admin.markItemsAsProcessedByTTL(ctx, 24, { dryRun: true });
    expect(dry).toEqual({ scanned: 1, marked: 1, dryRun: true }); // scanned: the stale heads read (findHeadsByState)
    await chronos.admin.markItemsAsProcessedByTTL(ctx, 24, { confirm: true });
    const states = Object.fromEntries(
      await Promise.all(
        [stale.id, touched.id].map(async (id) => [id, ((await users.getLatest(id, { includeMeta: true })) as { _system?: { state?: string } })._system?.state]),
      ),
    );
    expect(states[stale.id]).toBe('processed');
    expect(states[touched.id]).not.toBe('processed');
    await chronos.admin.shutdown();
  });
});

describe('ensureBucketsExist on the embedded store', () => {
  it('has the same refusal, dryRun semantics and result shape as on S3', async () => {
    const chronos = initChronos({ localStorage: { enabled: true, basePath: fresh() } });
    await expectBucketsContract(chronos, ctx, ['json', 'content', 'backups']);
    await chronos.admin.shutdown();
  });
});

describe('a context object', () => {
  it('with an unknown key is a RouteError naming the key, before any I/O', () => {
    const chronos = initChronos({ localStorage: { enabled: true, basePath: fresh() } });
    for (const [c, key] of [
      [{ dbName: 'app', collection: 'users', tenant: 't1' }, 'tenant'],
      [{ key: 'x', collection: 'users', colection: 'y' }, 'colection'],
      [{ databaseType: 'runtime', tier: 'generic', collection: 'users', extIdentfier: 'a' }, 'extIdentfier'],
    ] as const) {
      let err: unknown;
      try {
        chronos.with(c as never);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(RouteError);
      expect((err as Error).message).toContain(`"${key}"`);
    }
    return chronos.admin.shutdown();
  });
});
