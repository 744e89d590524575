import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { files, rows } from './helpers/stored.js';
import { initChronos, ConfigError, NotFoundError, OptimisticLockError, RouteError, ValidationError, PayloadTooLargeError, type Chronos } from 'chronos-db';

describe('chronos-db on the embedded default', () => {
  let chronos: Chronos;
  let basePath: string;

  beforeAll(() => {
    basePath = mkdtempSync(join(tmpdir(), 'chronos-embedded-'));
    chronos = initChronos({
      localStorage: { enabled: true, basePath },
      collectionMaps: { users: { indexedProps: ['email', 'plan'] } },
      counterRules: { rules: [{ name: 'pro', when: { plan: 'pro' } }] },
      maxPayloadBytes: 64 * 1024,
    });
  });
  afterAll(() => chronos.admin.shutdown());

  it('runs the quick start', async () => {
    const users = chronos.with({ dbName: 'myapp', collection: 'users' });
    const { id, ov } = await users.create({ email: 'a@example.com', plan: 'pro' }, 'signup', 'new user');
    expect(ov).toBe(0);
    await users.update(id, { email: 'b@example.com', plan: 'free' }, 0, 'support', 'typo');
    await expect(users.update(id, { email: 'c@example.com' }, 0)).rejects.toBeInstanceOf(OptimisticLockError);
    expect(await users.getLatest(id)).toMatchObject({ id, email: 'b@example.com' });
    expect(await users.getVersion(id, 0)).toMatchObject({ email: 'a@example.com' });
    const totals = await chronos.counters.getTotals({ dbName: 'myapp', collection: 'users' });
    expect(totals).toMatchObject({ created: 1, updated: 1, deleted: 0, rules: { pro: { created: 1 } } });
    // rebuilt from the version index: the same totals (counters.recount)
    expect(await chronos.counters.recount({ dbName: 'myapp', collection: 'users' })).toEqual(totals);
    const health = await chronos.admin.health();
    expect(health.ok).toBe(true);
    expect(chronos.with({ dbName: 'myapp', collection: 'users' })).toBe(users);
  });

  it('keeps tenants apart', async () => {
    const a = chronos.with({ dbName: 'myapp', collection: 'users', tenantId: 'tenant-a' });
    const b = chronos.with({ dbName: 'myapp', collection: 'users', tenantId: 'tenant-b' });
    const { id } = await a.create({ email: 'secret@a.example' });
    expect(await b.getLatest(id)).toBeNull();
    await expect(b.update(id, { email: 'x' })).rejects.toBeInstanceOf(NotFoundError);
    await expect(b.delete(id)).rejects.toBeInstanceOf(NotFoundError);
    expect((await b.listByMeta({ filter: { email: 'secret@a.example' } })).items).toEqual([]);
  });

  it('refuses unknown keys and bad contexts before any I/O', () => {
    expect(() => chronos.with({ key: 'nope', collection: 'users' })).toThrow(RouteError);
    expect(() => chronos.with({ databaseType: 'runtime', tier: 'tenant', extIdentifier: 'x', collection: 'users' })).toThrow(RouteError);
    for (const c of ['../x', 'a/b', '', '.', '..', '$x', 'system.users', 'x'.repeat(300)]) {
      expect(() => chronos.with({ dbName: 'myapp', collection: c })).toThrow(ValidationError);
    }
    for (const t of ['a/../b', '*', '']) expect(() => chronos.with({ dbName: 'myapp', collection: 'users', tenantId: t })).toThrow();
  });

  it('bad input writes no file and no row', async () => {
    const users = chronos.with({ dbName: 'myapp', collection: 'users' });
    const { id } = await users.create({ email: 'keep@example.com' });
    const before = { files: files(basePath), rows: rows(basePath) };
    await expect(users.create({ email: 'x'.repeat(70 * 1024) })).rejects.toBeInstanceOf(PayloadTooLargeError);
    await expect(users.create(JSON.parse('{"__proto__": {"x": 1}}'))).rejects.toBeInstanceOf(ValidationError);
    await expect(users.update(id, { email: 'y' }, -1)).rejects.toBeInstanceOf(ValidationError);
    await expect(users.update('../../x', { email: 'y' })).rejects.toBeInstanceOf(ValidationError);
    await expect(users.listByMeta({ filter: { $where: '1' } })).rejects.toBeInstanceOf(ValidationError);
    await expect(users.listByMeta({ filter: { notIndexed: 1 } })).rejects.toBeInstanceOf(ValidationError);
    await expect(users.presignProperty(id, 'email', 0)).rejects.toBeInstanceOf(ValidationError);
    expect({ files: files(basePath), rows: rows(basePath) }).toEqual(before);
  });

  it('config errors name the path and never print a secret', () => {
    const secret = 'sk-live-0123456789abcdef';
    let err: unknown;
    try {
      initChronos({
        databases: {
          runtime: {
            generic: { key: 'k', mongoUri: `mongodb://admin:${secret}@db.example:27017`, dbName: 'x' },
            domains: [{ key: 'k', mongoUri: 'mongodb://h', dbName: 'y' }],
          },
        },
        spacesConns: [
          {
            endpoint: 'ftp://nope',
            region: 'fra1',
            accessKey: 'AK',
            secretKey: secret,
            jsonBucket: 'UPPER',
            contentBucket: 'ok-bucket',
            backupsBucket: 'ok-bucket-2',
          },
        ],
        bogus: true,
      } as never);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const text = `${(err as Error).message} ${JSON.stringify(err)}`;
    expect(text).not.toContain(secret);
    expect(text).toContain('spacesConns[0].endpoint');
    expect(text).toContain('spacesConns[0].jsonBucket');
    expect(text).toContain("'bogus'");
  });

  it('returns the config with secrets redacted', () => {
    const c = initChronos({
      localStorage: { enabled: true, basePath },
      databases: { runtime: { generic: { key: 'g', mongoUri: 'mongodb://u:hunter2hunter2@127.0.0.1:1/x', dbName: 'g' } } },
    });
    expect(JSON.stringify(c.config)).not.toContain('hunter2hunter2');
    expect(JSON.stringify(c.admin.listBackends())).not.toContain('hunter2hunter2');
  });
});
