/**
 * `chronos studio` (the built binary): prints the URL with its token, serves the
 * config's context until SIGINT, then exits 0; refuses to start without a
 * collection to list (exit 2).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initChronos } from 'chronos-db';
import { assertBuilt, BIN, cli } from './helpers';

describe('chronos studio', () => {
  const dir = mkdtempSync(join(tmpdir(), 'chronos-cli-studio-'));
  beforeAll(async () => {
    assertBuilt();
    writeFileSync(join(dir, 'chronos.config.json'), JSON.stringify({ localStorage: { enabled: true, basePath: './data' } }));
    const chronos = initChronos({ localStorage: { enabled: true, basePath: join(dir, 'data') } });
    const users = chronos.with({ dbName: 'app', collection: 'users' });
    await users.create({ email: 'a@example.com' }, 'seed', 'first', { id: 'u1' });
    await users.update('u1', { email: 'b@example.com' }, 0);
    await chronos.admin.shutdown();
  });

  it('prints the URL, serves the records of the context read-only, and stops on SIGINT with exit 0', async () => {
    const child = spawn(process.execPath, [BIN, '--db', 'app', '--collection', 'users', '--json', 'studio', '--port', '0'], {
      cwd: dir,
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number>((res) => child.on('close', (code) => res(code ?? -1)));
    const url = await new Promise<string>((res, rej) => {
      child.stdout.on('data', (d) => {
        stdout += d;
        const line = stdout.split('\n').find((l) => l.startsWith('{'));
        if (line) res((JSON.parse(line) as { url: string }).url);
      });
      child.on('close', () => rej(new Error(`exited before printing the URL: ${stderr}`)));
    });
    try {
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/[A-Za-z0-9_-]{32}\/$/);
      expect((await fetch(url.replace(/[^/]+\/$/, ''))).status).toBe(403); // no token
      const session = (await (await fetch(`${url}api/session`)).json()) as {
        allowRestore: boolean;
        contexts: { label: string; collections: { name: string }[] }[];
      };
      expect(session.allowRestore).toBe(false);
      expect(session.contexts.map((c) => [c.label, c.collections.map((x) => x.name)])).toEqual([['app', ['users']]]);
      const h = (await (await fetch(`${url}api/history?c=0&col=users&id=u1`)).json()) as { items: { ov: number }[] };
      expect(h.items.map((i) => i.ov)).toEqual([1, 0]);
      expect(stderr).toContain('read-only; Ctrl-C stops it');
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited).toBe(0);
  });

  it('without a collection to list: exit 2, nothing started', async () => {
    const r = await cli(['--db', 'app', 'studio', '--port', '0'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('give --collection <name> or --collections a,b');
  });
});
