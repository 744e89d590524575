/**
 * A data folder written by storage-local's layout 1 (the fixture in fixtures/layout1, written
 * by the code of main before layout 2: see fixtures/make-layout1.ts) opens with layout 2: it is
 * converted in one transaction on open, and every read and write works on it afterwards.
 */
import { cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { CollectionEngine } from '@chronos-db/core';
import { LAYOUT_VERSION, METADATA_FILE, createLocalStorage } from '@chronos-db/storage-local';
import { tmpDirs } from './helpers/tmp-dirs';

const FIXTURE = join(__dirname, 'fixtures', 'layout1');
const expected = JSON.parse(readFileSync(join(FIXTURE, 'expected.json'), 'utf8')) as {
  ids: string[];
  reqId: string;
  midCv: number;
  cv: number;
  counters: unknown;
  tenantCv: number;
};

describe('a data folder of layout 1', () => {
  const tmp = tmpDirs('chronos-layout1-');
  const copy = () => {
    const d = tmp();
    cpSync(FIXTURE, d, { recursive: true });
    return d;
  };
  const tables = (base: string) => {
    const db = new Database(join(base, METADATA_FILE), { readonly: true });
    try {
      return {
        names: (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map((r) => r.name),
        version: db.pragma('user_version', { simple: true }) as number,
      };
    } finally {
      db.close();
    }
  };

  it('is layout 1 as committed', () => {
    const t = tables(copy());
    expect(t.version).toBe(0);
    expect(t.names).toEqual(expect.arrayContaining(['chronos_heads', 'chronos_versions', 'chronos_cv', 'chronos_blobs']));
  });

  it('reads every record, version, feed entry and counter after the conversion, and takes new writes', async () => {
    const base = copy();
    const st = createLocalStorage({ basePath: base, inlineMaxBytes: 200 });
    const t = tables(base);
    expect(t.version).toBe(LAYOUT_VERSION);
    expect(t.names).not.toContain('chronos_heads');
    expect(t.names).not.toContain('chronos_versions');
    const map = { indexedProps: ['email', 'plan'] };
    const e = new CollectionEngine({ ns: { dbName: 'app', collection: 'users' }, meta: st.meta, blobs: st.blobs, counters: st.meta, map });
    const ten = new CollectionEngine({ ns: { dbName: 'app', tenant: 't1', collection: 'users' }, meta: st.meta, blobs: st.blobs, counters: st.meta });

    expect(await e.getLatest('u0')).toMatchObject({ i: 101, plan: 'pro' });
    expect(await e.getVersion('u0', 0)).toMatchObject({ i: 0, plan: 'free' });
    expect(await e.getLatest('u1')).toMatchObject({ i: 11 });
    expect(await e.getLatest('u2')).toBeNull();
    expect(await e.getLatest('big')).toMatchObject({ text: 'x'.repeat(600) }); // a payload file
    expect(await e.getLatest(expected.reqId)).toMatchObject({ email: 'req@x.io' });
    const h = await e.history('u0');
    expect(h.items.map((x) => x.ov)).toEqual([2, 1, 0]);
    expect(h.items[1]).toMatchObject({ actor: 'ann', reason: 'upgrade' });
    const asOf = await e.listAsOf({ cv: expected.midCv }, { limit: 100 });
    expect(asOf.items.find((r) => (r as { email?: string }).email === 'u0@x.io')).toMatchObject({ i: 101 });
    const feed = await e.changes({ afterCv: 0, limit: 100 });
    expect(feed.items.map((c) => c.cv)).toEqual(Array.from({ length: expected.cv }, (_, i) => i + 1));
    expect(feed.nextCv).toBe(expected.cv);
    expect((await e.listByMeta({ filter: { plan: 'pro' }, limit: 100 })).items.map((r) => r._system?.insertedAt !== undefined)).toHaveLength(3);
    expect(await st.meta.getCounters({ dbName: 'app', collection: 'users' })).toEqual(expected.counters);
    // TTL marking's index reads the converted heads (their last update time came from the old head document)
    const stale = await st.meta.findHeadsByState(
      { dbName: 'app', collection: 'users' },
      { state: 'new', atOrBefore: Date.UTC(2026, 0, 1, 0, 0, 8), limit: 100 },
    );
    expect(stale.map((x) => x.itemId)).toEqual(['u3', 'u4', 'u5', 'big']); // created at 4-7 s; u0 and u1 updated later, u2 deleted
    expect(await ten.getLatest('tu1')).toMatchObject({ i: 2 });
    expect(await st.meta.currentCv({ dbName: 'app', tenant: 't1', collection: 'users' })).toBe(expected.tenantCv);

    // the same requestId replays the version written before the upgrade
    const again = await e.create({ email: 'req@x.io', plan: 'free', i: 7 }, undefined, undefined, { requestId: 'req-1' });
    expect(again.id).toBe(expected.reqId);
    // new writes continue the namespace's cv and the record's ov
    const u = await e.update('u1', { email: 'u1@x.io', plan: 'pro', i: 12 }, 1);
    expect(u).toMatchObject({ ov: 2, cv: expected.cv + 1 });
    const c = await e.create({ email: 'new@x.io', plan: 'free', i: 9 });
    expect(c.cv).toBe(expected.cv + 2);
    expect(await e.getLatest(c.id)).toMatchObject({ i: 9 });
    await st.close();

    // a second open is a no-op, and every record still reads
    const st2 = createLocalStorage({ basePath: base, inlineMaxBytes: 200 });
    const e2 = new CollectionEngine({ ns: { dbName: 'app', collection: 'users' }, meta: st2.meta, blobs: st2.blobs, map });
    expect(await e2.getLatest('u1')).toMatchObject({ i: 12 });
    expect(await e2.getVersion('u1', 0)).toMatchObject({ i: 1 });
    await st2.close();
  });
});
