/** I10 inside one store: tenants of one collection never see each other. */
import { NotFoundError } from '@chronos-db/core';
import { expect } from '../assert.js';
import { rnd } from './context.js';
import type { BehaviourSuite } from './context.js';

export function namespaceIsolationTests(b: BehaviourSuite): void {
  const { t, engine } = b;
  t.describe('namespace isolation', () => {
    t.it('I10 inside one store: namespaces never see each other', async () => {
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
  });
}
