/** enrich (deep merge, array union, functionIds) and smartInsert (one record under concurrency). */
import { ValidationError } from '@chronos-db/core';
import { expect } from '../assert.js';
import type { BehaviourSuite } from './context.js';

export function enrichAndSmartInsertTests(b: BehaviourSuite): void {
  const { t, engine } = b;
  t.describe('enrich and smartInsert', () => {
    t.it('enrich deep-merges, unions arrays (by id for objects) and records functionIds', async () => {
      const e = engine();
      const c = await e.create({ name: 'x', tags: ['a'], profile: { a: 1, nested: { b: 1 } }, items: [{ id: 1, q: 1 }] });
      await e.enrich(c.id, { tags: ['b', 'a'], profile: { nested: { c: 2 } }, items: [{ id: 1, r: 2 }, { id: 2 }] }, { functionId: 'fn-1' });
      await e.enrich(c.id, [{ profile: { a: 9 } }, { tags: ['c'] }], { functionId: 'fn-2', expectedOv: 1 });
      const r = await e.getLatest(c.id, { includeMeta: true });
      expect(r).toMatchObject({ name: 'x', tags: ['a', 'b', 'c'], profile: { a: 9, nested: { b: 1, c: 2 } }, items: [{ id: 1, q: 1, r: 2 }, { id: 2 }] });
      expect(r!._system.functionIds).toEqual(['fn-1', 'fn-2']);
      expect(r!._meta!.ov).toBe(2);
    });

    t.it('smartInsert creates once and enriches after, with no duplicates under concurrency', async () => {
      const e = engine({ map: { indexedProps: ['email'] } });
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) => e.smartInsert({ email: 'dup@example.com', [`f${i}`]: i }, { uniqueKeys: ['email'], functionId: `w${i}` })),
      );
      expect(results.filter((r) => r.created)).toHaveLength(1);
      expect(new Set(results.map((r) => r.id)).size).toBe(1);
      const page = await e.listByMeta({ filter: { email: 'dup@example.com' } });
      expect(page.items).toHaveLength(1);
      for (let i = 0; i < 8; i++) expect(page.items[0]![`f${i}`]).toBe(i);
      await expect(e.smartInsert({ email: 'x', name: 'y' }, { uniqueKeys: ['name'] })).rejects.toBeInstanceOf(ValidationError);
    });
  });
}
