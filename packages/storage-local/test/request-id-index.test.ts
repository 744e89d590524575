/**
 * findByRequestId on SQLite seeks the partial index chronos_versions_v2_req (ns, request_id):
 * the query the store runs is explained by SQLite itself (EXPLAIN QUERY PLAN). Left to itself
 * the planner walked the feed index (ns, cv) to skip the ORDER BY's sort, scanning every version
 * of the namespace per call: each queued write's replay check (applyQueued) and each write with
 * a requestId cost O(versions) (bench/README.md, the fallback drain).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { mkVersion } from '@chronos-db/testkit';
import { createLocalMetadataStore } from '@chronos-db/storage-local';

describe('storage-local findByRequestId', () => {
  it('is answered from the chronos_versions_v2_req index (no walk of the namespace)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chronos-local-req-'));
    const store = createLocalMetadataStore({ basePath: dir });
    const ns = { dbName: 'app', collection: 'users' };
    try {
      for (let i = 0; i < 30; i++) {
        const requestId = i % 3 ? undefined : `req-${i}`;
        await store.commit({ ns, version: mkVersion(ns, `r${i}`, 0, requestId ? { requestId } : {}), expectedOv: null, head: { createdAt: 1 } });
      }
      expect((await store.findByRequestId(ns, 'req-9'))?.itemId).toBe('r9');
      expect(await store.findByRequestId(ns, 'req-1')).toBeNull();
      const internals = store as unknown as { db: Database.Database; s: { byReq: Database.Statement } };
      const plan = (internals.db.prepare(`EXPLAIN QUERY PLAN ${internals.s.byReq.source}`).all(1, 'req-9') as Array<{ detail: string }>).map((r) => r.detail);
      expect(plan.join(' | ')).toMatch(/USING (COVERING )?INDEX chronos_versions_v2_req \(ns=\? AND request_id=\?\)/);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
