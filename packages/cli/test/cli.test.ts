import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '@chronos-db/cli';
import { initChronos } from 'chronos-db';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (s: string) => out.push(s), err: (s: string) => err.push(s) }, out, err };
}

describe('chronos CLI on the embedded default', () => {
  const dir = mkdtempSync(join(tmpdir(), 'chronos-cli-'));
  const cfgFile = join(dir, 'chronos.json');
  writeFileSync(cfgFile, JSON.stringify({ localStorage: { enabled: true, basePath: join(dir, 'data') } }));
  const ctx = ['--db', 'myapp', '--collection', 'users'];

  it('health, buckets, get and history', async () => {
    const chronos = initChronos({ localStorage: { enabled: true, basePath: join(dir, 'data') } });
    const users = chronos.with({ dbName: 'myapp', collection: 'users' });
    const { id } = await users.create({ email: 'a@example.com' }, 'cli-test', 'seed');
    await users.update(id, { email: 'b@example.com' }, 0);
    await chronos.admin.shutdown();

    let c = capture();
    expect(await run(['health', '-c', cfgFile], c.io)).toBe(0);
    expect(JSON.parse(c.out.join('\n')).ok).toBe(true);

    c = capture();
    expect(await run(['buckets', '-c', cfgFile, ...ctx], c.io)).toBe(1);
    expect(c.out.join('\n')).toContain('missing content');
    c = capture();
    expect(await run(['buckets', '-c', cfgFile, ...ctx, '--create'], c.io)).toBe(0);
    expect(c.out.join('\n')).toContain('(created)');

    c = capture();
    expect(await run(['get', id, '-c', cfgFile, ...ctx, '--ov', '0'], c.io)).toBe(0);
    expect(JSON.parse(c.out.join('\n')).email).toBe('a@example.com');

    c = capture();
    expect(await run(['history', id, '-c', cfgFile, ...ctx], c.io)).toBe(0);
    expect(c.out).toHaveLength(2);
    expect(c.out[0]).toMatch(/^v0\tcv=\d+\tCREATE\t.*\tcli-test\tseed$/);
  });

  it('reports typed errors and usage errors with exit codes', async () => {
    let c = capture();
    expect(await run(['get', '../../x', '-c', cfgFile, ...ctx], c.io)).toBe(1);
    expect(c.err.join('\n')).toContain('ValidationError');
    c = capture();
    expect(await run(['nonsense'], c.io)).toBe(2);
  });
});
