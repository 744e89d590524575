/**
 * A data folder written by the earlier embedded layout (every payload a file
 * under <basePath>/<role>/) still reads after upgrading to SQLite payloads;
 * new writes go into SQLite; chronos.admin.compactLocal() moves the older files in.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CollectionEngine } from '@chronos-db/core';
import { createLocalBlobStore, createLocalMetadataStore } from '@chronos-db/storage-local';
import { initChronos } from 'chronos-db';

describe('embedded data folder of the earlier layout', () => {
  const basePath = mkdtempSync(join(tmpdir(), 'chronos-upgrade-'));
  afterAll(() => rmSync(basePath, { recursive: true, force: true }));

  it('reads every version after the upgrade, before and after admin.compactLocal()', async () => {
    const ns = { dbName: 'myapp', collection: 'users' };
    const meta0 = createLocalMetadataStore({ basePath });
    const old = new CollectionEngine({ ns, meta: meta0, blobs: createLocalBlobStore({ basePath }) });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await old.create({ email: `u${i}@x.io`, i })).id);
    await old.update(ids[0]!, { email: 'u0@x.io', i: 50 }, 0);
    await meta0.close();
    expect(existsSync(join(basePath, 'json'))).toBe(true);

    const chronos = initChronos({ localStorage: { enabled: true, basePath } });
    const users = chronos.with({ dbName: 'myapp', collection: 'users' });
    const latest = async () => Promise.all(ids.map(async (id) => (await users.getLatest(id))?.i));
    expect(await latest()).toEqual([50, 1, 2, 3, 4]);
    expect((await users.getVersion(ids[0]!, 0))?.i).toBe(0);
    const fresh = await users.create({ email: 'new@x.io', i: 9 });
    expect((await users.getLatest(fresh.id))?.i).toBe(9);

    // the optional migration: chronos.admin.compactLocal() moves the files into SQLite
    await expect(chronos.admin.compactLocal({})).rejects.toMatchObject({ code: 'VALIDATION' });
    expect(await chronos.admin.compactLocal({ dryRun: true })).toEqual({ moved: 6, movedBytes: expect.any(Number), keptAsFiles: 0, dryRun: true });
    expect(existsSync(join(basePath, 'json', 'myapp'))).toBe(true);
    expect(await chronos.admin.compactLocal({ confirm: true })).toMatchObject({ moved: 6, keptAsFiles: 0, dryRun: false });
    expect(existsSync(join(basePath, 'json', 'myapp'))).toBe(false);
    expect(await latest()).toEqual([50, 1, 2, 3, 4]);
    expect((await chronos.admin.compactLocal({ confirm: true })).moved).toBe(0);
    await chronos.admin.shutdown();

    const again = initChronos({ localStorage: { enabled: true, basePath } });
    const u2 = again.with({ dbName: 'myapp', collection: 'users' });
    expect(await Promise.all(ids.map(async (id) => (await u2.getLatest(id))?.i))).toEqual([50, 1, 2, 3, 4]);
    expect((await u2.getLatest(fresh.id))?.i).toBe(9);
    await again.admin.shutdown();
  });
});
