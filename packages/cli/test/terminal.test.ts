/**
 * The confirmation prompt, the progress bar and colour in a real terminal:
 * the built binary runs under `script` (util-linux), which gives it a
 * pseudo-terminal; stdout goes to a file, so what the terminal shows is
 * stderr only (prompts and progress never mix with results).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertBuilt, cli, hasScript, inTerminal, lines, plain } from './helpers';

const d = hasScript ? describe : describe.skip;
if (!hasScript) console.log('[skip] terminal tests: `script` (util-linux) is not installed');

d('chronos in a terminal', () => {
  const dir = mkdtempSync(join(tmpdir(), 'chronos-cli-tty-'));
  let targetCv = 0;
  let id = '';

  beforeAll(async () => {
    assertBuilt();
    writeFileSync(
      join(dir, 'chronos.config.json'),
      JSON.stringify({ localStorage: { enabled: true, basePath: './data' }, defaults: { db: 'app', collection: 'c' } }),
    );
    const nd = Array.from({ length: 40 }, (_, i) => JSON.stringify({ id: `r-${i}`, n: i })).join('\n');
    expect((await cli(['import'], { cwd: dir, input: nd })).code).toBe(0);
    targetCv = Math.max(...lines((await cli(['changes', '--all', '--limit', '1000'], { cwd: dir })).stdout).map((c) => c.cv as number));
    id = 'r-0';
    expect((await cli(['update', id], { cwd: dir, input: '{"n":100}' })).code).toBe(0);
    expect((await cli(['create', '--id', 'late'], { cwd: dir, input: '{"n":-1}' })).code).toBe(0);
  });

  it('restore-collection asks on the terminal; "n" changes nothing (exit 1)', async () => {
    const out = join(dir, 'no.json');
    const r = await inTerminal(dir, ['restore-collection', '--cv', String(targetCv)], { stdoutFile: out, waitFor: '(y/N)', answer: 'n' });
    expect(plain(r.screen)).toContain(`Restore 2 of 41 record(s) of app/c to cv ${targetCv}?`);
    expect(r.code).toBe(1);
    expect(plain(r.screen)).toContain('cancelled: nothing was changed');
    expect(readFileSync(out, 'utf8')).toBe('');
    expect(JSON.parse((await cli(['get', id], { cwd: dir })).stdout).n).toBe(100);
  });

  it('restore-collection asks, "y" runs it with a progress bar (rate, ETA) on stderr; stdout holds only the result', async () => {
    const out = join(dir, 'yes.json');
    const r = await inTerminal(dir, ['restore-collection', '--cv', String(targetCv)], { stdoutFile: out, waitFor: '(y/N)', answer: 'y' });
    expect(r.code).toBe(0);
    const screen = plain(r.screen);
    expect(screen).toMatch(/100% \| 41\/41 records \| \d+\/s \| ETA \d+s/);
    expect(JSON.parse(readFileSync(out, 'utf8'))).toMatchObject({ toRestore: 2, restored: 2, scanned: 41 });
    expect(JSON.parse((await cli(['get', id], { cwd: dir })).stdout).n).toBe(0);
    expect((await cli(['get', 'late'], { cwd: dir })).code).toBe(3);
  });

  it('--yes skips the question in a terminal too', async () => {
    const r = await inTerminal(dir, ['restore', id, '--ov', '1', '--yes']);
    expect(r.code).toBe(0);
    expect(plain(r.screen)).not.toContain('(y/N)');
  });

  it('a terminal gets tables and a coloured diff; NO_COLOR turns colour off', async () => {
    const t = await inTerminal(dir, ['history', id], { env: { NO_COLOR: undefined, FORCE_COLOR: undefined } });
    expect(t.code).toBe(0);
    expect(plain(t.screen)).toMatch(/│ ov\s*│ cv\s*│ op/);
    const colour = await inTerminal(dir, ['diff', id, '--from', '0', '--to', '1'], { env: { NO_COLOR: undefined, FORCE_COLOR: undefined } });
    expect(colour.code).toBe(0);
    expect(colour.screen).toContain('\u001b[33m~ /n 100');
    const none = await inTerminal(dir, ['diff', id, '--from', '0', '--to', '1'], { env: { NO_COLOR: '1' } });
    expect(none.screen).toContain('~ /n 100');
    expect(none.screen).not.toContain('\u001b[33m');
  });

  it('hard-delete asks the user to type the id; a wrong id changes nothing, the right one erases', async () => {
    const d2 = mkdtempSync(join(tmpdir(), 'chronos-cli-tty-hd-'));
    writeFileSync(
      join(d2, 'chronos.config.json'),
      JSON.stringify({ localStorage: { enabled: true, basePath: './data' }, hardDeleteEnabled: true, defaults: { db: 'app', collection: 'c' } }),
    );
    expect((await cli(['create', '--id', 'erase-me'], { cwd: d2, input: '{"pii":"x"}' })).code).toBe(0);
    const wrong = await inTerminal(d2, ['hard-delete', 'erase-me'], { waitFor: 'Type erase-me to confirm', answer: 'erase-you' });
    expect(wrong.code).toBe(1);
    expect((await cli(['get', 'erase-me'], { cwd: d2 })).code).toBe(0);
    const right = await inTerminal(d2, ['hard-delete', 'erase-me'], { waitFor: 'Type erase-me to confirm', answer: 'erase-me' });
    expect(right.code).toBe(0);
    expect((await cli(['get', 'erase-me', '--include-deleted'], { cwd: d2 })).code).toBe(3);
  });
});
