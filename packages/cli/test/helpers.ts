/**
 * Runs the BUILT `chronos` binary (dist/bin.cjs, made by `pnpm build`, which
 * scripts/test-all.sh runs before jest) in a child process, with the Node that
 * runs the tests (so the Node 24 run tests it on Node 24).
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const BIN = join(__dirname, '..', 'dist', 'bin.cjs');

/** Fails loudly when dist is missing or older than a source file (a stale build tests old code). */
export function assertBuilt(): void {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run 'pnpm build' (scripts/test-all.sh does) before these tests`);
  const built = statSync(BIN).mtimeMs;
  const walk = (d: string): string[] => readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(d, e.name)) : [join(d, e.name)]));
  const stale = walk(join(__dirname, '..', 'src')).filter((f) => statSync(f).mtimeMs > built);
  if (stale.length) throw new Error(`dist is older than ${stale[0]}: run 'pnpm build' before these tests`);
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function cli(args: string[], opts: { cwd: string; input?: string; env?: NodeJS.ProcessEnv }): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', ...opts.env };
    for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
    const child = spawn(process.execPath, [BIN, ...args], { cwd: opts.cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(opts.input ?? '');
  });
}

/** NDJSON lines of stdout, parsed. */
export const lines = (s: string): Record<string, unknown>[] =>
  s
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Record<string, unknown>);
