// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${VAR} is the config syntax the CLI reads
/**
 * The server-backed commands of the built `chronos` binary against the shared
 * FerretDB + Ceph: buckets, doctor (and unreachable storage, exit 5),
 * restore-collection, import --from-mongo (killed at half and rerun), and the
 * fallback queue. Secrets reach the config through ${VAR}; no output holds them.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { buckets, describeServers, freePort, rnd } from '../../chronos-db/test/helpers/servers';
import { assertBuilt, BIN, cli, cliMeasured, lines, peakRss } from './helpers';

/**
 * Documents of the --from-mongo test: 1,000 in CI; the 20,000 with CHRONOS_CLI_FROM_MONGO_FULL=1,
 * which also checks that the peak RSS stays flat (against an import of a tenth as many).
 */
const FULL = process.env.CHRONOS_CLI_FROM_MONGO_FULL === '1';
const DOCS = FULL ? 20_000 : 1_000;

describeServers('chronos on FerretDB + Ceph', (env) => {
  const dir = mkdtempSync(join(tmpdir(), 'chronos-cli-srv-'));
  const names = buckets('cli');
  const dbName = `cli_${rnd()}`;
  const secrets = { CLI_TEST_MONGO: env.mongoUrl, CLI_TEST_S3_KEY: env.accessKey, CLI_TEST_S3_SECRET: env.secretKey };
  // a short operation deadline only where MongoDB is down (writes queue fast); the shared servers get the default
  const config = (mongoUri = '${CLI_TEST_MONGO}', isDown = false) => ({
    databases: { runtime: { generic: { key: 'rt', mongoUri, dbName } } },
    spacesConns: [
      { endpoint: env.s3Endpoint, region: 'us-east-1', accessKey: '${CLI_TEST_S3_KEY}', secretKey: '${CLI_TEST_S3_SECRET}', forcePathStyle: true, ...names },
    ],
    fallback: { enabled: true, maxAttempts: 2, baseDelayMs: 50, maxDelayMs: 200, deadLetterCollection: 'dead', localPath: './queue' },
    ...(isDown ? { operationTimeoutMs: 1500 } : {}),
    defaults: { key: 'rt', collection: 'orders' },
  });
  const run = (args: string[], input?: string) => cli(args, { cwd: dir, input, env: secrets });
  const noSecret = (r: { stdout: string; stderr: string }) => {
    for (const s of [env.secretKey]) {
      expect(r.stdout).not.toContain(s);
      expect(r.stderr).not.toContain(s);
    }
  };
  let down = '';

  beforeAll(async () => {
    assertBuilt();
    writeFileSync(join(dir, 'chronos.config.json'), JSON.stringify(config()));
    down = join(dir, 'down.json');
    writeFileSync(down, JSON.stringify(config(`mongodb://someone:${env.secretKey}@127.0.0.1:${await freePort()}/`, true)));
  });

  it('buckets: missing is exit 1, --create makes them; doctor: every check ok', async () => {
    const missing = await run(['buckets']);
    expect(missing.code).toBe(1);
    expect(lines(missing.stdout).map((b) => b.status)).toEqual(['missing', 'missing', 'missing']);
    const made = await run(['buckets', '--create']);
    expect(made.code).toBe(0);
    expect(lines(made.stdout).map((b) => b.status)).toEqual(['created', 'created', 'created']);
    const doc = await run(['doctor']);
    noSecret(doc);
    expect(doc).toMatchObject({ code: 0 });
    const checks = lines(doc.stdout);
    expect(checks.filter((c) => c.status === 'fail')).toEqual([]);
    expect(checks.map((c) => c.check)).toEqual(expect.arrayContaining(['config', 'spaces config', 'indexes', 'fallback queue', `bucket ${names.jsonBucket}`]));
  });

  it('unreachable MongoDB: doctor fails its check (exit 1), a read is exit 5; the URI password never shows', async () => {
    const doc = await run(['-c', down, 'doctor', '--verbose']);
    noSecret(doc);
    expect(doc.code).toBe(1);
    expect(lines(doc.stdout).find((c) => c.status === 'fail')).toBeDefined();
    const ls = await run(['-c', down, 'ls', '--verbose']);
    noSecret(ls);
    expect(ls.code).toBe(5);
  });

  it('restore-collection brings every record back to a cv (plan, --yes, progress silent off a terminal)', async () => {
    const recs = Array.from({ length: 30 }, (_, i) => JSON.stringify({ id: `o-${i}`, n: i, status: 'new' }));
    const im = await run(['import'], `${recs.join('\n')}\n`);
    expect(im).toMatchObject({ code: 0 });
    const cv = Math.max(...lines((await run(['changes', '--all', '--limit', '1000'])).stdout).map((c) => c.cv as number));
    for (let i = 0; i < 4; i++) expect((await run(['enrich', `o-${i}`], '{"status":"shipped"}')).code).toBe(0);
    const plan = await run(['restore-collection', '--cv', String(cv), '--dry-run']);
    expect(JSON.parse(plan.stdout)).toMatchObject({ scanned: 30, toRestore: 4, dryRun: true });
    const r = await run(['restore-collection', '--cv', String(cv), '--yes']);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(r.stdout)).toMatchObject({ restored: 4, scanned: 30 });
    const all = lines((await run(['ls', '--all', '--limit', '1000'])).stdout);
    expect(all).toHaveLength(30);
    expect(all.every((x) => x.status === 'new')).toBe(true);
  });

  it('doctor lists the indexes and makes none: a dropped one is a warning with the fix, which makes it again', async () => {
    const client = new MongoClient(env.mongoUrl);
    const ver = client.db(dbName).collection('orders_ver'); // collection 'orders' of backend rt (storage-mongo's physical name)
    try {
      await ver.dropIndex('itemId_cv');
      const doc = await run(['doctor']);
      expect({ code: doc.code, check: lines(doc.stdout).find((c) => c.check === 'indexes') }).toMatchObject({
        code: 0, // a warning, not a failure
        check: {
          status: 'warn',
          detail: expect.stringContaining('missing orders_ver.itemId_cv'),
          fix: expect.stringContaining("'chronos --key rt --collection orders ls --limit 1'"),
        },
      });
      expect((await ver.indexes()).map((i) => i.name)).not.toContain('itemId_cv');
      expect((await run(['--key', 'rt', '--collection', 'orders', 'ls', '--limit', '1'])).code).toBe(0);
      expect((await ver.indexes()).map((i) => i.name)).toContain('itemId_cv');
      expect(lines((await run(['doctor'])).stdout).find((c) => c.check === 'indexes')).toMatchObject({
        status: 'ok',
        detail: expect.stringContaining('present'),
      });
    } finally {
      await client.close();
    }
  });

  it(
    `import --from-mongo of ${DOCS} documents: killed at half and rerun, every one present once as version 0${FULL ? ', peak RSS flat' : ' (20,000 and the RSS check: CHRONOS_CLI_FROM_MONGO_FULL=1)'}`,
    async () => {
      const client = new MongoClient(env.mongoUrl);
      const srcDb = `clisrc_${rnd()}`;
      const fill = async (name: string, count: number) => {
        const c = client.db(srcDb).collection(name);
        for (let i = 0; i < count; i += 1000)
          await c.insertMany(Array.from({ length: Math.min(1000, count - i) }, (_, k) => ({ n: i + k, name: `doc ${i + k}`, at: new Date(0), tags: ['a'] })));
        return c;
      };
      try {
        const src = await fill('legacy', DOCS);
        // the yardstick of the RSS check: the same import of a tenth as many documents
        let small: Awaited<ReturnType<typeof cliMeasured>> | undefined;
        if (FULL) {
          await fill('small', DOCS / 10);
          small = await cliMeasured(['--collection', 'small', 'import', '--from-mongo', env.mongoUrl, '--source-db', srcDb, '--batch-size', '100'], {
            cwd: dir,
            env: secrets,
          });
          expect({ out: JSON.parse(small.stdout), err: small.stderr }).toMatchObject({ out: { imported: DOCS / 10, failed: 0 }, err: '' });
        }
        const heads = client.db(dbName).collection('legacy_head'); // the heads of collection 'legacy' (storage-mongo's physical name)
        const args = ['--collection', 'legacy', 'import', '--from-mongo', env.mongoUrl, '--source-db', srcDb, '--batch-size', '100'];
        const t0 = Date.now();
        const child: ChildProcess = spawn(process.execPath, [BIN, ...args], { cwd: dir, env: { ...process.env, ...secrets } });
        const firstRss = peakRss(child.pid!);
        let childErr = '';
        child.stderr!.on('data', (b) => (childErr += b));
        const exited = new Promise<number | null>((r) => child.on('close', (c) => r(c)));
        let killedAt = -1;
        for (;;) {
          const n = await heads.countDocuments();
          if (n >= DOCS / 2) {
            child.kill('SIGKILL');
            killedAt = n;
            break;
          }
          if (child.exitCode !== null) break;
          await new Promise((r) => setTimeout(r, 50));
        }
        await exited;
        const firstPeak = firstRss.stop();
        const firstMs = Date.now() - t0;
        // the kill came in the middle: the rerun has something to resume
        expect({ killedAt, childErr }).toEqual({ killedAt: expect.any(Number), childErr: '' });
        expect(killedAt).toBeGreaterThan(0);
        expect(await heads.countDocuments()).toBeLessThan(DOCS);

        // the checkpoint the killed run left: how many documents (in _id order) it knew had landed
        // (a kill between writing the next one beside it and the rename leaves that .tmp too: never read)
        const cps = readdirSync(join(dir, '.chronos', 'imports')).filter((f) => f.endsWith('.json'));
        expect(cps).toHaveLength(1);
        const cpDone = (JSON.parse(readFileSync(join(dir, '.chronos', 'imports', cps[0]!), 'utf8')) as { done: number }).done;
        const t1 = Date.now();
        const again = await cliMeasured(args, { cwd: dir, env: secrets });
        const resumedAfter = (JSON.parse(again.stdout) as { resumedAfter?: number }).resumedAfter;
        const sizes = small ? { smallPeakMb: small.peakRssMb, firstPeakMb: firstPeak, rerunPeakMb: again.peakRssMb } : {};
        process.stdout.write(
          `import --from-mongo: ${JSON.stringify({ docs: DOCS, killedAt, checkpoint: cpDone, resumedAfter, ...sizes, firstMs, rerunMs: Date.now() - t1 })}\n`,
        );
        if (small) {
          // flat: ten times the documents may not cost more than half as much memory again (nor 64 MB more)
          for (const peak of [firstPeak, again.peakRssMb]) expect(peak).toBeLessThan(Math.min(small.peakRssMb * 1.5, small.peakRssMb + 64));
        }
        noSecret(again);
        expect(again).toMatchObject({ code: 0 });
        expect(JSON.parse(again.stdout)).toMatchObject({ read: DOCS, imported: DOCS, failed: 0, resumedAfter: expect.any(Number) });
        expect(again.stderr).toContain('resuming after');
        // at least where the checkpoint said; past it, the documents found landed (version 0 holds their data) are skipped too
        expect(JSON.parse(again.stdout).resumedAfter).toBeGreaterThanOrEqual(cpDone);
        // every version the store holds (storage-mongo's physical collection, read whole): one per document, version 0
        const versions = await client
          .db(dbName)
          .collection('legacy_ver')
          .find({ itemId: { $ne: '~cv' } }, { projection: { itemId: 1, ov: 1, op: 1 } })
          .toArray();
        expect(versions).toHaveLength(DOCS);
        expect(new Set(versions.map((v) => v.itemId)).size).toBe(DOCS);
        expect(versions.every((v) => v.ov === 0 && v.op === 'CREATE')).toBe(true);
        if (!FULL) {
          // and the change feed says the same. Not at 20,000: on FerretDB each feed page scans the version
          // collection, which at 20,000 versions outlasted the 10 s operation timeout at load averages of 8-12
          const feed = lines((await run(['--collection', 'legacy', 'changes', '--all', '--limit', '1000'])).stdout);
          expect(feed).toHaveLength(DOCS);
          expect(new Set(feed.map((c) => c.id)).size).toBe(DOCS);
          expect(feed.every((c) => c.ov === 0 && c.op === 'CREATE')).toBe(true);
        }
        const one = await src.findOne({ n: 7 });
        const got = JSON.parse((await run(['--collection', 'legacy', 'get', one!._id.toHexString()])).stdout);
        expect(got).toMatchObject({ id: one!._id.toHexString(), n: 7, name: 'doc 7', at: new Date(0).toISOString(), tags: ['a'], _meta: { ov: 0 } });
      } finally {
        await client
          .db(srcDb)
          .dropDatabase()
          .catch(() => {});
        await client.close();
      }
    },
    FULL ? 3_600_000 : 600_000,
  );

  it('queue: writes queued while MongoDB is down; stats, pending, cancel, work, dead, retry', async () => {
    const q = await run(['-c', down, 'create', '--id', 'q-1'], '{"a":1}');
    noSecret(q);
    expect(q).toMatchObject({ code: 0 });
    expect(JSON.parse(q.stdout)).toMatchObject({ queued: true, id: 'q-1' });
    expect(q.stderr).toContain('queued');
    expect((await run(['-c', down, 'create', '--id', 'q-2'], '{"a":2}')).code).toBe(0);
    // an update of a record that will not exist: dead-lettered at replay
    expect((await run(['-c', down, 'update', 'q-ghost'], '{"a":3}')).code).toBe(0);
    expect(JSON.parse((await run(['queue', 'stats'])).stdout)).toMatchObject({ pending: 3, claimed: 0, dead: 0 });
    const pending = lines((await run(['queue', 'pending'])).stdout);
    expect(pending.map((p) => p.record)).toEqual(['q-1', 'q-2', 'q-ghost']);
    expect((await run(['queue', 'cancel', pending[1]!.id as string])).code).toBe(0);
    const work = await run(['queue', 'work']);
    expect(work.code).toBe(1); // one op went to the dead letters
    expect(JSON.parse(work.stdout).after).toMatchObject({ pending: 0, claimed: 0, dead: 1 });
    expect(JSON.parse((await run(['get', 'q-1'])).stdout).a).toBe(1);
    expect((await run(['get', 'q-2'])).code).toBe(3);
    const dead = lines((await run(['queue', 'dead'])).stdout);
    expect(dead.map((d) => d.record)).toEqual(['q-ghost']);
    expect((await run(['queue', 'retry', dead[0]!.id as string])).code).toBe(0);
    expect(JSON.parse((await run(['queue', 'stats'])).stdout)).toMatchObject({ pending: 1, dead: 0 });
    expect((await run(['queue', 'cancel', 'no-such-op'])).code).toBe(3);
  });
});
