/**
 * Maintenance without a context covers every namespace of every configured backend, not only
 * the contexts bound in this process: a fresh instance that bound nothing rolls up and prunes
 * what another instance wrote (tenants, several databases, hashed contexts placed through the
 * registry), on the embedded store and on FerretDB + Ceph with two Mongo backends; and
 * startMaintenance without contexts runs its steps on each of them.
 */
import { MongoClient } from 'mongodb';
import { initChronos, type ChronosConfig } from 'chronos-db';
import { buckets, createBuckets, describeServers, rnd } from './helpers/servers.js';
import { tmpDirs } from '../../storage-local/test/helpers/tmp-dirs';

type Ctx = Record<string, string>;
interface Case {
  ctx: Ctx;
  /** The namespace as the report names it. */
  ns: { dbName: string; collection: string; tenant?: string };
}

const T0 = Date.now();
const tick = (what: string) => process.env.ALLNS_TIMING && console.log(`${what} at ${Date.now() - T0} ms`);
const nsKey = (n: { dbName: string; collection: string; tenant?: string }) => `${n.dbName}/${n.tenant ?? ''}/${n.collection}`;

/** Writes 3 versions of one record per case with `writer`, shuts it down; returns the ids. */
async function write(config: ChronosConfig, cases: Case[]): Promise<string[]> {
  const writer = initChronos(config);
  try {
    const ids: string[] = [];
    for (const c of cases) {
      const col = writer.with(c.ctx as never);
      const { id } = await col.create({ n: 0, where: nsKey(c.ns) });
      for (let n = 1; n <= 2; n++) await col.update(id, { n, where: nsKey(c.ns) });
      ids.push(id);
    }
    return ids;
  } finally {
    await writer.admin.shutdown();
  }
}

async function rollupAndPruneFresh(config: ChronosConfig, cases: Case[], ids: string[], labels: string[]) {
  // a fresh instance: it bound nothing
  const fresh = initChronos(config);
  try {
    tick('written');
    const r = await fresh.admin.rollupNow();
    tick('rolled up');
    const rolled = new Map(r.namespaces.map((n) => [nsKey(n), n.result?.rows]));
    for (const c of cases) expect([nsKey(c.ns), rolled.get(nsKey(c.ns))]).toEqual([nsKey(c.ns), 1]); // ov 0 of each record (maxVersions 2)
    const p = await fresh.admin.pruneNow();
    tick('pruned');
    const pruned = new Map(p.namespaces.map((n) => [nsKey(n), n.result?.rows]));
    for (const c of cases) expect([nsKey(c.ns), pruned.get(nsKey(c.ns))]).toEqual([nsKey(c.ns), 1]);
    // every version still reads (the pruned ones through the manifests)
    for (const [i, c] of cases.entries()) {
      const col = fresh.with(c.ctx as never);
      expect((await col.history(ids[i]!, { dir: 'asc' })).items.map((e) => e.ov)).toEqual([0, 1, 2]);
      expect(await col.getVersion(ids[i]!, 0)).toMatchObject({ n: 0, where: nsKey(c.ns) });
    }
  } finally {
    await fresh.admin.shutdown();
  }
  tick('read back');
  // startMaintenance without contexts: a pass runs on every namespace found (its rollup step, a rerun: nothing new by now)
  const maint = initChronos(config);
  try {
    const report = await new Promise<{ ran: boolean; steps: Array<{ context: string; step: string; status: string; reason?: string; result?: unknown }> }>(
      (res) => {
        maint.admin.startMaintenance({ everyMs: 200, skip: ['prune', 'shrink', 'ttl', 'gc', 'erasures'], onReport: (rep) => rep.ran && res(rep) });
      },
    );
    await maint.admin.stopMaintenance();
    tick('maintained');
    const rolled = new Map(report.steps.filter((s) => s.step === 'rollup').map((s) => [s.context, s]));
    for (const l of labels)
      expect([l, rolled.get(l)]).toEqual([
        l,
        expect.objectContaining({
          status: 'done',
          result: expect.objectContaining({ namespaces: [expect.objectContaining({ result: expect.objectContaining({ rows: 0 }) })] }),
        }),
      ]);
    expect(report.steps.filter((s) => s.status === 'failed')).toEqual([]);
  } finally {
    await maint.admin.shutdown();
  }
}

const label = (key: string, ns: Case['ns']) =>
  `key=${key},dbName=${ns.dbName},collection=${ns.collection}${ns.tenant !== undefined ? `,tenantId=${ns.tenant}` : ''}`;

describe('rollupNow / pruneNow / startMaintenance without a context: embedded store', () => {
  const tmp = tmpDirs('chronos-allns-');

  it('a fresh instance that bound nothing rolls up and prunes every namespace another one wrote (tenants, several databases)', async () => {
    const basePath = tmp();
    const config = {
      localStorage: { enabled: true, basePath },
      retention: { ver: { maxVersions: 2 } },
      rollup: { enabled: true, manifestPeriod: 'daily' },
    } as ChronosConfig;
    const cases: Case[] = [
      { ctx: { key: 'local', collection: 'items' }, ns: { dbName: 'chronos', collection: 'items' } },
      { ctx: { dbName: 'app', collection: 'items', tenantId: 't__1' }, ns: { dbName: 'app', collection: 'items', tenant: 't__1' } },
      { ctx: { dbName: 'other', collection: 'c__d', tenantId: 'x' }, ns: { dbName: 'other', collection: 'c__d', tenant: 'x' } },
    ];
    const ids = await write(config, cases);
    await rollupAndPruneFresh(
      config,
      cases,
      ids,
      cases.map((c) => label('local', c.ns)),
    );
  }, 120_000);
});

describeServers('rollupNow / pruneNow / startMaintenance without a context: FerretDB + Ceph, two Mongo backends', (env) => {
  jest.setTimeout(600_000);
  const names = buckets('allns');
  const r = rnd();
  const dbs = [`alla_${r}`, `allb_${r}`, `allh_${r}`];
  afterAll(async () => {
    const c = new MongoClient(env.mongoUrl);
    try {
      for (const d of dbs) await c.db(d).dropDatabase();
    } finally {
      await c.close();
    }
  });

  it('a fresh instance rolls up and prunes every namespace of both backends, hashed contexts on the backend the registry places them on', async () => {
    await createBuckets(env, names);
    // a second "server": the same FerretDB under another URI, so the runtime sees two Mongo stores
    const second = new URL(env.mongoUrl);
    second.searchParams.set('appName', `lifegaps-second-${r}`);
    const config = {
      databases: {
        runtime: {
          generic: { key: 'a', mongoUri: env.mongoUrl, dbName: dbs[0] },
          tenants: [{ key: 'b', extIdentifier: 'b', mongoUri: second.toString(), dbName: dbs[1] }],
        },
      },
      spacesConns: [{ endpoint: env.s3Endpoint, region: 'us-east-1', accessKey: env.accessKey, secretKey: env.secretKey, forcePathStyle: true, ...names }],
      routing: { hashAlgo: 'jump' },
      retention: { ver: { maxVersions: 2 } },
      rollup: { enabled: true, manifestPeriod: 'daily' },
    } as ChronosConfig;
    const cases: Case[] = [
      { ctx: { key: 'a', collection: 'items' }, ns: { dbName: dbs[0]!, collection: 'items' } },
      { ctx: { key: 'b', collection: 'items', tenantId: 't__x' }, ns: { dbName: dbs[1]!, collection: 'items', tenant: 't__x' } },
      { ctx: { dbName: dbs[2]!, collection: 'items' }, ns: { dbName: dbs[2]!, collection: 'items' } },
      { ctx: { dbName: dbs[2]!, collection: 'other', tenantId: 'q' }, ns: { dbName: dbs[2]!, collection: 'other', tenant: 'q' } },
    ];
    const ids = await write(config, cases);
    // where the registry placed the hashed contexts (raw read, not through chronos-db)
    const raw = new MongoClient(env.mongoUrl);
    let placed: Map<string, string>;
    try {
      const entries = await raw.db(dbs[0]).collection<{ _id: string; backend: string }>('_chronos_placement').find({}).toArray();
      placed = new Map(entries.map((e) => [e._id, e.backend]));
    } finally {
      await raw.close();
    }
    expect(placed.size).toBe(2);
    const keyOf = (c: Case) => (c.ctx.key !== undefined ? c.ctx.key : placed.get(`${c.ns.dbName}|${c.ns.tenant ?? ''}|${c.ns.collection}`)!);
    await rollupAndPruneFresh(
      config,
      cases,
      ids,
      cases.map((c) => label(keyOf(c), c.ns)),
    );
  });
});
