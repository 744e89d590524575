/**
 * Transactions are opt-in and `dialect` picks the query branch (issue 9 item 12): every option
 * is implemented or refused, capabilities are reported after detection.
 */
import { MongoClient } from 'mongodb';
import { ValidationError, type Namespace, type VersionDoc } from '@chronos-db/core';
import { createMongoMetadataStore } from '@chronos-db/storage-mongo';
import { describeMongo, MONGO_URL, rand } from './helpers/env';

const version = (itemId: string, ov: number): Omit<VersionDoc, 'cv'> => ({
  itemId,
  ov,
  op: ov ? 'UPDATE' : 'CREATE',
  at: Date.now(),
  jsonKey: `k/${itemId}/${ov}`,
  size: 1,
  sha256: 'e'.repeat(64),
  metaIndexed: { n: ov },
  deleted: false,
});

describe('storage-mongo options, refused before any command', () => {
  it.each([
    [{ autoDetect: true }, /autoDetect applies only with enabled: true/],
    [{ enabled: false, autoDetect: true }, /autoDetect applies only with enabled: true/],
    [{ enabled: 'yes' }, /enabled must be a boolean/],
    [{ retries: 3 }, /Unknown transactions option 'retries'/],
  ])('transactions %j is a ValidationError', (transactions, message) => {
    const client = new MongoClient('mongodb://127.0.0.1:1/');
    expect(() => createMongoMetadataStore({ client, transactions: transactions as never })).toThrow(ValidationError);
    expect(() => createMongoMetadataStore({ client, transactions: transactions as never })).toThrow(message);
  });
  it('an unknown dialect is a ValidationError', () => {
    const client = new MongoClient('mongodb://127.0.0.1:1/');
    expect(() => createMongoMetadataStore({ client, dialect: 'postgres' as never })).toThrow(ValidationError);
  });
});

describeMongo('storage-mongo options on FerretDB (no replica set)', () => {
  let client: MongoClient;
  beforeAll(() => {
    client = new MongoClient(MONGO_URL!);
  });
  afterAll(async () => {
    await client.close();
  });
  const ns = (): Namespace => ({ dbName: `opt_${rand(8)}`, collection: 'c' });

  it('by default no transactions; detect() reports the detected branch and no change streams', async () => {
    const store = createMongoMetadataStore({ client });
    expect(store.capabilities).toEqual({ transactions: false, changeStream: false });
    expect(store.stats().dialect).toBeUndefined();
    expect(await store.detect()).toEqual({ transactions: false, changeStream: false, dialect: 'ferretdb' });
    expect(store.stats()).toMatchObject({ transactions: false, dialect: 'ferretdb' });
    await store.close();
  });

  it('a forced dialect is reported as such', async () => {
    const store = createMongoMetadataStore({ client, dialect: 'mongodb' });
    expect((await store.detect()).dialect).toBe('mongodb');
    await store.close();
  });

  it('transactions.enabled on a server without them: the first commit is a ValidationError and writes nothing', async () => {
    const store = createMongoMetadataStore({ client, transactions: { enabled: true } });
    const n = ns();
    await expect(store.commit({ ns: n, version: version('a', 0), expectedOv: null, head: { createdAt: Date.now() } })).rejects.toThrow(
      /offers no multi-document transactions/,
    );
    await expect(store.detect()).rejects.toBeInstanceOf(ValidationError);
    expect(await store.getHead(n, 'a')).toBeNull();
    expect(await store.listVersions(n, 'a')).toEqual([]);
    await store.close();
  });

  it('transactions { enabled, autoDetect }: the insert protocol where the server has none', async () => {
    const store = createMongoMetadataStore({ client, transactions: { enabled: true, autoDetect: true } });
    const n = ns();
    const r = await store.commit({ ns: n, version: version('a', 0), expectedOv: null, head: { createdAt: Date.now() } });
    expect((await store.getHead(n, 'a'))!.cv).toBe(r.cv);
    expect(store.capabilities.transactions).toBe(false);
    expect(await store.detectTransactions()).toBe(false);
    await store.close();
  });
});
