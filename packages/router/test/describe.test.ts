import { describeBackends, probeBackends, redactWith, safeUri, topologySecrets } from '@chronos-db/router';
import { SPACE, conn, topo } from './helpers';

describe('safeUri', () => {
  it.each([
    ['mongodb://user:pass@host:27017/db', 'mongodb://user:***@host:27017/db'],
    ['mongodb+srv://user:p%40ss@cluster.example/db?retryWrites=true', 'mongodb+srv://user:***@cluster.example/db?retryWrites=true'],
    ['mongodb://user:p@ss:w/rd@h1,h2/db?authSource=admin', 'mongodb://user:***@h1,h2/db?authSource=admin'],
    ['mongodb://host:27017/db', 'mongodb://host:27017/db'],
    ['mongodb://onlyuser@host/db', 'mongodb://onlyuser@host/db'],
    ['mongodb://h/db?password=xyz&w=1', 'mongodb://h/db?password=***&w=1'],
  ])('%s', (input, want) => {
    expect(safeUri(input)).toBe(want);
  });
});

const cfg = {
  databases: {
    runtime: {
      generic: conn('rt-gen'),
      tenants: [
        conn('rt-a', { extIdentifier: 'a', mongoUri: 'mongodb://app:p@ss:w0rd!@tenant-a.example/x' }),
        conn('rt-l', { extIdentifier: 'l', spacesConn: 'local' }),
      ],
    },
  },
  spacesConns: [SPACE],
  localStorage: { enabled: true, basePath: '/var/chronos' },
  routing: { hashAlgo: 'rendezvous' as const, chooseKey: 'runtime' },
};

describe('describeBackends (admin.listBackends)', () => {
  it('lists keys, types, tiers, dbNames, storage and redacted URIs, never a secret', () => {
    const t = topo(cfg);
    const out = describeBackends(t);
    expect(out).toEqual([
      {
        key: 'rt-gen',
        kind: 'mongo',
        type: 'runtime',
        tier: 'generic',
        dbName: 'db_rt_gen',
        mongoUri: 'mongodb://app:***@db-rt-gen.example:27017/?authSource=admin',
        hashed: true,
        storage: {
          kind: 's3',
          index: 0,
          endpoint: SPACE.endpoint,
          region: 'fra1',
          jsonBucket: 'chronos-json',
          contentBucket: 'chronos-content',
          backupsBucket: 'chronos-backups',
          forcePathStyle: false,
        },
      },
      expect.objectContaining({ key: 'rt-a', tier: 'tenant', extIdentifier: 'a', mongoUri: 'mongodb://app:***@tenant-a.example/x' }),
      expect.objectContaining({ key: 'rt-l', storage: { kind: 'local', basePath: '/var/chronos' } }),
    ]);
    const text = JSON.stringify(out);
    for (const s of ['S3cr3t', 'p@ss:w0rd', SPACE.secretKey, SPACE.accessKey]) expect(text).not.toContain(s);
  });

  it('collects the secrets for redaction, including passwords with raw @ and :', () => {
    const s = topologySecrets(topo(cfg));
    expect(s).toEqual(expect.arrayContaining([SPACE.secretKey, 'p@ss:w0rd!', 'pw-rt-gen-S3cr3t']));
  });
});

describe('redactWith', () => {
  it('hides a URI password with raw @ and : even when the message starts with the URI', () => {
    const out = redactWith('mongodb://app:p@ss:w0rd!@h/x failed; also mongodb://u:zz@h2/y', []);
    expect(out).toBe('mongodb://app:***@h/x failed; also mongodb://u:***@h2/y');
  });
});

describe('probeBackends (routing part of admin.health)', () => {
  it('reports each backend on its own (down, hanging), errors redacted', async () => {
    const t = topo(cfg);
    const res = await probeBackends(
      t,
      async (b) => {
        if (b.key === 'rt-a') throw new Error('auth failed for mongodb://app:p@ss:w0rd!@tenant-a.example/x');
        if (b.key === 'rt-gen') throw new Error('mongodb://app:pw-rt-gen-S3cr3t@db-rt-gen.example:27017/ unreachable (pw-rt-gen-S3cr3t)');
        if (b.key === 'rt-l') await new Promise(() => {}); // never answers
      },
      { timeoutMs: 200 },
    );
    expect(res.map((r) => [r.key, r.ok])).toEqual([
      ['rt-gen', false],
      ['rt-a', false],
      ['rt-l', false],
    ]);
    expect(res[1]!.error).toContain('auth failed');
    expect(res[1]!.error).not.toContain('w0rd');
    expect(res[0]!.error).toBe('mongodb://app:***@db-rt-gen.example:27017/ unreachable (***)');
    expect(res[2]!.error).toBe('no answer within 200 ms');
    for (const r of res) expect(r.latencyMs).toBeGreaterThanOrEqual(0);
  });
});
