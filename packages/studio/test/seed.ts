/** A seeded embedded store (localStorage in a temp dir) for the studio tests: two tenants, one record each. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initChronos } from 'chronos-db';
import type { StudioContext } from '@chronos-db/studio';

export const config = (dir: string) => ({
  localStorage: { enabled: true, basePath: join(dir, 'data') },
  collectionMaps: { users: { indexedProps: ['team', 'n'] }, docs: { indexedProps: [], base64Props: { file: { contentType: 'text/html' } } } },
  logging: { level: 'error' as const },
});

export async function seeded() {
  const dir = mkdtempSync(join(tmpdir(), 'chronos-studio-'));
  const chronos = initChronos(config(dir));
  const t1 = chronos.with({ dbName: 'shop', collection: 'users', tenantId: 't1' });
  const t2 = chronos.with({ dbName: 'shop', collection: 'users', tenantId: 't2' });
  await t1.create({ name: 'Alice', team: 'red', n: 1, password: 'hunter2-secret', note: 'mongodb://alice:pa55word@db.example/x' }, 'seed', 'first', {
    id: 'alice',
  });
  await t1.update('alice', { name: 'Alice', team: 'blue', n: 2, password: 'hunter2-secret', note: 'x' }, 0, 'ops', 'moved team');
  await t2.create({ name: 'Bob', team: 'red', n: 1 }, 'seed', 'first', { id: 'bob' });
  const docs = chronos.with({ dbName: 'shop', collection: 'docs', tenantId: 't1' });
  await docs.create({ title: 'v0', file: Buffer.from('<script>alert(1)</script> v0').toString('base64') }, 'seed', 'doc', { id: 'doc1' });
  await docs.update('doc1', { title: 'v1', file: Buffer.from('second upload').toString('base64') }, 0, 'seed', 'doc');
  const contexts: StudioContext[] = [
    { dbName: 'shop', tenantId: 't1', collections: ['users', 'docs'] },
    { dbName: 'shop', tenantId: 't2', collections: ['users'] },
  ];
  return {
    dir,
    chronos,
    t1,
    t2,
    contexts,
    async cleanup() {
      await chronos.admin.shutdown();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Every version of a record, oldest first. */
export async function allOvs(
  col: { history: (id: string, o: { dir: 'asc'; limit: number; pageToken?: string }) => Promise<{ items: { ov: number }[]; pageToken?: string }> },
  id: string,
) {
  const out: number[] = [];
  let pageToken: string | undefined;
  do {
    const p = await col.history(id, { dir: 'asc', limit: 1000, ...(pageToken ? { pageToken } : {}) });
    out.push(...p.items.map((i) => i.ov));
    pageToken = p.pageToken;
  } while (pageToken);
  return out;
}
