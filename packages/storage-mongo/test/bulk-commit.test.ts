/**
 * commitMany without transactions (FerretDB): a `_pending` document stands for the `_h` flags
 * of a batch. Commands per batch, and crashes between the version insert and the head writes:
 * another process's readers repair every committed record and delete the document.
 */
import { MongoClient } from 'mongodb';
import { compileFilter, type CommitInput, type Namespace, type VersionDoc } from '@chronos-db/core';
import { countCommands, createMongoMetadataStore, type MongoMetadataStore } from '@chronos-db/storage-mongo';
import { describeMongo, MONGO_URL, rand } from './helpers/env';
import { mkVersion } from './helpers/versions';

const freshNs = (): Namespace => ({ dbName: `bk_${rand(10)}`, collection: `b${rand(8)}` });
const creates = (ns: Namespace, ids: string[], extra: Partial<VersionDoc> = {}): CommitInput[] =>
  ids.map((id) => ({ ns, version: mkVersion(id, 0, extra) as VersionDoc, expectedOv: null, head: { createdAt: 1, state: 'new' } }));

describeMongo('storage-mongo commitMany: the _pending document of a batch (FerretDB, no transactions)', () => {
  let client: MongoClient;
  let other: MongoClient;
  let store: MongoMetadataStore;
  let reader: MongoMetadataStore;
  const pendingOf = (ns: Namespace) => client.db(ns.dbName).collection(`${ns.collection}_pending`);

  beforeAll(async () => {
    client = new MongoClient(MONGO_URL!, { monitorCommands: true });
    other = new MongoClient(MONGO_URL!); // another process: its own per-client state
    store = createMongoMetadataStore({ client, erasure: false });
    reader = createMongoMetadataStore({ client: other, erasure: false });
  });
  afterAll(async () => {
    await store.close();
    await reader.close();
    await client.close();
    await other.close();
  });

  it('a batch of creates is 4 commands (the _pending insert, the versions, the heads, the _pending delete), 3 awaited; no _h flag is left', async () => {
    const ns = freshNs();
    await store.ensureNamespace(ns);
    await store.commitMany!(creates(ns, ['warm1', 'warm2'])); // first commits read the max cv once
    await store.settle();
    const counter = countCommands(client);
    const rs = await store.commitMany!(
      creates(
        ns,
        Array.from({ length: 40 }, (_, i) => `c${i}`),
      ),
    );
    const awaited = counter.commands;
    await store.settle();
    // eslint-disable-next-line no-console
    console.log(`[storage-mongo] commands per commitMany of 40 creates: ${counter.commands} (awaited: ${awaited})`);
    expect(rs.every((r) => r.ok)).toBe(true);
    expect(awaited).toBe(3);
    expect(counter.commands).toBe(4);
    const db = client.db(ns.dbName);
    expect(await db.collection(`${ns.collection}_ver`).countDocuments({ _h: true })).toBe(0);
    expect(await pendingOf(ns).countDocuments({})).toBe(0);
    expect((await store.getHead(ns, 'c7'))!).toMatchObject({ ov: 0, state: 'new', createdAt: 1 });
  });

  it('an id that exists fails alone (its head untouched); the others land', async () => {
    const ns = freshNs();
    await store.commitMany!(creates(ns, ['x'], { metaIndexed: { first: true } }));
    const rs = await store.commitMany!(creates(ns, ['a', 'x', 'b'], { metaIndexed: { first: false } }));
    expect(rs.map((r) => r.ok)).toEqual([true, false, true]);
    expect((rs[1] as { error: Error }).error.name).toBe('OptimisticLockError');
    expect((await store.getHead(ns, 'x'))!.metaIndexed).toEqual({ first: true });
    await store.settle();
    expect(await pendingOf(ns).countDocuments({})).toBe(0);
  });

  it('crash after the version insert, before the heads (creates and updates): another process queries every committed version and deletes the _pending document', async () => {
    const ns = freshNs();
    await store.commitMany!(creates(ns, ['u1', 'u2', 'taken'], { metaIndexed: { v: 0 } }));
    const crashing = createMongoMetadataStore({
      client,
      erasure: false,
      onCommitStep: (step) => {
        if (step === 'version') throw new Error('simulated crash after version');
      },
    });
    const u1 = (await store.getHead(ns, 'u1'))!;
    const u2 = (await store.getHead(ns, 'u2'))!;
    const inputs: CommitInput[] = [
      ...creates(ns, ['n1', 'n2', 'taken', 'n3'], { metaIndexed: { v: 'bulk' } }),
      ...[u1, u2].map((h) => ({
        ns,
        version: mkVersion(h.itemId, 1, { metaIndexed: { v: 'bulk' } }) as VersionDoc,
        expectedOv: 0,
        head: {},
        prev: { cv: h.cv, createdAt: h.createdAt },
      })),
    ];
    await expect(crashing.commitMany!(inputs)).rejects.toThrow('simulated crash');
    await crashing.close();
    // the heads lag (raw look): no head for n1..n3, u1 and u2 at ov 0
    const rawHeads = client.db(ns.dbName).collection(`${ns.collection}_head`);
    expect(await rawHeads.countDocuments({ _id: { $in: ['n1', 'n2', 'n3'] } as never })).toBe(0);
    expect(await pendingOf(ns).countDocuments({})).toBe(1);
    const hits = await reader.queryHeads(ns, { limit: 50, filter: compileFilter({ v: 'bulk' })! });
    expect(hits.map((h) => [h.itemId, h.ov]).sort()).toEqual([
      ['n1', 0],
      ['n2', 0],
      ['n3', 0],
      ['u1', 1],
      ['u2', 1],
    ]);
    expect(hits.find((h) => h.itemId === 'u1')!.createdAt).toBe(u1.createdAt);
    expect((await reader.getHead(ns, 'taken'))!.metaIndexed).toEqual({ v: 0 });
    // every listed version that landed shows in its head, 'taken' was refused: nothing left to land
    expect(await pendingOf(ns).countDocuments({})).toBe(0);
    // the chains go on
    const h = (await reader.getHead(ns, 'n2'))!;
    await reader.commit({ ns, version: mkVersion('n2', 1) as VersionDoc, expectedOv: 0, head: {}, prev: { cv: h.cv, createdAt: h.createdAt } });
    expect((await reader.getHead(ns, 'n2'))!.ov).toBe(1);
  });

  it('a _pending document whose versions never landed stays while its writer may be alive, and goes once past the lease', async () => {
    const ns = freshNs();
    await store.commitMany!(creates(ns, ['a1', 'a2']));
    await store.settle();
    await pendingOf(ns).insertMany([
      { _id: 'young' as never, at: Date.now(), items: ['ghost1:0'] },
      { _id: 'old' as never, at: Date.now() - 16 * 60_000, items: ['ghost2:0', 'a1:0'] },
    ]);
    const page = await reader.queryHeads(ns, { limit: 10 });
    expect(page.map((h) => h.itemId)).toEqual(['a1', 'a2']);
    expect((await pendingOf(ns).find({}).toArray()).map((d) => d._id)).toEqual(['young']);
  });
});
