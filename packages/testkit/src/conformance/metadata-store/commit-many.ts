/** commitMany (optional): each entry lands or fails on its own, like commit; wrong-as-a-whole calls are refused. */
import { compileFilter, type CommitInput } from '@chronos-db/core';
import { expect } from '../../assert.js';
import { expectCode, mkVersion, OPTIMISTIC_LOCK, VALIDATION } from '../helpers.js';
import type { MetaSuite } from './context.js';

export function commitManyTests(s: MetaSuite): void {
  const { t, store, ns, create, next, opts } = s;
  t.describe('commitMany', () => {
    t.itIf(!!opts.commitMany, 'commitMany not offered (option commitMany: false)', 'each entry lands or fails on its own, like commit', async () => {
      const commitMany = store.commitMany!;
      const n = await ns();
      const heads: Array<{ id: string; cv: number }> = [];
      for (let i = 0; i < 120; i++) {
        const { cv } = await create(n, `m${String(i).padStart(3, '0')}`, { metaIndexed: { i, phase: 'a' } });
        heads.push({ id: `m${String(i).padStart(3, '0')}`, cv });
      }
      // another writer moves m007 first: its entry must fail alone
      await next(n, 'm007', 0, { metaIndexed: { i: 7, phase: 'other' } });
      await create(n, 'solo');
      const inputs: CommitInput[] = heads.map((h, i) => ({
        ns: n,
        version: mkVersion(n, h.id, 1, { metaIndexed: { i, phase: 'b' } }),
        expectedOv: 0,
        head: {},
        prev: { cv: h.cv, createdAt: 1234 },
      }));
      inputs.push({ ns: n, version: mkVersion(n, 'fresh', 0, { metaIndexed: { phase: 'b' } }), expectedOv: null, head: { createdAt: 99 } });
      inputs.push({ ns: n, version: mkVersion(n, 'solo', 0), expectedOv: null, head: { createdAt: 1 } }); // exists already
      const cvBefore = await store.currentCv(n);
      const results = await commitMany(inputs);
      expect(results).toHaveLength(inputs.length);
      const failed = results.flatMap((r, i) => (r.ok ? [] : [inputs[i]!.version.itemId]));
      expect(failed.sort()).toEqual(['m007', 'solo']);
      for (const r of results) if (!r.ok) expect((r.error as { code?: string }).code).toBe(OPTIMISTIC_LOCK);
      const cvs = results.flatMap((r) => (r.ok ? [r.cv] : []));
      expect(new Set(cvs).size).toBe(cvs.length);
      for (const cv of cvs) expect(cv).toBeGreaterThan(cvBefore);
      for (const [i, h] of heads.entries()) {
        const head = await store.getHead(n, h.id);
        if (h.id === 'm007') expect(head).toMatchObject({ ov: 1, metaIndexed: { phase: 'other' } });
        else expect(head).toMatchObject({ ov: 1, cv: (results[i] as { cv: number }).cv, metaIndexed: { i, phase: 'b' } });
      }
      expect(await store.getHead(n, 'fresh')).toMatchObject({ ov: 0, createdAt: 99 });
      const hits = await store.queryHeads(n, { limit: 500, filter: compileFilter({ phase: 'b' })! });
      expect(hits.length).toBe(119 + 1);
      // wrong as a whole: mixed namespaces or one record twice
      const other = await ns();
      await expectCode(commitMany([inputs[0]!, { ...inputs[1]!, ns: other }]), VALIDATION);
      await expectCode(commitMany([inputs[0]!, inputs[0]!]), VALIDATION);
      expect(await commitMany([])).toEqual([]);
    });
  });
}
