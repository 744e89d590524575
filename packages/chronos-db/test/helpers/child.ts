import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '../../../..');

/**
 * Runs a TypeScript child script under tsx with its job as JSON in the environment variable `envVar`;
 * resolves with the signal it died of (SIGKILL for a planned crash) and everything it printed.
 */
export function runTsxChild(script: string, envVar: string, job: object): Promise<{ signal: NodeJS.Signals | null; out: string }> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script], {
      cwd: ROOT,
      env: { ...process.env, NODE_NO_WARNINGS: '1', [envVar]: JSON.stringify(job), TSX_TSCONFIG_PATH: join(ROOT, 'tsconfig.json') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', rej);
    child.on('exit', (_code, signal) => res({ signal, out }));
  });
}
