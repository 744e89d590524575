import { ConfigError } from '@chronos-db/core';
import { LOCAL_BACKEND_KEY } from '@chronos-db/router';
import { SPACE, caught, conn, topo } from './helpers';

const secretsOf = (cfg: Record<string, unknown>): string[] => JSON.stringify(cfg).match(/pw-[A-Za-z0-9_-]+-S3cr3t|super-secret-key-value-\d/g) ?? [];

function configErr(cfg: Record<string, unknown>): { path: string; message: string }[] {
  const e = caught(() => topo(cfg));
  expect(e).toBeInstanceOf(ConfigError);
  for (const s of secretsOf(cfg)) expect(e.message).not.toContain(s);
  expect(e.message).not.toMatch(/mongodb:\/\//);
  return e.issues!;
}

describe('buildTopology', () => {
  it('builds every type and tier, pairing the single spacesConn by default', () => {
    const t = topo({
      databases: {
        metadata: { generic: conn('meta-gen') },
        knowledge: { domains: [conn('kn-d1', { extIdentifier: 'd1' })] },
        runtime: { generic: conn('rt-gen'), tenants: [conn('rt-a', { extIdentifier: 'a' }), conn('rt-b', { extIdentifier: 'b' })] },
      },
      spacesConns: [SPACE],
    });
    expect(t.backends.map((b) => [b.key, b.type, b.tier, b.extIdentifier ?? null, b.spacesConnIndex, b.path])).toEqual([
      ['meta-gen', 'metadata', 'generic', null, 0, 'databases.metadata.generic'],
      ['kn-d1', 'knowledge', 'domain', 'd1', 0, 'databases.knowledge.domains[0]'],
      ['rt-gen', 'runtime', 'generic', null, 0, 'databases.runtime.generic'],
      ['rt-a', 'runtime', 'tenant', 'a', 0, 'databases.runtime.tenants[0]'],
      ['rt-b', 'runtime', 'tenant', 'b', 0, 'databases.runtime.tenants[1]'],
    ]);
    expect(t.routing).toEqual({
      hashAlgo: 'rendezvous',
      fields: ['dbName', 'collection', 'tenantId'],
      types: null,
      nodes: ['kn-d1', 'meta-gen', 'rt-a', 'rt-b', 'rt-gen'],
    });
    expect(t.embedded).toBe(false);
  });

  it('rejects a key used twice across types and tiers, naming both paths', () => {
    const issues = configErr({
      databases: { metadata: { generic: conn('dup') }, runtime: { tenants: [conn('x', { extIdentifier: 'x' }), conn('dup', { extIdentifier: 'y' })] } },
      spacesConns: [SPACE],
    });
    expect(issues).toEqual([
      { path: 'databases.runtime.tenants[1].key', message: expect.stringContaining("duplicate key 'dup' (also at databases.metadata.generic.key)") },
    ]);
  });

  it('rejects an extIdentifier used twice within one type and tier, but allows it across tiers and types', () => {
    const issues = configErr({
      databases: {
        runtime: {
          domains: [conn('d-a', { extIdentifier: 'acme' })],
          tenants: [conn('t-a', { extIdentifier: 'acme' }), conn('t-b', { extIdentifier: 'acme' })],
        },
        knowledge: { tenants: [conn('k-a', { extIdentifier: 'acme' })] },
      },
      spacesConns: [SPACE],
    });
    expect(issues).toEqual([{ path: 'databases.runtime.tenants[1].extIdentifier', message: expect.stringContaining("duplicate extIdentifier 'acme'") }]);
  });

  it('lists every problem at once', () => {
    const issues = configErr({
      databases: {
        runtime: {
          generic: conn('g', { extIdentifier: 'nope', dbName: 'admin' }),
          tenants: [conn('g', { extIdentifier: 't' }), conn('t2', { extIdentifier: 't2', spacesConn: 5 })],
        },
      },
      spacesConns: [SPACE, { ...SPACE, jsonBucket: 'other-json' }],
      routing: { hashAlgo: 'jump', chooseKey: 'dbName|shard' },
    });
    expect(issues.map((i) => i.path)).toEqual([
      'databases.runtime.generic.dbName',
      'databases.runtime.generic.extIdentifier',
      'databases.runtime.generic.spacesConn',
      'databases.runtime.tenants[0].key',
      'databases.runtime.tenants[0].spacesConn',
      'databases.runtime.tenants[1].spacesConn',
      'routing.chooseKey',
    ]);
    expect(issues[5]!.message).toContain('spacesConns has only 2 entries');
  });

  describe('pairs each connection with a storage connection', () => {
    const two = [SPACE, { ...SPACE, endpoint: 'https://nyc3.digitaloceanspaces.com', region: 'nyc3', jsonBucket: 'nyc-json' }];

    it('by index or by jsonBucket name', () => {
      const t = topo({
        databases: { runtime: { generic: conn('a', { spacesConn: 1 }), domains: [conn('b', { extIdentifier: 'b', spacesConn: 'chronos-json' })] } },
        spacesConns: two,
      });
      expect(t.byKey.get('a')!.spacesConnIndex).toBe(1);
      expect(t.byKey.get('b')!.spacesConnIndex).toBe(0);
    });

    it('requires an explicit choice among several spacesConns', () => {
      expect(configErr({ databases: { runtime: { generic: conn('a') } }, spacesConns: two })).toEqual([
        { path: 'databases.runtime.generic.spacesConn', message: expect.stringContaining('is required when there are 2 spacesConns') },
      ]);
    });

    it('rejects an unknown or ambiguous jsonBucket name', () => {
      expect(configErr({ databases: { runtime: { generic: conn('a', { spacesConn: 'nope-json' }) } }, spacesConns: two })[0]!.path).toBe(
        'databases.runtime.generic.spacesConn',
      );
      const same = [SPACE, { ...SPACE, endpoint: 'https://nyc3.digitaloceanspaces.com', region: 'nyc3' }];
      expect(configErr({ databases: { runtime: { generic: conn('a', { spacesConn: 'chronos-json' }) } }, spacesConns: same })[0]!.message).toContain(
        'give the index instead',
      );
    });

    it('uses localStorage when there is no spacesConn, and accepts spacesConn "local"', () => {
      const t = topo({
        databases: { runtime: { generic: conn('a'), tenants: [conn('b', { extIdentifier: 'b', spacesConn: 'local' })] } },
        localStorage: { enabled: true, basePath: '/tmp/x' },
      });
      expect(t.byKey.get('a')!.spacesConnIndex).toBe('local');
      expect(t.byKey.get('b')!.spacesConnIndex).toBe('local');
      expect(t.embedded).toBe(false);
    });

    it('prefers the single spacesConn over localStorage, unless told "local"', () => {
      const t = topo({
        databases: { runtime: { generic: conn('a'), tenants: [conn('b', { extIdentifier: 'b', spacesConn: 'local' })] } },
        spacesConns: [SPACE],
        localStorage: { enabled: true, basePath: '/tmp/x' },
      });
      expect(t.byKey.get('a')!.spacesConnIndex).toBe(0);
      expect(t.byKey.get('b')!.spacesConnIndex).toBe('local');
    });

    it('rejects an index when only localStorage exists', () => {
      expect(configErr({ databases: { runtime: { generic: conn('a', { spacesConn: 0 }) } }, localStorage: { enabled: true, basePath: '/tmp/x' } })).toEqual([
        { path: 'databases.runtime.generic.spacesConn', message: 'is 0, but no spacesConns are configured' },
      ]);
    });
  });

  it('serves the embedded default as one local backend when no databases are configured', () => {
    const t = topo({ localStorage: { enabled: true, basePath: '/tmp/x' } });
    expect(t.embedded).toBe(true);
    expect(t.backends).toEqual([
      { kind: 'local', key: LOCAL_BACKEND_KEY, dbName: 'chronos', type: 'runtime', tier: 'generic', spacesConnIndex: 'local', path: 'localStorage' },
    ]);
    expect(t.routing.nodes).toEqual([LOCAL_BACKEND_KEY]);
  });

  describe('routing.chooseKey', () => {
    const dbs = { metadata: { generic: conn('m') }, runtime: { generic: conn('r1'), domains: [conn('r2', { extIdentifier: 'r2' })] } };

    it('selects hashed fields and eligible types', () => {
      const t = topo({ databases: dbs, spacesConns: [SPACE], routing: { hashAlgo: 'jump', chooseKey: 'runtime|tenantId|dbName' } });
      expect(t.routing).toEqual({ hashAlgo: 'jump', fields: ['tenantId', 'dbName'], types: ['runtime'], nodes: ['r1', 'r2'] });
    });

    it('rejects a type without backends and unknown tokens', () => {
      expect(configErr({ databases: dbs, spacesConns: [SPACE], routing: { hashAlgo: 'rendezvous', chooseKey: 'knowledge' } })[0]!.path).toBe(
        'routing.chooseKey',
      );
      expect(configErr({ databases: dbs, spacesConns: [SPACE], routing: { hashAlgo: 'rendezvous', chooseKey: 'tenant' } })[0]!.message).toContain(
        "unknown token 'tenant'",
      );
    });
  });
});
