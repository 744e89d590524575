/**
 * Lean installs: our packages packed with `pnpm pack` and installed with npm
 * into clean folders, as a user would. Shared by lean-install.test.ts and the
 * bench (install size of each set).
 *
 * - Our packages come from the tarballs (dependencies + overrides point at
 *   them), third-party ones from the npm registry through one reused cache
 *   folder with --prefer-offline: a warm cache needs no network.
 * - better-sqlite3 (set `local` only) is installed with --ignore-scripts and
 *   given the native addon this workspace already compiled (same version,
 *   same Node), so the test does not spend minutes in node-gyp.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = typeof __dirname === 'string' ? __dirname : dirname(fileURLToPath(import.meta.url));
export const ROOT = resolve(HERE, '../../../..');
const PKGS = ['core', 'router', 'storage-local', 'storage-mongo', 'storage-s3', 'admin', 'chronos-db'] as const;
type Pkg = (typeof PKGS)[number];
const NAME: Record<Pkg, string> = {
  core: '@chronos-db/core',
  router: '@chronos-db/router',
  'storage-local': '@chronos-db/storage-local',
  'storage-mongo': '@chronos-db/storage-mongo',
  'storage-s3': '@chronos-db/storage-s3',
  admin: '@chronos-db/admin',
  'chronos-db': 'chronos-db',
};

export interface LeanSet {
  name: 'local' | 'mongo-s3' | 'chronos-db';
  /** What the user names in `npm install`. */
  direct: Pkg[];
  /** Our packages the direct ones pull in (their tarballs, through overrides). */
  closure: Pkg[];
  betterSqlite: boolean;
}

export const SETS: LeanSet[] = [
  { name: 'local', direct: ['core', 'storage-local'], closure: ['core', 'storage-local'], betterSqlite: true },
  { name: 'mongo-s3', direct: ['core', 'storage-mongo', 'storage-s3'], closure: ['core', 'storage-mongo', 'storage-s3'], betterSqlite: false },
  { name: 'chronos-db', direct: ['chronos-db'], closure: [...PKGS], betterSqlite: false },
];

export const npmCache = (): string => process.env.CHRONOS_LEAN_NPM_CACHE ?? join(tmpdir(), 'chronos-db-lean-npm-cache');

const run = (cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) =>
  execFileSync(cmd, args, { cwd, env: { ...process.env, ...env }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });

/** Builds (turbo, cached) and packs every package a set needs; returns tarball paths by package. */
export function packAll(dest = mkdtempSync(join(tmpdir(), 'chronos-pack-'))): Record<Pkg, string> {
  run('pnpm', ['exec', 'turbo', 'run', 'build', '--filter=chronos-db...', '--output-logs=errors-only'], ROOT);
  const out = {} as Record<Pkg, string>;
  for (const p of PKGS) {
    const dir = join(ROOT, 'packages', p);
    const version = (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
    run('pnpm', ['pack', '--pack-destination', dest], dir);
    const file = join(dest, `${NAME[p].replace('@', '').replace('/', '-')}-${version}.tgz`);
    if (!existsSync(file)) throw new Error(`pnpm pack of ${p} made no ${file}`);
    out[p] = file;
  }
  return out;
}

/** The better-sqlite3 this workspace built, for the `local` set. */
function workspaceBetterSqlite(): { version: string; addon: string } {
  const req = createRequire(join(ROOT, 'packages', 'storage-local', 'package.json'));
  const pkgJson = req.resolve('better-sqlite3/package.json');
  const dir = resolve(pkgJson, '..');
  return { version: (JSON.parse(readFileSync(pkgJson, 'utf8')) as { version: string }).version, addon: join(dir, 'build', 'Release', 'better_sqlite3.node') };
}

export interface Installed {
  dir: string;
  bytes: number;
  installMs: number;
}

/** `npm install` of one set into a clean folder. */
export function installSet(set: LeanSet, tarballs: Record<Pkg, string>, parent = mkdtempSync(join(tmpdir(), 'chronos-lean-'))): Installed {
  const dir = join(parent, set.name);
  mkdirSync(dir, { recursive: true });
  const file = (p: Pkg) => `file:${tarballs[p]}`;
  const deps: Record<string, string> = Object.fromEntries(set.direct.map((p) => [NAME[p], file(p)]));
  const sqlite = set.betterSqlite ? workspaceBetterSqlite() : undefined;
  if (sqlite) deps['better-sqlite3'] = sqlite.version;
  const overrides = Object.fromEntries(set.closure.filter((p) => !set.direct.includes(p)).map((p) => [NAME[p], file(p)]));
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name: `lean-${set.name}`, private: true, version: '0.0.0', dependencies: deps, overrides }, null, 2),
  );
  const t0 = performance.now();
  const args = ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', '--no-package-lock'];
  if (sqlite) args.push('--ignore-scripts');
  run('npm', args, dir, { npm_config_cache: npmCache(), npm_config_update_notifier: 'false' });
  const installMs = performance.now() - t0;
  if (sqlite) {
    const target = join(dir, 'node_modules', 'better-sqlite3', 'build', 'Release');
    mkdirSync(target, { recursive: true });
    cpSync(sqlite.addon, join(target, 'better_sqlite3.node'));
  }
  return { dir, bytes: treeBytes(join(dir, 'node_modules')), installMs };
}

/** Total size of the files under a folder (symlinks not followed). */
export function treeBytes(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) n += treeBytes(p);
    else if (e.isFile()) n += lstatSync(p).size;
  }
  return n;
}

/** Paths (relative to node_modules) of what a native build would leave or need: binding.gyp, *.node, build/Release. */
export function nativeTraces(nodeModules: string, rel = ''): string[] {
  const found: string[] = [];
  if (!existsSync(nodeModules)) return found;
  for (const e of readdirSync(join(nodeModules, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) {
      if (e.name === 'Release' && rel.endsWith('build')) found.push(r);
      else found.push(...nativeTraces(nodeModules, r));
    } else if (e.name === 'binding.gyp' || e.name.endsWith('.node')) found.push(r);
  }
  return found;
}
