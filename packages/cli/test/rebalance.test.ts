/**
 * `chronos rebalance` (issue 17) on two FerretDB servers: the shared one (s1)
 * and one this file starts (s2). Hashed tenants written with s1 alone; s2 is
 * added to the config: `--plan` lists the tenants the hash now sends there,
 * without `--yes` off a terminal nothing moves, on a terminal it asks and
 * shows a progress bar, then every record reads and each moved tenant lives on
 * s2 only (raw driver). `--drain s2 --keep-source` moves them back and keeps
 * the copies. Payloads stay in the embedded store (one storage connection:
 * nothing to copy there).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initChronos, type ChronosConfig } from 'chronos-db';
import { parseConfig } from '@chronos-db/core';
import { buildTopology, targetBackend } from '@chronos-db/router';
import { MongoClient } from 'mongodb';
import { describeServers, rnd, startSecondFerret, type SecondFerret } from '../../chronos-db/test/helpers/servers';
import { assertBuilt, cli, hasScript, inTerminal, plain } from './helpers';

const RECORDS = 2;

describeServers('chronos rebalance on two FerretDB servers', (env) => {
  const r = rnd();
  const dir = mkdtempSync(join(tmpdir(), 'chronos-cli-rebalance-'));
  const dbName = `crb_${r}`;
  let second: SecondFerret;
  const raw: MongoClient[] = [];
  // chosen so that two move to s2 and two stay (the rendezvous hash depends on this run's dbName)
  const tenants: string[] = [];
  const movers: string[] = [];
  const config = (keys: string[]): ChronosConfig => ({
    databases: { runtime: { tenants: keys.map((k) => ({ key: k, mongoUri: k === 's1' ? env.mongoUrl : second.url, dbName: `crb_${k}_${r}` })) } },
    localStorage: { enabled: true, basePath: join(dir, 'data') },
    counters: { mongoUri: env.mongoUrl, dbName: `crb_cnt_${r}` },
    routing: { hashAlgo: 'rendezvous', placementLeaseMs: 300, placementWaitMs: 20_000 },
    // a move waits twice for the writes begun before its fence: lease + 2 x this (the default makes it 20 s)
    operationTimeoutMs: 3000,
  });
  const run = (args: string[]) => cli(args, { cwd: dir });

  /** Servers (s1, s2) holding version documents of a tenant. */
  const where = async (t: string) => {
    const out: string[] = [];
    for (const [i, c] of raw.entries()) if (await c.db(dbName).collection(`${t}__items_ver`).countDocuments({})) out.push(`s${i + 1}`);
    return out;
  };

  beforeAll(async () => {
    assertBuilt();
    second = await startSecondFerret();
    raw.push(await new MongoClient(env.mongoUrl).connect(), await new MongoClient(second.url).connect());
    const topo = buildTopology(parseConfig(config(['s1', 's2'])));
    const stayers: string[] = [];
    for (let i = 0; movers.length < 2 || stayers.length < 2; i++) {
      const t = `t${i}`;
      const side = targetBackend(topo, { dbName, collection: 'items', tenant: t }).key === 's2' ? movers : stayers;
      if (side.length < 2) side.push(t);
    }
    tenants.push(...movers, ...stayers);
    writeFileSync(join(dir, 'one.json'), JSON.stringify(config(['s1'])));
    writeFileSync(join(dir, 'two.json'), JSON.stringify(config(['s1', 's2'])));
    const c = initChronos(config(['s1']));
    try {
      for (const t of tenants)
        for (let i = 0; i < RECORDS; i++) {
          const items = c.with({ dbName, collection: 'items', tenantId: t });
          await items.create({ t, n: 0 }, undefined, undefined, { id: `r${i}` });
          await items.update(`r${i}`, { t, n: 1 });
        }
    } finally {
      await c.admin.shutdown();
    }
  }, 120_000);
  afterAll(async () => {
    for (const db of [dbName, `crb_cnt_${r}`, `crb_s1_${r}`])
      await raw[0]
        ?.db(db)
        .dropDatabase()
        .catch(() => {});
    for (const c of raw) await c.close().catch(() => {});
    second?.stop();
  });

  it('--plan lists the tenants the hash sends to the added server; without --yes off a terminal nothing moves (exit 2)', async () => {
    const plan = await run(['-c', 'two.json', 'rebalance', '--plan', '--json']);
    expect({ code: plan.code, err: plan.stderr }).toEqual({ code: 0, err: '' });
    const p = JSON.parse(plan.stdout) as { moves: Array<{ context: { tenantId: string }; from: string; to: string; records: number; versions: number }> };
    expect(p.moves.map((m) => m.context.tenantId).sort()).toEqual([...movers].sort());
    for (const m of p.moves) expect(m).toMatchObject({ from: 's1', to: 's2', records: RECORDS, versions: expect.any(Number) });
    expect(p.moves.every((m) => m.versions >= RECORDS * 2)).toBe(true);

    const refused = await run(['-c', 'two.json', 'rebalance']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('refusing without --yes');
    for (const t of movers) expect(await where(t)).toEqual(['s1']);
    const none = await run(['-c', 'one.json', 'rebalance', '--plan']);
    expect({ code: none.code, plan: JSON.parse(none.stdout) }).toMatchObject({ code: 0, plan: { contexts: tenants.length, moves: [] } });
  });

  it('rebalance asks (on a terminal, with a progress bar) or runs with --yes; then every record reads, each moved tenant lives on s2 only', async () => {
    if (hasScript) {
      const out = join(dir, 'moved.json');
      const t = await inTerminal(dir, ['-c', 'two.json', 'rebalance'], { stdoutFile: out, waitFor: '(y/N)', answer: 'y' });
      const screen = plain(t.screen);
      expect({ code: t.code, asked: screen.includes(`Move ${movers.length} hashed context(s) (${movers.length * RECORDS} records`), screen }).toMatchObject({
        code: 0,
        asked: true,
      });
      expect(screen).toMatch(new RegExp(`${movers.length}/${movers.length} contexts`));
      expect(JSON.parse(readFileSync(out, 'utf8'))).toMatchObject({ moved: movers.length, records: movers.length * RECORDS, failed: [] });
    } else {
      console.log('[skip] rebalance prompt in a terminal: `script` (util-linux) is not installed; --yes instead');
      const y = await run(['-c', 'two.json', 'rebalance', '--yes']);
      expect(JSON.parse(y.stdout)).toMatchObject({ moved: movers.length, failed: [] });
    }
    for (const t of tenants) expect([t, await where(t)]).toEqual([t, movers.includes(t) ? ['s2'] : ['s1']]);
    const again = await run(['-c', 'two.json', 'rebalance', '--yes']);
    expect({ code: again.code, out: JSON.parse(again.stdout) }).toMatchObject({ code: 0, out: { moved: 0 } });
    const c = initChronos(config(['s1', 's2']));
    try {
      for (const t of tenants)
        for (let i = 0; i < RECORDS; i++) {
          const items = c.with<{ t: string; n: number }>({ dbName, collection: 'items', tenantId: t });
          expect([t, await items.getLatest(`r${i}`), (await items.history(`r${i}`)).items.length]).toEqual([t, expect.objectContaining({ t, n: 1 }), 2]);
        }
    } finally {
      await c.admin.shutdown();
    }
    const g = await run(['-c', 'two.json', '--db', dbName, '--collection', 'items', '--tenant', movers[0]!, 'get', 'r0']);
    expect(JSON.parse(g.stdout)).toMatchObject({ t: movers[0], n: 1, _meta: { ov: 1 } });
  });

  it('--drain s2 --keep-source moves them back to s1 and keeps the copies on s2', async () => {
    const plan = JSON.parse((await run(['-c', 'two.json', 'rebalance', '--plan', '--drain', 's2', '--json'])).stdout) as { moves: unknown[] };
    expect(plan.moves).toHaveLength(movers.length);
    const d = await run(['-c', 'two.json', 'rebalance', '--drain', 's2', '--keep-source', '--yes']);
    // the whole output on a failure: a context that did not move says why in the result
    expect({ code: d.code, err: d.stderr, out: d.stdout }).toMatchObject({ code: 0, err: '' });
    const res = JSON.parse(d.stdout) as { moved: number; sourcesKept: unknown[]; sourcesRemoved: number };
    expect(res).toMatchObject({ moved: movers.length, sourcesRemoved: 0 });
    expect(res.sourcesKept).toHaveLength(movers.length);
    for (const t of movers) expect(await where(t)).toEqual(['s1', 's2']);
    const after = JSON.parse((await run(['-c', 'two.json', 'rebalance', '--plan', '--drain', 's2', '--json'])).stdout) as { moves: unknown[] };
    expect(after.moves).toEqual([]);
    const bad = await run(['-c', 'two.json', 'rebalance', '--plan', '--drain', 'nope']);
    expect(bad.code).toBe(2);
  });
});
