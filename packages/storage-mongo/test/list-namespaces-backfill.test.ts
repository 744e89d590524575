/**
 * listNamespaces finds namespaces written before the `chronos_namespaces` registry existed
 * (their registry record missing), including those whose collection names hold `__`: their
 * parts are read from the payload keys their documents name, and the registry is backfilled
 * once. Real FerretDB; the pre-registry state is made by removing the records with the raw driver.
 */
import { MongoClient } from 'mongodb';
import { jsonKey, keyPrefix, type Namespace } from '@chronos-db/core';
import { createMongoMetadataStore } from '@chronos-db/storage-mongo';
import { describeMongo, MONGO_URL, rand } from './helpers/env';

jest.setTimeout(120_000);

const keyOf = (n: Namespace) => `${n.dbName}/${n.tenant ?? ''}/${n.collection}`;

describeMongo('listNamespaces: namespaces written before the registry', () => {
  let client: MongoClient;
  beforeAll(async () => {
    client = new MongoClient(MONGO_URL!);
    await client.connect();
  });
  afterAll(async () => {
    await client?.close();
  });

  it('lists them ("__" in tenant or collection told apart by their payload keys), backfills the registry, leaves out what cannot be split', async () => {
    const dbName = `lnb_${rand()}`;
    const a: Namespace = { dbName, tenant: 'acme', collection: 'orders__eu' };
    const b: Namespace = { dbName, tenant: 'tn__x', collection: 'items' };
    const c: Namespace = { dbName, collection: 'plain' };
    const d: Namespace = { dbName, tenant: 'zz', collection: 'empty__one' }; // ensured, never written: no document names its parts
    const writer = createMongoMetadataStore({ uri: MONGO_URL! });
    try {
      for (const n of [a, b, c]) {
        await writer.ensureNamespace(n);
        const [r] = await writer.commitMany!([
          {
            ns: n,
            version: {
              itemId: 'r1',
              ov: 0,
              op: 'CREATE',
              at: Date.now(),
              jsonKey: jsonKey(n, 'r1', 0, 'seed'),
              size: 2,
              sha256: '0'.repeat(64),
              metaIndexed: {},
              deleted: false,
            },
            expectedOv: null,
            head: { createdAt: Date.now() },
          },
        ]);
        if (!r!.ok) throw r!.error;
      }
      await writer.ensureNamespace(d);
    } finally {
      await writer.close();
    }
    expect(keyPrefix(a)).toBe(`${dbName}/t.acme/orders__eu/`);
    // before the registry: no record of any of them
    await client.db(dbName).collection('chronos_namespaces').deleteMany({});

    const warnings: Array<Record<string, unknown>> = [];
    const log = { debug() {}, info() {}, warn: (_m: string, f?: Record<string, unknown>) => warnings.push(f ?? {}), error() {} };
    const reader = createMongoMetadataStore({ uri: MONGO_URL!, logger: log });
    try {
      const found = await reader.listNamespaces!({ dbNames: [dbName] });
      expect(found.map(keyOf).sort()).toEqual([a, b, c].map(keyOf).sort());
      expect(warnings).toEqual([expect.objectContaining({ dbName, name: 'zz__empty__one' })]);
      // the backfill: one record per namespace found, as ensureNamespace writes it
      const recs = await client.db(dbName).collection<{ _id: string }>('chronos_namespaces').find({}).sort({ _id: 1 }).toArray();
      expect(recs).toEqual([
        { _id: 'acme__orders__eu', tenant: 'acme', collection: 'orders__eu' },
        { _id: 'plain', collection: 'plain' },
        { _id: 'tn__x__items', tenant: 'tn__x', collection: 'items' },
      ]);
      // and the next listing reads them
      expect((await reader.listNamespaces!({ dbNames: [dbName] })).map(keyOf).sort()).toEqual([a, b, c].map(keyOf).sort());
    } finally {
      await reader.close();
      await client.db(dbName).dropDatabase();
    }
  });
});
