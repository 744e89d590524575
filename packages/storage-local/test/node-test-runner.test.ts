/**
 * The testkit runs under any runner: node-test/conformance.node.ts runs the blob and
 * metadata suites on this package's stores under node's own test runner (node:test, via
 * tsx), in a child process, and this jest test reads its TAP report. It also proves that a
 * test that does not apply (presign on the filesystem store) is reported as skipped, not passed.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const root = join(__dirname, '..', '..', '..');
const file = join(__dirname, 'node-test', 'conformance.node.ts');

describe('the testkit under node:test', () => {
  let run: { status: number | null; tap: string; stderr: string };
  const count = (name: string) => Number(new RegExp(`^# ${name} (\\d+)$`, 'm').exec(run.tap)?.[1] ?? NaN);

  beforeAll(() => {
    // cwd = repository root: tsx maps @chronos-db/* to the sources through the root tsconfig's paths
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=tap', file], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    run = { status: r.status, tap: r.stdout, stderr: r.stderr };
  });

  it('exits 0 with passing tests and no failure', () => {
    if (run.status !== 0) throw new Error(`node --test exited ${run.status}\n${run.tap.slice(-4000)}\n${run.stderr.slice(-2000)}`);
    expect(count('pass')).toBeGreaterThan(40);
    expect(count('fail')).toBe(0);
  });

  it('reports the tests that do not apply as skipped, with the reason in their title', () => {
    const skipped = run.tap.split('\n').filter((l) => /^\s*ok \d+ - .* # SKIP/.test(l));
    expect(count('skipped')).toBe(skipped.length);
    expect(skipped.some((l) => l.includes('presigns a GET URL that fetch() can read [skipped: the store declares presign: false]'))).toBe(true);
    // SQLite offers commitMany (one transaction): its tests run, none is skipped
    expect(skipped.some((l) => l.includes('commitMany'))).toBe(false);
    // never reported as passed
    expect(run.tap).not.toMatch(/^\s*ok \d+ - presigns a GET URL that fetch\(\) can read(?! .*# SKIP)/m);
  });
});
