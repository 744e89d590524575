import { parseConfig, redactUri, redactSecrets, configSecrets } from '@chronos-db/core';
import { issuesOf } from './helpers/config';

const seed = {
  databases: { runtime: { generic: { key: 'runtime-generic', mongoUri: 'mongodb://localhost:27017', dbName: 'runtime_generic' } } },
  spacesConns: [
    {
      endpoint: 'https://fra1.digitaloceanspaces.com',
      region: 'fra1',
      accessKey: 'DO1234567890ABCDEF',
      secretKey: 'your-secret-key-here',
      jsonBucket: 'chronos-json',
      contentBucket: 'chronos-content',
      backupsBucket: 'chronos-backups',
      forcePathStyle: false,
    },
  ],
  counters: { mongoUri: 'mongodb://localhost:27017', dbName: 'chronos_counters' },
  routing: { hashAlgo: 'rendezvous' as const },
  retention: {},
  rollup: {},
  collectionMaps: { users: { indexedProps: ['email'] } },
};

describe('config', () => {
  it("accepts the seed's shape exactly", () => {
    expect(parseConfig(seed).spacesConns![0]!.jsonBucket).toBe('chronos-json');
  });

  it('accepts the embedded default alone', () => {
    expect(parseConfig({ localStorage: { enabled: true, basePath: './data' } }).localStorage!.basePath).toBe('./data');
  });

  it('lists every problem with its path and never a secret', () => {
    const secret = 'super-secret-value-123';
    const bad = {
      ...seed,
      databases: { runtime: { generic: { key: 'k', mongoUri: `mongodb://u:${secret}@h:1`, dbName: 'bad/name' } } },
      spacesConns: [{ ...seed.spacesConns[0]!, secretKey: secret, endpoint: 'not a url', jsonBucket: 'Bad_Bucket', accessKey: undefined }],
      surprise: 1,
    };
    const issues = issuesOf(bad);
    const paths = issues.map((i) => i.path);
    expect(paths).toEqual(
      expect.arrayContaining(['databases.runtime.generic.dbName', 'spacesConns[0].endpoint', 'spacesConns[0].jsonBucket', 'spacesConns[0].accessKey', '']),
    );
    expect(issues.find((i) => i.path === '')!.message).toContain("'surprise'");
    let msg = '';
    try {
      parseConfig(bad);
    } catch (e) {
      msg = (e as Error).message + JSON.stringify(e);
    }
    expect(msg).not.toContain(secret);
  });

  it('needs some storage', () => {
    expect(issuesOf({}).map((i) => i.path)).toContain('databases');
    expect(issuesOf({ databases: seed.databases }).map((i) => i.path)).toContain('spacesConns');
  });

  it('refuses unsafe counter rule filters', () => {
    const issues = issuesOf({ ...seed, counterRules: { rules: [{ name: 'x', when: { $where: '1' } }] } });
    expect(issues[0]!.path).toBe('counterRules.rules[0].when');
  });

  it('redacts URIs and known secrets', () => {
    expect(redactUri('mongodb://user:p%40ss@host:27017/db?authSource=admin')).toBe('mongodb://user:***@host:27017/db?authSource=admin');
    const cfg = parseConfig({ ...seed, counters: { mongoUri: 'mongodb://u:pw123456@h:1', dbName: 'c' } });
    const s = configSecrets(cfg);
    expect(redactSecrets('failed with your-secret-key-here and pw123456', s)).toBe('failed with *** and ***');
  });
});
