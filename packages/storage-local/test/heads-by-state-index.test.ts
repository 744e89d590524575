/**
 * findHeadsByState on SQLite reads the index chronos_heads_v2_state_at
 * ((namespace), state, deleted, at, item_id), never scans the heads table: the query the store
 * runs is explained by SQLite itself (EXPLAIN QUERY PLAN), first page and keyset page.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { mkVersion } from '@chronos-db/testkit';
import { createLocalMetadataStore } from '@chronos-db/storage-local';

describe('storage-local findHeadsByState', () => {
  it('is answered from the chronos_heads_v2_state_at index (no table scan), first page and keyset page', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chronos-local-state-'));
    const store = createLocalMetadataStore({ basePath: dir });
    const ns = { dbName: 'app', collection: 'users' };
    try {
      for (let i = 0; i < 30; i++) {
        const at = 1_700_000_000_000 + (i % 5) * 1000;
        await store.commit({ ns, version: mkVersion(ns, `r${i}`, 0, { at }), expectedOv: null, head: { createdAt: at, state: i % 2 ? 'new' : 'processed' } });
      }
      const first = await store.findHeadsByState(ns, { state: 'new', atOrBefore: 1_700_000_002_000, limit: 4 });
      const last = first[first.length - 1]!;
      await store.findHeadsByState(ns, { state: 'new', atOrBefore: 1_700_000_002_000, limit: 4, after: { at: last.at, itemId: last.itemId } });
      const internals = store as unknown as { db: Database.Database; cache: Map<string, Database.Statement> };
      const sqls = [...internals.cache.keys()].filter((s) => s.includes('state = ?'));
      expect(sqls).toHaveLength(2);
      for (const sql of sqls) {
        const params = sql.includes('item_id) > (?, ?)') ? [1, 'new', 1, 0, 'x', 4] : [1, 'new', 1, 4];
        const plan = (internals.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as Array<{ detail: string }>).map((r) => r.detail);
        expect(plan.join(' | ')).toMatch(/USING (COVERING )?INDEX chronos_heads_v2_state_at/);
        expect(plan.join(' | ')).not.toMatch(/USE TEMP B-TREE|SCAN h\b(?! USING)/);
      }
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
