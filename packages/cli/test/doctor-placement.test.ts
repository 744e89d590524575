/**
 * `chronos doctor` reports hashed contexts whose data is not where the config
 * places them (issue 17): a backend added to the config (here a second name
 * of the shared FerretDB, so nothing is started) makes the contexts the hash
 * now sends there show up, each still readable where it is.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initChronos, type ChronosConfig } from 'chronos-db';
import { parseConfig } from '@chronos-db/core';
import { buildTopology, targetBackend } from '@chronos-db/router';
import { MongoClient } from 'mongodb';
import { assertBuilt, cli, lines } from './helpers.js';

const url = process.env.CHRONOS_TEST_MONGO_URL;
const alias = url?.replace('127.0.0.1', 'localhost');
const usable = !!url && alias !== url;
if (!usable) console.log('[skip] doctor placement: needs CHRONOS_TEST_MONGO_URL naming 127.0.0.1 (source .tmp/test-servers.env)');

(usable ? describe : describe.skip)('chronos doctor: placement of hashed contexts', () => {
  const r = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const dir = mkdtempSync(join(tmpdir(), 'chronos-doctor-placement-'));
  const config = (keys: string[]): ChronosConfig => ({
    databases: { runtime: { tenants: keys.map((k) => ({ key: k, mongoUri: k === 's1' ? url! : alias!, dbName: `dp_${k}_${r}` })) } },
    localStorage: { enabled: true, basePath: join(dir, 'data') },
    counters: { mongoUri: url!, dbName: `dp_cnt_${r}` },
    routing: { hashAlgo: 'rendezvous' },
  });
  const tenants = Array.from({ length: 8 }, (_, i) => `t${i}`);

  beforeAll(async () => {
    assertBuilt();
    const c = initChronos(config(['s1']));
    try {
      for (const t of tenants) await c.with({ dbName: `dp_${r}`, collection: 'items', tenantId: t }).create({ t });
    } finally {
      await c.admin.shutdown();
    }
  });
  afterAll(async () => {
    const m = await new MongoClient(url!).connect();
    await m
      .db(`dp_${r}`)
      .dropDatabase()
      .catch(() => {});
    await m
      .db(`dp_cnt_${r}`)
      .dropDatabase()
      .catch(() => {});
    await m.close();
  });

  it('ok when every context is where the config places it; a warning with the count and the fix once a backend is added', async () => {
    writeFileSync(join(dir, 'one.json'), JSON.stringify(config(['s1'])));
    writeFileSync(join(dir, 'two.json'), JSON.stringify(config(['s1', 's2'])));
    const one = await cli(['-c', 'one.json', 'doctor'], { cwd: dir });
    expect(lines(one.stdout).find((l) => l.check === 'placement')).toMatchObject({ status: 'ok' });

    const topo = buildTopology(parseConfig(config(['s1', 's2'])));
    const expected = tenants.filter((t) => targetBackend(topo, { dbName: `dp_${r}`, collection: 'items', tenant: t }).key === 's2').length;
    expect(expected).toBeGreaterThan(0); // else this test could not fail
    const two = await cli(['-c', 'two.json', 'doctor'], { cwd: dir });
    const check = lines(two.stdout).find((l) => l.check === 'placement');
    expect(check).toMatchObject({ status: 'warn' });
    expect(String(check?.detail)).toContain(`${tenants.length} hashed context(s)`);
    expect(String(check?.detail)).toContain(`${expected} not where the config places them`);
    expect(String(check?.fix)).toContain('rebalance');
  });
});
