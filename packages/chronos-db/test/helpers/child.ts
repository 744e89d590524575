import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '../../../..');

/** How a tsx child ended and what it printed: `out` is stdout and stderr as they came, interleaved. */
export interface TsxChildResult {
  code: number | null;
  /** the signal it died of: SIGKILL for a planned crash */
  signal: NodeJS.Signals | null;
  out: string;
  stdout: string;
  stderr: string;
}

export interface TsxChildOptions {
  /** stdin is a pipe (write to `proc.stdin`) instead of closed */
  stdin?: boolean;
  /** called with every whole line the child writes to stdout, in order (it may kill the child: `proc.kill('SIGKILL')`) */
  onLine?: (line: string, proc: ChildProcess) => void;
}

export interface TsxChild {
  proc: ChildProcess;
  /** settles once the child has exited; rejects if it could not be started */
  exited: Promise<TsxChildResult>;
  /** resolves with the first stdout line `re` matches (earlier lines count too); rejects, with what it printed, if the child exits first */
  line(re: RegExp): Promise<string>;
}

/** Starts a TypeScript child script under tsx with its job as JSON in the environment variable `envVar`. */
export function startTsxChild(script: string, envVar: string, job: object, opts: TsxChildOptions = {}): TsxChild {
  const proc = spawn(process.execPath, ['--import', 'tsx', script], {
    cwd: ROOT,
    env: { ...process.env, NODE_NO_WARNINGS: '1', [envVar]: JSON.stringify(job), TSX_TSCONFIG_PATH: join(ROOT, 'tsconfig.json') },
    stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
  });
  const r: TsxChildResult = { code: null, signal: null, out: '', stdout: '', stderr: '' };
  const lines: string[] = [];
  const waiting = new Set<() => void>();
  let partial = '';
  proc.stdout!.setEncoding('utf8');
  proc.stderr!.setEncoding('utf8');
  proc.stdout!.on('data', (d: string) => {
    r.out += d;
    r.stdout += d;
    const parts = (partial + d).split('\n');
    partial = parts.pop()!;
    for (const l of parts) {
      lines.push(l);
      opts.onLine?.(l, proc);
    }
    for (const w of waiting) w();
  });
  proc.stderr!.on('data', (d: string) => {
    r.out += d;
    r.stderr += d;
  });
  let ended = false;
  const exited = new Promise<TsxChildResult>((res, rej) => {
    proc.on('error', (e) => {
      ended = true;
      for (const w of waiting) w();
      rej(e);
    });
    // 'close', not 'exit': everything the child printed has been read by then
    proc.on('close', (code, signal) => {
      ended = true;
      Object.assign(r, { code, signal });
      for (const w of waiting) w();
      res(r);
    });
  });
  exited.catch(() => {}); // a caller that only waits for a line hears of the failure there
  const line = (re: RegExp) =>
    new Promise<string>((res, rej) => {
      const look = () => {
        const found = lines.find((l) => re.test(l));
        if (found === undefined && !ended) return;
        waiting.delete(look);
        if (found !== undefined) res(found);
        else rej(new Error(`the child exited (${r.signal ?? `code ${r.code}`}) before printing a line like ${re}: ${r.out.slice(-2000)}`));
      };
      waiting.add(look);
      look();
    });
  return { proc, exited, line };
}

/**
 * Runs a TypeScript child script under tsx with its job as JSON in the environment variable `envVar`;
 * resolves, once it has exited, with how it ended (SIGKILL for a planned crash) and everything it printed.
 */
export function runTsxChild(script: string, envVar: string, job: object, opts?: TsxChildOptions): Promise<TsxChildResult> {
  return startTsxChild(script, envVar, job, opts).exited;
}
