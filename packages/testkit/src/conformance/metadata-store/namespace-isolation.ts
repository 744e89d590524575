/** Namespace isolation (I10): the same itemId in other collections, tenants and databases never shows across. */
import { compileFilter, type Namespace } from '@chronos-db/core';
import { expect } from '../../assert.js';
import { rand } from '../helpers.js';
import type { MetaSuite } from './context.js';

export function namespaceIsolationTests(s: MetaSuite): void {
  const { t, store, create, next } = s;
  t.describe('namespace isolation', () => {
    t.it('the same itemId in other collections, tenants and databases never shows across', async () => {
      const dbName = `ck_${rand(10)}`;
      const otherDb = `ck_${rand(10)}`;
      const collection = `c${rand(8)}`;
      const tenant = `t${rand(8)}`;
      const spaces: Namespace[] = [
        { dbName, collection },
        { dbName, collection: `${collection}x` },
        { dbName, collection, tenant },
        { dbName, collection, tenant: `${tenant}2` },
        { dbName: otherDb, collection },
        { dbName: otherDb, collection, tenant },
      ];
      for (const s of spaces) await store.ensureNamespace(s);
      const req = `req-${rand()}`;
      // create the same id everywhere: no create may see another namespace's head
      const made = [];
      for (let i = 0; i < spaces.length; i++) {
        made.push(await create(spaces[i]!, 'same', { metaIndexed: { space: i }, at: 1000 + i, requestId: req }));
        for (let j = 0; j < i; j++) await next(spaces[i]!, 'same', j, { metaIndexed: { space: i }, at: 2000 + j });
      }
      for (let i = 0; i < spaces.length; i++) {
        const s = spaces[i]!;
        const head = await store.getHead(s, 'same');
        expect(head!.metaIndexed).toEqual({ space: i });
        expect(head!.ov).toBe(i);
        const versions = await store.listVersions(s, 'same');
        expect(versions).toHaveLength(i + 1);
        expect(versions.every((v) => (v.metaIndexed as { space: number }).space === i)).toBe(true);
        expect((await store.getVersion(s, 'same', { ov: 0 }))!.metaIndexed).toEqual({ space: i });
        expect((await store.getVersion(s, 'same', { at: 1999 }))!.at).toBe(1000 + i);
        expect((await store.findByRequestId(s, req))!.metaIndexed).toEqual({ space: i });
        expect((await store.queryHeads(s, { limit: 100, includeDeleted: true })).map((h) => h.metaIndexed)).toEqual([{ space: i }]);
        expect((await store.queryHeads(s, { limit: 100, filter: compileFilter({ space: { $exists: true } })! })).map((h) => h.metaIndexed)).toEqual([
          { space: i },
        ]);
        expect(await store.currentCv(s)).toBe(Math.max(...versions.map((v) => v.cv)));
        // the cv seek sees only this namespace's versions
        expect((await store.getVersion(s, 'same', { cv: Number.MAX_SAFE_INTEGER }))!.ov).toBe(i);
      }
      // state, hard delete and conflicts stay inside their namespace
      expect(await store.setState(spaces[0]!, 'same', 'processed')).toBe(true);
      for (const s of spaces.slice(1)) expect((await store.getHead(s, 'same'))!.state).not.toBe('processed');
      await store.hardDelete(spaces[1]!, 'same');
      expect(await store.getHead(spaces[1]!, 'same')).toBeNull();
      for (const s of [spaces[0]!, ...spaces.slice(2)]) expect(await store.getHead(s, 'same')).not.toBeNull();
      await next(spaces[2]!, 'same', 2);
      expect((await store.getHead(spaces[3]!, 'same'))!.ov).toBe(3);
      expect((await store.getHead(spaces[2]!, 'same'))!.ov).toBe(3);
      // a fresh namespace next to busy ones starts at cv 0
      expect(await store.currentCv({ dbName, collection: `${collection}y` })).toBe(0);
      expect(await store.currentCv({ dbName, collection, tenant: `${tenant}3` })).toBe(0);
    });
  });
}
