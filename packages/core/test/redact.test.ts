import { createRedactor, makeLogger, parseConfig, redactConfig, redactUri, secretForms, uriSecrets, maskAccessKey, type Logger } from '@chronos-db/core';

const seed = (pw: string, sk = 'S3cr3t-S3cr3t-S3cr3t-xx') =>
  parseConfig({
    databases: { runtime: { generic: { key: 'g', mongoUri: `mongodb://app:${encodeURIComponent(pw)}@db.example:27017/?authSource=admin`, dbName: 'g' } } },
    spacesConns: [
      {
        endpoint: 'https://fra1.digitaloceanspaces.com',
        region: 'fra1',
        accessKey: 'DO1234567890ABCDEFGH',
        secretKey: sk,
        jsonBucket: 'chronos-json',
        contentBucket: 'chronos-content',
        backupsBucket: 'chronos-backups',
      },
    ],
    operationTimeoutMs: 10000,
  });

describe('redactConfig (structural, never re-parsed)', () => {
  it('a password "1000" next to operationTimeoutMs: 10000 keeps the number and hides the password', () => {
    const out = redactConfig(seed('1000'));
    expect(out.operationTimeoutMs).toBe(10000);
    expect(out.databases!.runtime!.generic!.mongoUri).toBe('mongodb://app:***@db.example:27017/?authSource=admin');
    expect(out.spacesConns![0]!.secretKey).toBe('***');
    expect(out.spacesConns![0]!.accessKey).toBe('DO12…EFGH');
  });

  it.each(['a"b\\c"d', '"', '\\', 'x', '7', 'p@ss:w/rd', '%41%'])('hides %j in every position', (pw) => {
    const out = redactConfig(seed(pw, `${pw}${pw}`));
    expect(out.databases!.runtime!.generic!.mongoUri).toMatch(/^mongodb:\/\/app:(\*\*\*|###)@db\.example/);
    expect(out.spacesConns![0]!.secretKey).not.toContain(pw);
  });
});

describe('createRedactor', () => {
  it('replaces raw, URL-encoded and JSON-escaped forms', () => {
    const r = createRedactor(['p@ss"w\\rd']);
    expect(r.text('a p@ss"w\\rd b p%40ss%22w%5Crd c p@ss\\"w\\\\rd')).toBe('a *** b *** c ***');
  });

  it('short secrets: replaced where they stand alone, kept inside words; structural positions at any length', () => {
    const r = createRedactor(['7']);
    expect(r.text("password '7' rejected; attempt 17 of 70")).toBe("password '***' rejected; attempt 17 of 70");
    expect(r.value({ password: '7', n: 7, note: 'x 7' })).toEqual({ password: '***', n: 7, note: 'x ***' });
  });

  it('a secret containing the mask character gets another mask', () => {
    const r = createRedactor(['a*']);
    expect(r.mask).toBe('###');
    expect(r.text('got a*.')).toBe('got ###.');
    expect(createRedactor(['**x']).text('a**xb')).toBe('a###b');
  });

  it('walks errors, cycles and nested secrets without serializing', () => {
    const r = createRedactor(['topsecret']);
    const e = Object.assign(new Error('failed with topsecret'), { code: 'E1' });
    const meta: Record<string, unknown> = { error: e, uri: 'mongodb://u:topsecret@h/x', nested: [{ secretKey: 'anything' }] };
    meta.self = meta;
    expect(r.value(meta)).toEqual({
      error: { name: 'Error', message: 'failed with ***', code: 'E1' },
      uri: 'mongodb://u:***@h/x',
      nested: [{ secretKey: '***' }],
      self: '[Circular]',
    });
    const thrown = r.error(Object.assign(new Error('topsecret'), { details: { where: 'topsecret' }, cause: new Error('cause topsecret') }));
    expect([thrown.message, (thrown as { details?: { where: string } }).details!.where, (thrown.cause as Error).message, thrown.stack]).toEqual([
      '***',
      '***',
      'cause ***',
      expect.not.stringContaining('topsecret'),
    ]);
  });

  it('URIs: the user-info ends at the last @; secret parameters are emptied', () => {
    expect(redactUri('mongodb://u:p@ss:w/rd@h1,h2/db?authSource=admin')).toBe('mongodb://u:***@h1,h2/db?authSource=admin');
    expect(redactUri('https://b.example/k?X-Amz-Signature=abc&x=1')).toBe('https://b.example/k?X-Amz-Signature=***&x=1');
    expect(uriSecrets('mongodb://u:p%40ss@h/')).toEqual(['p%40ss', 'p@ss']);
    expect(secretForms('a"b')).toEqual(expect.arrayContaining(['a"b', 'a\\"b', 'a%22b']));
    expect(maskAccessKey('short')).toBe('****');
  });
});

describe('makeLogger', () => {
  it('redacts the message as text and the meta structurally', () => {
    const lines: unknown[][] = [];
    const sink: Partial<Logger> = { warn: (...a: unknown[]) => void lines.push(a) };
    const log = makeLogger('warn', sink, createRedactor(['1000']));
    log.warn('auth failed with 1000', { timeoutMs: 10000, password: '1000', msg: 'pw "1000"' });
    expect(lines).toEqual([['[chronos-db] auth failed with ***', { timeoutMs: 10000, password: '***', msg: 'pw "***"' }]]);
  });
});

describe('short secrets next to each other', () => {
  it('a replacement that leaves a short secret standing alone replaces it too', () => {
    expect(createRedactor(['-', 'a']).text('x -a- y')).toBe('x ********* y');
    expect(createRedactor(['a', '-']).text('x -a- y')).toBe('x ********* y');
  });
});
