/**
 * Type tests of `chronos.with<T>(ctx)` (expect-type). Not run by jest: the test
 * command's `tsc -p tsconfig.json --noEmit` checks this file, so every
 * `@ts-expect-error` line must be an error and every expectTypeOf must hold.
 * The functions below are never called.
 */
import type { CollectionEngine } from '@chronos-db/core';
import { expectTypeOf } from 'expect-type';
import {
  initChronos,
  type BoundCollection,
  type ChronosRecord,
  type Collection,
  type CreateOptions,
  type CreateResult,
  type EnrichOptions,
  type GcOptions,
  type HistoryEntry,
  type ItemState,
  type ListOptions,
  type ReadOptions,
  type RestoreCollectionOptions,
  type RestoreObjectOptions,
  type RestoreProgress,
  type SmartInsertOptions,
  type TimePoint,
  type WriteOptions,
} from 'chronos-db';

interface User {
  name: string;
  email: string;
  age?: number;
  born: Date;
  address: { city: string; zip: string };
  tags: string[];
}

const user: User = { name: 'Ada', email: 'ada@example.com', born: new Date(0), address: { city: 'London', zip: 'N1' }, tags: ['a'] };
const ctx = { dbName: 'app', collection: 'users' } as const;

export async function typedWrites(): Promise<void> {
  const chronos = initChronos({ localStorage: { enabled: true, basePath: './data' } });
  const users = chronos.with<User>(ctx);
  expectTypeOf(users).toEqualTypeOf<Collection<User>>();
  expectTypeOf(users).toEqualTypeOf<BoundCollection<User>>();

  const c = await users.create(user, 'actor', 'reason', { requestId: 'r1', id: 'u1' });
  expectTypeOf(c).toEqualTypeOf<CreateResult>();
  expectTypeOf(c).toEqualTypeOf<{ id: string; ov: 0; cv: number; createdAt: Date }>();
  // @ts-expect-error a number is not a User
  await users.create(42);
  // @ts-expect-error a field of the wrong type
  await users.create({ ...user, name: 1 });
  // @ts-expect-error a required field missing
  await users.create({ name: 'x', email: 'y', born: new Date(), tags: [] });

  expectTypeOf(await users.update('u1', user, 0)).toEqualTypeOf<{ id: string; ov: number; cv: number; updatedAt: Date }>();
  // @ts-expect-error update takes a whole record
  await users.update('u1', { name: 'only' });

  await users.enrich('u1', { address: { city: 'Paris' } }, { expectedOv: 1 });
  await users.enrich('u1', [{ age: 3 }, { tags: ['b'] }]);
  // @ts-expect-error a patch field of the wrong type
  await users.enrich('u1', { address: { city: 7 } });
  // @ts-expect-error a field User does not have
  await users.enrich('u1', { nickname: 'x' });

  expectTypeOf(await users.smartInsert(user, { uniqueKeys: ['email', 'address.city'] })).toEqualTypeOf<{
    id: string;
    ov: number;
    cv: number;
    created: boolean;
  }>();
  // @ts-expect-error uniqueKeys name fields of User
  await users.smartInsert(user, { uniqueKeys: ['nope'] });
  // @ts-expect-error smartInsert takes a User
  await users.smartInsert({ email: 1 }, { uniqueKeys: ['email'] });

  await users.delete('u1', 2);
  await users.restoreObject('u1', { ov: 0 });
  await users.restoreObject('u1', { at: new Date() });
  await users.restoreObject('u1', { at: '2024-05-01T00:00:00Z' });
  // @ts-expect-error not a time
  await users.restoreObject('u1', { at: 'yesterday' });
  const rc = await users.restoreCollection({ cv: 10 }, { onProgress: (p) => expectTypeOf(p).toEqualTypeOf<RestoreProgress>() });
  expectTypeOf(rc.restored).toBeNumber();
  // @ts-expect-error not a time
  await users.restoreCollection({ at: 'last week' });
}

export async function typedReads(): Promise<void> {
  const chronos = initChronos({ localStorage: { enabled: true, basePath: './data' } });
  const users = chronos.with<User>(ctx);

  const r = await users.getLatest('u1');
  expectTypeOf(r).toEqualTypeOf<ChronosRecord<User> | null>();
  if (r) {
    expectTypeOf(r.id).toBeString();
    expectTypeOf(r.name).toBeString();
    expectTypeOf(r.age).toEqualTypeOf<number | undefined>();
    // a Date reads back as its ISO string
    expectTypeOf(r.born).toBeString();
    expectTypeOf(r.address.city).toBeString();
    expectTypeOf(r.tags).toEqualTypeOf<string[]>();
    expectTypeOf(r._system.state).toEqualTypeOf<ItemState>();
    expectTypeOf(r._system.updatedAt).toBeString();
    // @ts-expect-error User has no such field
    void r.nickname;
  }

  const v = await users.getVersion('u1', 0, { includeMeta: true });
  if (v?._meta) expectTypeOf(v._meta.cv).toBeNumber();

  await users.getAsOf('u1', new Date());
  await users.getAsOf('u1', Date.now());
  await users.getAsOf('u1', '2024-05-01');
  await users.getAsOf('u1', '2024-05-01T12:00:00.000+02:00');
  // @ts-expect-error not a time the engine accepts
  await users.getAsOf('u1', 'yesterday');
  // @ts-expect-error not a time
  await users.getAsOf('u1', { at: 1 });
  expectTypeOf<Parameters<typeof users.getAsOf>[1]>().toEqualTypeOf<TimePoint>();

  const item = await users.getItem('u1', { at: Date.now(), includeDeleted: true });
  expectTypeOf(item).toEqualTypeOf<ChronosRecord<User> | null>();
  // @ts-expect-error not a time
  await users.getItem('u1', { at: 'now' });

  const p = await users.getLatest('u1', { projection: ['name', 'email'] });
  if (p) {
    expectTypeOf(p.name).toBeString();
    expectTypeOf(p.email).toBeString();
    // @ts-expect-error not projected
    void p.born;
  }
  // @ts-expect-error projection names fields of User
  await users.getLatest('u1', { projection: ['nope'] });
  // options held in a variable of the exported types are accepted as they are
  const shared: ReadOptions = { includeMeta: true, projection: ['name'] };
  expectTypeOf(await users.getLatest('u1', shared)).toEqualTypeOf<ChronosRecord<User> | null>();
  await users.getItem('u1', { ov: 0, ...shared });

  const page = await users.listByMeta({ filter: { email: 'ada@example.com' }, limit: 10 });
  expectTypeOf(page.items).toEqualTypeOf<ChronosRecord<User>[]>();
  expectTypeOf(page.pageToken).toEqualTypeOf<string | undefined>();
  const q = await users.query({ 'address.city': 'London' }, { limit: 5, projection: ['email'] });
  expectTypeOf(q.items[0]!.email).toBeString();

  const hist = await users.history('u1', { limit: 5, dir: 'asc' });
  expectTypeOf(hist.items).toEqualTypeOf<HistoryEntry[]>();
  expectTypeOf(hist.pageToken).toEqualTypeOf<string | undefined>();
  // @ts-expect-error history pages by token, not by ov
  await users.history('u1', { afterOv: 3 });
  await users.diff('u1', { ov: 0 }, { at: '2024-05-01' });
  // @ts-expect-error not a time
  await users.diff('u1', { at: 'then' });
  const asOf = await users.listAsOf({ at: Date.now() }, { limit: 10 });
  expectTypeOf(asOf.items).toEqualTypeOf<ChronosRecord<User>[]>();
  // @ts-expect-error not a time
  await users.listAsOf({ at: 'yesterday' });
  const feed = await users.changes({ afterCv: 0, includePayload: true });
  expectTypeOf(feed.nextCv).toBeNumber();
  expectTypeOf(feed.items[0]!.data).toEqualTypeOf<ChronosRecord<User> | undefined>();
  for await (const ch of users.watch({ afterCv: feed.nextCv, signal: new AbortController().signal }))
    expectTypeOf(ch.data).toEqualTypeOf<ChronosRecord<User> | undefined>();
  expectTypeOf(await users.getPropertyContent('u1', 'name', { text: true })).toEqualTypeOf<Uint8Array>();
  expectTypeOf(await users.presignProperty('u1', 'address.city', 60)).toBeString();
  const gc = await users.collectGarbage({ dryRun: true } satisfies GcOptions);
  expectTypeOf(gc.scanned).toBeNumber();
}

export async function untyped(): Promise<void> {
  const chronos = initChronos({ localStorage: { enabled: true, basePath: './data' } });
  const any = chronos.with(ctx);
  expectTypeOf(any).toEqualTypeOf<Collection<Record<string, unknown>>>();
  await any.create({ whatever: 1, nested: { ok: true } });
  // @ts-expect-error a record is an object, not a number
  await any.create(42);
  // @ts-expect-error nor a string
  await any.create('x');
  const r = await any.getLatest('x');
  if (r) {
    expectTypeOf(r.id).toBeString();
    expectTypeOf(r.anything).toBeUnknown();
  }
  // @ts-expect-error not a time
  await any.getAsOf('x', 'yesterday');
}

// Collection<T> describes every public method of the engine it types (a new engine method fails here until added).
type EngineMethods = { [K in keyof CollectionEngine]: CollectionEngine[K] extends (...args: never[]) => unknown ? K : never }[keyof CollectionEngine];
expectTypeOf<Exclude<EngineMethods, keyof Collection>>().toBeNever();
expectTypeOf<Exclude<keyof Collection, keyof CollectionEngine>>().toBeNever();

// chronos.admin is typed without @chronos-db/admin's declarations, method for method.
type AdminImpl = ReturnType<typeof import('@chronos-db/admin').createChronosAdmin> & ReturnType<typeof import('../src/rebalance.js').createRebalancer>;
expectTypeOf<keyof AdminImpl>().toEqualTypeOf<keyof import('chronos-db').ChronosAdmin>();

// Every option type a caller names is exported from chronos-db.
export const options: [
  CreateOptions,
  WriteOptions,
  EnrichOptions,
  SmartInsertOptions,
  ReadOptions,
  ListOptions,
  RestoreObjectOptions,
  RestoreCollectionOptions,
] = [
  { id: 'x', requestId: 'r' },
  { requestId: 'r' },
  { expectedOv: 1, actor: 'a' },
  { uniqueKeys: ['email'] },
  { includeMeta: true, projection: ['a'] },
  { filter: { a: 1 }, limit: 10, sort: 'asc' },
  { expectedHeadOv: 2 },
  { parallel: 2, dryRun: true, onProgress: (p: RestoreProgress) => void p.restored },
];
