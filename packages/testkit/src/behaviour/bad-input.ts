/** Bad input (payloads, ids, ovs, filters, ttls, namespaces) is a typed error and writes nothing to either store. */
import { PayloadTooLargeError, ValidationError } from '@chronos-db/core';
import { expect } from '../assert.js';
import { snapshotStores } from './oracle.js';
import type { BehaviourSuite } from './context.js';

export function badInputTests(b: BehaviourSuite): void {
  const { t, stores, engine } = b;
  t.describe('bad input', () => {
    t.it('bad input is a typed error and writes nothing to either store', async () => {
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
      for (const f of [
        { $where: 'sleep(1)' },
        { $function: {} },
        { $expr: {} },
        { $accumulator: {} },
        { a: { $regex: '.*' } },
        JSON.parse('{"__proto__": 1}'),
        { notIndexed: 1 },
      ]) {
        await expect(e.listByMeta({ filter: f as Record<string, unknown> })).rejects.toBeInstanceOf(ValidationError);
      }
      for (const ttl of [0, -1, NaN, 8 * 24 * 3600]) await expect(e.presignProperty(c.id, 'a', ttl)).rejects.toBeInstanceOf(ValidationError);
      for (const coll of ['../x', 'a/b', '', '.', '..', '$x', 'system.users', 'a\u0000b', 'x'.repeat(300)]) {
        expect(() => engine({}, { dbName: e.ns.dbName, collection: coll })).toThrow(ValidationError);
      }
      for (const t of ['a/../b', '*', '']) expect(() => engine({}, { ...e.ns, tenant: t })).toThrow(ValidationError);
      expect(await snapshotStores(stores, e.ns)).toEqual(before);
    });
  });
}
