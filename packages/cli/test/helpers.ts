/**
 * Runs the BUILT `chronos` binary (dist/bin.cjs, made by `pnpm build`, which
 * scripts/test-all.sh runs before jest) in a child process, with the Node that
 * runs the tests (so the Node 24 run tests it on Node 24).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
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

/**
 * The peak resident set of a running child (Linux: VmHWM of /proc/PID/status, its
 * high-water mark), polled until `stop()`, which returns it in MB (0 where /proc is missing).
 */
export function peakRss(pid: number, everyMs = 100): { stop(): number } {
  let peakKb = 0;
  const read = () => {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m) peakKb = Math.max(peakKb, Number(m[1]));
    } catch {} // the process is gone: the last reading stands
  };
  read();
  const t = setInterval(read, everyMs);
  return {
    stop() {
      clearInterval(t);
      read();
      return peakKb / 1024;
    },
  };
}

/** `cli`, with the child's peak RSS (MB). */
export function cliMeasured(args: string[], opts: { cwd: string; input?: string; env?: NodeJS.ProcessEnv }): Promise<CliResult & { peakRssMb: number }> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', ...opts.env };
    const child = spawn(process.execPath, [BIN, ...args], { cwd: opts.cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
    const rss = peakRss(child.pid!);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    // /proc/PID is gone once the child is reaped: the last poll (at most everyMs before) stands
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr, peakRssMb: rss.stop() }));
    child.stdin.end(opts.input ?? '');
  });
}

/** Whether `script` (util-linux) is there to give the binary a pseudo-terminal. */
export const hasScript = spawnSync('script', ['--version']).status === 0;

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
// biome-ignore lint/suspicious/noControlCharactersInRegex: ANSI escapes are what a terminal gets
export const plain = (s: string) => s.replace(/\u001b\[[0-9;?]*[A-Za-z]|\u001b[78]/g, '');

/** Runs the binary in a pseudo-terminal; `answer` is typed once `waitFor` shows on the screen. */
export function inTerminal(dir: string, args: string[], opts: { stdoutFile?: string; waitFor?: string; answer?: string; env?: NodeJS.ProcessEnv } = {}) {
  const cmd = `${q(process.execPath)} ${q(BIN)} ${args.map(q).join(' ')}${opts.stdoutFile ? ` > ${q(opts.stdoutFile)}` : ''}`;
  return new Promise<{ code: number | null; screen: string }>((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env, TERM: 'xterm-256color', ...opts.env };
    for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
    const child = spawn('script', ['-qefc', cmd, '/dev/null'], { cwd: dir, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let screen = '';
    let answered = false;
    child.stdout.on('data', (b) => {
      screen += b;
      if (opts.waitFor && !answered && plain(screen).includes(opts.waitFor)) {
        answered = true;
        // type the answer, then Enter, as a person would
        child.stdin.write(opts.answer ?? '');
        setTimeout(() => child.stdin.write('\r'), 200);
      }
    });
    child.on('error', reject);
    child.on('close', (code) => {
      child.stdin.destroy();
      resolve({ code, screen });
    });
  });
}
