/**
 * Lean installs: the packages as npm users get them (pnpm pack, npm install in
 * clean folders), each set running a create and a read in ESM and CommonJS.
 *
 * - core + storage-local (+ better-sqlite3, the optional peer it needs)
 * - core + storage-mongo + storage-s3: nothing native is built or present
 * - chronos-db with a MongoDB + S3 config: no better-sqlite3 installed or
 *   loaded; an embedded config is a ConfigError naming better-sqlite3
 *
 * One npm install per set; third-party packages from one reused npm cache
 * (--prefer-offline). Needs the FerretDB + Ceph test servers.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SETS, installSet, nativeTraces, packAll } from './lean/sets.js';
import { chronosScripts, localScripts, mongoS3Scripts } from './lean/scripts.js';
import { buckets, createBuckets, describeServers, rnd } from './helpers/servers.js';

jest.setTimeout(600_000);

const node = (file: string, args: string[], cwd: string): Record<string, unknown> => {
  // Without NODE_PATH (pnpm exec points it at the workspace's modules): the set sees only its own node_modules.
  const { NODE_PATH: _, ...clean } = process.env;
  const out = execFileSync(process.execPath, [file, ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...clean, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  });
  return JSON.parse(out.trim().split('\n').pop()!) as Record<string, unknown>;
};

const set = (name: string) => SETS.find((s) => s.name === name)!;

describeServers('lean installs (pnpm pack + npm install in clean folders)', (env) => {
  const parent = mkdtempSync(join(tmpdir(), 'chronos-lean-'));
  let tarballs: ReturnType<typeof packAll>;
  const names = buckets('lean');
  const s3 = { endpoint: env.s3Endpoint, region: 'us-east-1', accessKey: env.accessKey, secretKey: env.secretKey, forcePathStyle: true, ...names };

  beforeAll(async () => {
    tarballs = packAll(join(parent, 'tarballs'));
    await createBuckets(env, names);
  });
  afterAll(() => rmSync(parent, { recursive: true, force: true }));

  it('core + storage-local: create and read in ESM and CommonJS', () => {
    const { dir } = installSet(set('local'), tarballs, parent);
    const { esm, cjs } = localScripts(dir);
    for (const f of [esm, cjs]) {
      const out = node(f, [join(dir, `data-${rnd()}`)], dir);
      expect(out).toMatchObject({ createdOv: 0, read: { name: 'lean', n: 1 } });
    }
  });

  it('core + storage-mongo + storage-s3: no native build, no better-sqlite3; create and read in ESM and CommonJS', () => {
    const { dir } = installSet(set('mongo-s3'), tarballs, parent);
    const nm = join(dir, 'node_modules');
    expect(existsSync(join(nm, 'better-sqlite3'))).toBe(false);
    expect(nativeTraces(nm)).toEqual([]);
    const { esm, cjs } = mongoS3Scripts(dir);
    for (const f of [esm, cjs]) {
      const out = node(f, [JSON.stringify({ mongoUri: env.mongoUrl, dbName: `lean_${rnd()}`, s3 })], dir);
      expect(out).toMatchObject({ createdOv: 0, read: { name: 'lean', n: 1 } });
    }
  });

  it('chronos-db with MongoDB + S3: no better-sqlite3; create and read in ESM and CommonJS; the embedded config names what to install', () => {
    const { dir } = installSet(set('chronos-db'), tarballs, parent);
    const nm = join(dir, 'node_modules');
    expect(existsSync(join(nm, 'better-sqlite3'))).toBe(false);
    expect(nativeTraces(nm)).toEqual([]);
    const { esm, cjs } = chronosScripts(dir);
    for (const [kind, f] of [
      ['esm', esm],
      ['cjs', cjs],
    ] as const) {
      const dbName = `lean_${rnd()}`;
      const cfg = { databases: { runtime: { generic: { key: 'lean-generic', mongoUri: env.mongoUrl, dbName } } }, spacesConns: [s3] };
      const out = node(f, [JSON.stringify(cfg), join(dir, `embedded-${kind}`)], dir);
      expect(out).toMatchObject({ createdOv: 0, read: { name: 'lean', n: 1 } });
      // An adapter's error (its own copy of core in the ESM build) is still an OptimisticLockError.
      expect(out.duplicate).toEqual({ lockError: true, chronosError: true, name: 'OptimisticLockError' });
      expect(out.embedded).toMatchObject({ configError: true, code: 'CONFIG' });
      expect((out.embedded as { message: string }).message).toMatch(/npm install better-sqlite3/);
      expect(out.native).toEqual([]);
    }
  });
});
