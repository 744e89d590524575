/**
 * Bad filters, ids and namespaces never reach the server; no password from a
 * URI appears in any error, cause, log line or health answer.
 */
import { MongoClient } from 'mongodb';
import { compileFilter, type FilterNode, type Namespace } from '@chronos-db/core';
import { assertSafeQuery, compileMongoFilter, countCommands, createMongoMetadataStore } from '@chronos-db/storage-mongo';
import { describeMongo, MONGO_URL, rand } from './helpers/env';

const expectValidation = async (p: Promise<unknown>) => {
  let err: unknown;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  expect((err as { code?: string } | undefined)?.code).toBe('VALIDATION');
};

describe('filter compiler (no server)', () => {
  it('refuses operators outside the filter language, however the node was built', () => {
    const bad: unknown[] = [
      { op: 'where', field: 'a', value: 'this.a == 1' },
      { op: 'function', field: 'a', value: 1 },
      { op: 'expr', field: 'a', value: 1 },
      { op: 'eq', field: '$where', value: 1 },
      { op: 'eq', field: 'a.$expr', value: 1 },
      { op: 'eq', field: '__proto__', value: 1 },
      { op: 'eq', field: 'a.constructor.prototype', value: 1 },
      { op: 'eq', field: 'a', value: { $gt: 1 } },
      { op: 'eq', field: 'a', value: () => 1 },
      { op: 'eq', field: 'a', value: Number.NaN },
      { op: 'in', field: 'a', values: [{ $where: 'x' }] },
      { op: 'in', field: 'a', values: 'abc' },
      { op: 'exists', field: 'a', value: 'yes' },
      { op: 'and', nodes: [] },
      { op: 'or', nodes: [{ op: 'accumulator', field: 'a', value: 1 }] },
      null,
    ];
    for (const node of bad) expect(() => compileMongoFilter(node as FilterNode)).toThrow(expect.objectContaining({ code: 'VALIDATION' }));
    for (const user of [{ $where: 'sleep(1000)' }, { $function: {} }, { $expr: { $eq: [1, 1] } }, { a: { $accumulator: {} } }, { a: { $regex: '.*' } }]) {
      expect(() => compileFilter(user)).toThrow(expect.objectContaining({ code: 'VALIDATION' }));
    }
  });

  it('only emits safe operators on metaIndexed paths', () => {
    const q = compileMongoFilter(compileFilter({ $or: [{ a: { $gt: 1 } }, { 'b.c': null }, { d: { $nin: ['x', null] } }, { e: { $exists: false } }] }));
    expect(() => assertSafeQuery(q)).not.toThrow();
    const keys = JSON.stringify(q).match(/"[^"]+":/g) ?? [];
    for (const k of keys) {
      const key = k.slice(1, -2);
      if (key.startsWith('$'))
        expect(['$and', '$or', '$nor', '$not', '$eq', '$ne', '$gt', '$gte', '$lt', '$lte', '$in', '$nin', '$exists', '$type']).toContain(key);
      else expect(key === '_id' || key.startsWith('metaIndexed.')).toBe(true);
    }
    expect(() => assertSafeQuery({ $where: 'true' })).toThrow();
    expect(() => assertSafeQuery({ a: { $function: { body: 'x' } } })).toThrow();
    expect(() => assertSafeQuery({ a: /x/ })).toThrow();
  });
});

describeMongo('storage-mongo safety against the server', () => {
  let client: MongoClient;
  beforeAll(() => {
    client = new MongoClient(MONGO_URL!, { monitorCommands: true });
  });
  afterAll(async () => {
    await client.close();
  });

  it('bad filters, ids, namespaces and inputs send no command at all', async () => {
    const store = createMongoMetadataStore({ client });
    const ns: Namespace = { dbName: `ck_${rand(10)}`, collection: `s${rand(6)}` };
    await store.ensureNamespace(ns);
    await store.detectTransactions();
    const counter = countCommands(client);
    const badNodes = [
      { op: 'where', field: 'a', value: '1' },
      { op: 'eq', field: '__proto__', value: 1 },
      { op: 'eq', field: 'a', value: { $gt: 1 } },
    ];
    for (const filter of badNodes) await expectValidation(store.queryHeads(ns, { limit: 10, filter: filter as unknown as FilterNode }));
    for (const id of ['../../x', '%2e%2e', 'a'.repeat(1000), '', 'a/b', '$x']) {
      await expectValidation(store.getHead(ns, id));
      await expectValidation(store.getVersion(ns, id, { ov: 0 }));
      await expectValidation(store.listVersions(ns, id));
      await expectValidation(store.hardDelete(ns, id));
    }
    for (const bad of [
      { ...ns, collection: '../x' },
      { ...ns, collection: 'system.users' },
      { ...ns, dbName: 'admin' },
      { ...ns, tenant: 'a/../b' },
      { ...ns, collection: '$x' },
    ]) {
      await expectValidation(store.getHead(bad, 'a'));
      await expectValidation(store.queryHeads(bad, { limit: 1 }));
    }
    for (const expectedOv of [-1, 1.5, '1', Number.NaN]) {
      await expectValidation(
        store.commit({
          ns,
          version: { itemId: 'a', ov: 0, op: 'UPDATE', at: 1, jsonKey: 'k', size: 1, sha256: 's', metaIndexed: {}, deleted: false },
          expectedOv: expectedOv as number,
          head: {},
        }),
      );
    }
    await expectValidation(store.queryHeads(ns, { limit: 0 }));
    await expectValidation(store.queryHeads(ns, { limit: 10, afterId: '../x' }));
    await expectValidation(store.incrementCounters({ ...ns }, { field: 'created', rules: ['a.b'] }));
    await expectValidation(store.incrementCounters({ ...ns }, { field: 'created', rules: ['$inc'] }));
    expect(counter.commands).toBe(0);
    await store.close();
  });

  it('no password of the URI in errors, causes, logs or ping answers (server unreachable)', async () => {
    const secret = `s3cr3t-${rand(8)}`;
    const uri = `mongodb://alice:${secret}@127.0.0.1:9/?authSource=admin`;
    const lines: string[] = [];
    const sink = (...a: unknown[]) => lines.push(a.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))).join(' '));
    const store = createMongoMetadataStore({
      uri,
      serverSelectionTimeoutMS: 300,
      pingTimeoutMS: 2000,
      logger: { debug: sink, info: sink, warn: sink, error: sink },
    });
    const errors: unknown[] = [];
    const started = Date.now();
    await store.ping().catch((e) => errors.push(e));
    const pingMs = Date.now() - started;
    const ns: Namespace = { dbName: `ck_${rand(10)}`, collection: 'c1' };
    await store.getHead(ns, 'a').catch((e) => errors.push(e));
    await store
      .commit({
        ns,
        version: { itemId: 'a', ov: 0, op: 'CREATE', at: 1, jsonKey: 'k', size: 1, sha256: 's', metaIndexed: {}, deleted: false },
        expectedOv: null,
        head: { createdAt: 1 },
      })
      .catch((e) => errors.push(e));
    await store.getCounters(ns).catch((e) => errors.push(e));
    await store.close();
    expect(errors).toHaveLength(4);
    expect(pingMs).toBeLessThan(30_000); // fails fast (selection timeout), not after the driver default of 30 s
    for (const e of errors) {
      const err = e as Error & { code?: string; cause?: Error; details?: unknown };
      expect(err.code).toBe('STORAGE');
      const everything = [
        err.message,
        err.stack,
        JSON.stringify(err),
        JSON.stringify(err.details),
        err.cause?.message,
        err.cause?.stack,
        String(err.cause),
      ].join('\n');
      expect(everything).not.toContain(secret);
      expect(err.message).toContain('127.0.0.1:9');
    }
    expect(lines.join('\n')).not.toContain(secret);
  });

  it('an unparsable URI with a password is refused without echoing it', () => {
    const secret = `pw-${rand(8)}`;
    let err: Error | undefined;
    try {
      createMongoMetadataStore({ uri: `mongodb://bob:${secret}@host:notaport/` });
    } catch (e) {
      err = e as Error;
    }
    expect(err).toBeDefined();
    expect(`${err!.message}\n${err!.stack}\n${JSON.stringify(err)}`).not.toContain(secret);
  });
});
