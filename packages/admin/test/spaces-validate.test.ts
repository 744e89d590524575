/** validateSpacesConfiguration's static checks (no server: live: false) and ensureBucketsExist's guard. */
import { ValidationError } from '@chronos-db/core';
import { bucketNameProblem, endpointRegion, ensureBucketsExist, validateSpacesConfiguration, type SpacesConnection } from '@chronos-db/admin';

// The guide's connection, with a realistic key shape.
const SECRET = 'abcdEFGHijklMNOPqrstUVWXyz0123456789+/abcde';
const guide: SpacesConnection = {
  endpoint: 'https://fra1.digitaloceanspaces.com',
  region: 'fra1',
  accessKey: 'DO1234567890ABCDEFGH',
  secretKey: SECRET,
  jsonBucket: 'chronos-json',
  contentBucket: 'chronos-content',
  backupsBucket: 'chronos-backups',
  forcePathStyle: false,
};

const check = (over: Partial<SpacesConnection>) => validateSpacesConfiguration({ ...guide, ...over }, { live: false });

describe('validateSpacesConfiguration (static)', () => {
  it("accepts the guide's configuration", async () => {
    const r = await check({});
    expect(r).toEqual({ valid: true, issues: [], recommendations: [] });
  });

  it('reports a region mismatch in the guide wording', async () => {
    expect((await check({ region: 'nyc3' })).issues).toEqual(["Region mismatch: endpoint uses 'fra1' but config specifies 'nyc3'"]);
    expect((await check({ endpoint: 'https://nyc3.digitaloceanspaces.com', region: 'fra1' })).issues).toEqual([
      "Region mismatch: endpoint uses 'nyc3' but config specifies 'fra1'",
    ]);
    expect((await check({ endpoint: 'https://s3.eu-west-1.amazonaws.com', region: 'us-east-1', accessKey: 'AKIAIOSFODNN7EXAMPLE' })).issues).toEqual([
      "Region mismatch: endpoint uses 'eu-west-1' but config specifies 'us-east-1'",
    ]);
    expect((await check({ endpoint: 'https://s3-us-west-2.amazonaws.com', region: 'us-west-2' })).issues).toEqual([]);
  });

  it("accepts region 'us-east-1' with a DigitalOcean endpoint, as the guide says", async () => {
    const r = await check({ region: 'us-east-1' });
    expect(r.valid).toBe(true);
    expect(r.issues).toEqual([]);
  });

  it('does not call AWS, MinIO or Ceph endpoints invalid', async () => {
    const aws = await check({ endpoint: 'https://s3.eu-central-1.amazonaws.com', region: 'eu-central-1', accessKey: 'AKIAIOSFODNN7EXAMPLE' });
    expect(aws).toEqual({ valid: true, issues: [], recommendations: [] });
    const minio = await check({ endpoint: 'http://localhost:9000', region: 'us-east-1', accessKey: 'minioadmin-key', forcePathStyle: true });
    expect(minio).toEqual({ valid: true, issues: [], recommendations: [] });
    const ceph = await check({ endpoint: 'http://127.0.0.1:17480', region: 'default', forcePathStyle: true });
    expect(ceph).toEqual({ valid: true, issues: [], recommendations: [] });
    const r2 = await check({ endpoint: 'https://0123456789abcdef.r2.cloudflarestorage.com', region: 'auto' });
    expect(r2.valid).toBe(true);
  });

  it('recommends virtual-hosted style for Spaces and path style for IP endpoints', async () => {
    expect((await check({ forcePathStyle: true })).recommendations).toEqual([
      'Use forcePathStyle: false (virtual-hosted style) with DigitalOcean Spaces: it is the recommended style and performs better',
    ]);
    expect((await check({ endpoint: 'http://10.0.0.5:9000', region: 'us-east-1', forcePathStyle: false })).recommendations).toEqual([
      "Set forcePathStyle: true for an IP endpoint ('10.0.0.5'): virtual-hosted style needs a DNS name for every bucket",
    ]);
  });

  it('checks the endpoint format', async () => {
    expect((await check({ endpoint: 'fra1.digitaloceanspaces.com' })).issues[0]).toMatch(/^Invalid endpoint: must be a URL/);
    expect((await check({ endpoint: 'https://chronos-json.fra1.digitaloceanspaces.com' })).issues).toEqual([
      "Invalid endpoint: 'chronos-json.fra1.digitaloceanspaces.com' includes a bucket name; use https://fra1.digitaloceanspaces.com and set the bucket names separately",
    ]);
    expect((await check({ endpoint: 'https://fra1.cdn.digitaloceanspaces.com' })).issues[0]).toMatch(/CDN endpoint/);
    expect((await check({ endpoint: 'https://digitaloceanspaces.com' })).issues[0]).toMatch(/not a DigitalOcean Spaces endpoint/);
    expect((await check({ endpoint: 'https://fra1.digitaloceanspaces.com/chronos-json' })).issues[0]).toMatch(/must not contain a path/);
    expect((await check({ endpoint: 'ftp://fra1.digitaloceanspaces.com' })).issues[0]).toMatch(/protocol 'ftp'/);
    expect((await check({ endpoint: 'http://fra1.digitaloceanspaces.com' })).recommendations).toEqual([
      "Use https for 'fra1.digitaloceanspaces.com': credentials and payloads should not travel in clear text",
    ]);
    const withCreds = await check({ endpoint: 'https://user:hunter2-password@fra1.digitaloceanspaces.com' });
    expect(withCreds.issues[0]).toMatch(/must not contain credentials/);
    expect(JSON.stringify(withCreds)).not.toContain('hunter2-password');
  });

  it('checks bucket names', async () => {
    const r = await check({ jsonBucket: 'Chronos_JSON', contentBucket: 'ab', backupsBucket: '192.168.1.1' });
    expect(r.valid).toBe(false);
    expect(r.issues).toEqual([
      "Invalid jsonBucket 'Chronos_JSON': a bucket name may contain only lowercase letters, digits, dots and hyphens, and must start and end with a letter or digit",
      "Invalid contentBucket 'ab': a bucket name must be 3-63 characters long",
      "Invalid backupsBucket '192.168.1.1': a bucket name must not look like an IP address",
    ]);
    expect((await check({ contentBucket: 'chronos-json' })).issues).toEqual([
      "jsonBucket and contentBucket are the same bucket 'chronos-json': use three separate buckets",
    ]);
    expect((await check({ jsonBucket: 'chronos.json' })).recommendations[0]).toMatch(/Avoid dots in jsonBucket/);
    expect(bucketNameProblem('a..b')).toMatch(/adjacent dots/);
    expect(bucketNameProblem('chronos-json')).toBeNull();
  });

  it('checks the credentials shape without echoing them', async () => {
    const cases: Array<[Partial<SpacesConnection>, RegExp]> = [
      [{ accessKey: '' }, /^Missing accessKey/],
      [{ accessKey: undefined as unknown as string }, /^Missing accessKey/],
      [{ secretKey: '' }, /^Missing secretKey/],
      [{ secretKey: `${SECRET}\n` }, /secretKey: it contains whitespace/],
      [{ accessKey: ' DO1234567890ABCDEFGH' }, /accessKey: it contains whitespace/],
      [{ secretKey: 'your-secret-key-here' }, /secretKey: it looks like a placeholder/],
      [{ secretKey: 'short' }, /too short/],
      [{ secretKey: 'DO1234567890ABCDEFGH' }, /secretKey equals accessKey/],
    ];
    for (const [over, re] of cases) {
      const r = await check(over);
      expect(r.valid).toBe(false);
      expect(r.issues.some((i) => re.test(i))).toBe(true);
      expect(JSON.stringify(r)).not.toContain(SECRET);
      expect(JSON.stringify(r)).not.toContain('DO1234567890ABCDEFGH');
    }
    expect((await check({ accessKey: 'lowercase-key-1234567' })).recommendations[0]).toMatch(/does not look like a DigitalOcean Spaces key/);
  });

  it('knows the region an endpoint names', () => {
    expect(endpointRegion('https://sgp1.digitaloceanspaces.com')).toEqual({ region: 'sgp1', provider: 'digitalocean' });
    expect(endpointRegion('https://s3.dualstack.ap-southeast-2.amazonaws.com')).toEqual({ region: 'ap-southeast-2', provider: 'aws' });
    expect(endpointRegion('https://s3.amazonaws.com')).toBeNull();
    expect(endpointRegion('http://127.0.0.1:17480')).toBeNull();
  });
});

describe('ensureBucketsExist guard', () => {
  it('refuses without confirm before any request', async () => {
    // An unreachable endpoint: the guard must fire first.
    const c = { ...guide, endpoint: 'http://127.0.0.1:1' };
    await expect(ensureBucketsExist(c, { createIfMissing: true })).rejects.toBeInstanceOf(ValidationError);
    await expect(ensureBucketsExist(c, { confirm: 'yes' as unknown as boolean })).rejects.toThrow(/confirm: true/);
  });
});
