/** The guide's admin functions against the real Ceph S3 gateway (CHRONOS_TEST_S3_*). */
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  HeadBucketCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  PutBucketAclCommand,
  PutBucketPolicyCommand,
  PutBucketVersioningCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { ValidationError } from '@chronos-db/core';
import { createS3BlobStore, createS3Client } from '@chronos-db/storage-s3';
import { createSpacesAdmin, ensureBucketsExist, s3Health, testS3Connectivity, validateSpacesConfiguration, type SpacesConnection } from '@chronos-db/admin';

const ENV = ['CHRONOS_TEST_S3_ENDPOINT', 'CHRONOS_TEST_S3_ACCESS_KEY', 'CHRONOS_TEST_S3_SECRET_KEY'] as const;
const missing = ENV.filter((n) => !process.env[n]);
const why = `needs ${ENV.join(', ')} (scripts/ceph.sh start, then source .tmp/test-servers.env)`;
if (missing.length && process.env.CI !== 'true') console.log(`[skip] admin spaces integration: ${why}`);
const d = missing.length === 0 ? describe : process.env.CI === 'true' ? describe : describe.skip;

const endpoint = process.env.CHRONOS_TEST_S3_ENDPOINT ?? '';
const accessKey = process.env.CHRONOS_TEST_S3_ACCESS_KEY ?? '';
const secretKey = process.env.CHRONOS_TEST_S3_SECRET_KEY ?? '';

let seq = 0;
function names(tag: string) {
  const r = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}${seq++}`;
  return { jsonBucket: `chronos-${tag}-${r}-json`, contentBucket: `chronos-${tag}-${r}-content`, backupsBucket: `chronos-${tag}-${r}-backups` };
}
function conn(b: ReturnType<typeof names>, extra: Partial<SpacesConnection> = {}): SpacesConnection {
  return { endpoint, region: 'us-east-1', accessKey, secretKey, forcePathStyle: true, ...b, ...extra };
}
const all = (b: ReturnType<typeof names>) => [b.jsonBucket, b.contentBucket, b.backupsBucket];

async function exists(client: S3Client, bucket: string): Promise<boolean> {
  try {
    await client.send(new HeadBucketCommand({ Bucket: bucket }));
    return true;
  } catch (e) {
    if ((e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return false;
    throw e;
  }
}

async function drop(client: S3Client, buckets: string[]): Promise<void> {
  for (const Bucket of buckets) {
    try {
      const out = await client.send(new ListObjectsV2Command({ Bucket }));
      for (const o of out.Contents ?? []) await client.send(new DeleteObjectCommand({ Bucket, Key: o.Key! }));
      await client.send(new DeleteBucketCommand({ Bucket }));
    } catch {
      /* gone */
    }
  }
}

/** Every admin result is checked for the secret. */
function noSecret(x: unknown): void {
  const s = JSON.stringify(x);
  expect(s).not.toContain(secretKey);
  expect(s).not.toContain('WRONG-secret');
}

d('Spaces admin functions on the Ceph gateway', () => {
  if (missing.length) {
    it('has its S3 test server', () => {
      throw new Error(`CI=true but the S3 test server is not configured: ${why}`);
    });
    return;
  }
  let oracle: { client: S3Client; destroy: () => void };
  const created: string[] = [];
  beforeAll(() => {
    oracle = createS3Client({
      endpoint,
      region: 'us-east-1',
      accessKey,
      secretKey,
      jsonBucket: 'x-x',
      contentBucket: 'x-x',
      backupsBucket: 'x-x',
      forcePathStyle: true,
    });
  });
  afterAll(async () => {
    await drop(oracle.client, created);
    oracle.destroy();
  });
  const track = (b: ReturnType<typeof names>) => {
    created.push(...all(b));
    return b;
  };

  describe('ensureBucketsExist', () => {
    it('refuses without confirm (or dryRun) and touches nothing', async () => {
      const b = track(names('ens'));
      await expect(ensureBucketsExist(conn(b), {})).rejects.toBeInstanceOf(ValidationError);
      await expect(ensureBucketsExist(conn(b), { confirm: false, createIfMissing: true })).rejects.toBeInstanceOf(ValidationError);
      await expect(ensureBucketsExist(conn(b), undefined as never)).rejects.toBeInstanceOf(ValidationError);
      for (const n of all(b)) expect(await exists(oracle.client, n)).toBe(false);
    });

    it('dryRun reports and creates none', async () => {
      const b = track(names('dry'));
      await oracle.client.send(new CreateBucketCommand({ Bucket: b.jsonBucket }));
      const r = await ensureBucketsExist(conn(b), { dryRun: true, confirm: true });
      expect(r.bucketsChecked).toBe(3);
      expect(r.bucketsCreated).toBe(0);
      expect(r.bucketStatuses).toEqual([
        { name: b.jsonBucket, exists: true, accessible: true },
        { name: b.contentBucket, exists: false, accessible: false, created: false, error: `Bucket '${b.contentBucket}' does not exist` },
        { name: b.backupsBucket, exists: false, accessible: false, created: false, error: `Bucket '${b.backupsBucket}' does not exist` },
      ]);
      expect(await exists(oracle.client, b.contentBucket)).toBe(false);
      expect(await exists(oracle.client, b.backupsBucket)).toBe(false);
      // dryRun alone (no confirm) is allowed: it only reads.
      expect((await ensureBucketsExist(conn(b), { dryRun: true, createIfMissing: true })).bucketsCreated).toBe(0);
      expect(await exists(oracle.client, b.contentBucket)).toBe(false);
      noSecret(r);
    });

    it('creates exactly the missing buckets, and nothing on the second run', async () => {
      const b = track(names('cre'));
      await oracle.client.send(new CreateBucketCommand({ Bucket: b.contentBucket }));
      const r = await ensureBucketsExist(conn(b), { confirm: true, createIfMissing: true, dryRun: false });
      expect(r.bucketsChecked).toBe(3);
      expect(r.bucketsCreated).toBe(2);
      expect(r.bucketStatuses).toEqual([
        { name: b.jsonBucket, exists: true, accessible: true, created: true },
        { name: b.contentBucket, exists: true, accessible: true },
        { name: b.backupsBucket, exists: true, accessible: true, created: true },
      ]);
      for (const n of all(b)) expect(await exists(oracle.client, n)).toBe(true);
      const again = await ensureBucketsExist(conn(b), { confirm: true, createIfMissing: true });
      expect(again.bucketsCreated).toBe(0);
      expect(again.bucketStatuses.every((s) => s.exists && s.accessible && s.created === undefined)).toBe(true);
      noSecret([r, again]);
    });

    it('createIfMissing: false only checks', async () => {
      const b = track(names('nocre'));
      const r = await ensureBucketsExist(conn(b), { confirm: true, createIfMissing: false });
      expect(r.bucketsCreated).toBe(0);
      expect(r.bucketStatuses.map((s) => s.exists)).toEqual([false, false, false]);
      for (const n of all(b)) expect(await exists(oracle.client, n)).toBe(false);
    });

    it("a wrong secret reports the guide's access-denied error per bucket and creates nothing", async () => {
      const b = track(names('den'));
      const r = await ensureBucketsExist(conn(b, { secretKey: 'WRONG-secret-key-0123456789-abcdefghijkl', maxAttempts: 1 }), {
        confirm: true,
        createIfMissing: true,
      });
      expect(r.bucketsCreated).toBe(0);
      expect(r.bucketStatuses.map((s) => s.error)).toEqual(all(b).map((n) => `Access denied to bucket '${n}'`));
      expect(r.bucketStatuses.every((s) => !s.exists && !s.accessible)).toBe(true);
      for (const n of all(b)) expect(await exists(oracle.client, n)).toBe(false);
      noSecret(r);
    });
  });

  describe('testS3Connectivity', () => {
    it('succeeds and lists the configured buckets', async () => {
      const b = track(names('con'));
      await ensureBucketsExist(conn(b), { confirm: true });
      const r = await testS3Connectivity(conn(b));
      expect(r).toEqual({ success: true, buckets: all(b) });
      // The guide's health check.
      const healthCheck = async () => {
        const connectivity = await testS3Connectivity(conn(b));
        return {
          status: connectivity.success ? 'healthy' : 'unhealthy',
          spaces: connectivity.success ? 'connected' : 'disconnected',
          buckets: connectivity.buckets.length,
        };
      };
      expect(await healthCheck()).toEqual({ status: 'healthy', spaces: 'connected', buckets: 3 });
    });

    it('reports a missing bucket and a wrong secret in the guide wording', async () => {
      const b = track(names('con2'));
      await oracle.client.send(new CreateBucketCommand({ Bucket: b.jsonBucket }));
      const r = await testS3Connectivity(conn(b));
      expect(r.success).toBe(false);
      expect(r.buckets).toEqual([b.jsonBucket]);
      expect(r.error).toContain(`Bucket '${b.contentBucket}' does not exist`);
      const bad = await testS3Connectivity(conn(b, { secretKey: 'WRONG-secret-key-0123456789-abcdefghijkl', maxAttempts: 1 }));
      expect(bad.success).toBe(false);
      expect(bad.buckets).toEqual([]);
      expect(bad.error).toContain(`Access denied to bucket '${b.jsonBucket}'`);
      noSecret([r, bad]);
    });

    it('reports an unreachable endpoint without throwing', async () => {
      const b = names('unreach');
      const r = await testS3Connectivity(conn(b, { endpoint: 'http://127.0.0.1:1', maxAttempts: 1, requestTimeoutMs: 2000 }));
      expect(r.success).toBe(false);
      expect(r.buckets).toEqual([]);
      expect(r.error).toMatch(/ECONNREFUSED/);
      noSecret(r);
    });

    const scopedKey = process.env.CHRONOS_TEST_S3_SCOPED_ACCESS_KEY;
    const scopedSecret = process.env.CHRONOS_TEST_S3_SCOPED_SECRET_KEY;
    const scopedUser = process.env.CHRONOS_TEST_S3_SCOPED_USER;
    (scopedKey && scopedSecret && scopedUser ? it : it.skip)('works with keys scoped to the configured buckets (no ListBuckets)', async () => {
      const b = track(names('scope'));
      await ensureBucketsExist(conn(b), { confirm: true });
      const scoped = conn(b, { accessKey: scopedKey!, secretKey: scopedSecret! });
      // Before the grant, the scoped keys cannot reach the buckets.
      const before = await testS3Connectivity(scoped);
      expect(before.success).toBe(false);
      expect(before.error).toContain(`Access denied to bucket '${b.jsonBucket}'`);
      for (const n of all(b)) {
        const policy = {
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { AWS: [`arn:aws:iam:::user/${scopedUser}`] },
              Action: ['s3:ListBucket', 's3:GetObject', 's3:PutObject'],
              Resource: [`arn:aws:s3:::${n}`, `arn:aws:s3:::${n}/*`],
            },
          ],
        };
        await oracle.client.send(new PutBucketPolicyCommand({ Bucket: n, Policy: JSON.stringify(policy) }));
      }
      // The scoped user sees none of these buckets in ListBuckets...
      const sc = createS3Client(scoped);
      try {
        const listed = await sc.client.send(new ListBucketsCommand({}));
        expect((listed.Buckets ?? []).map((x) => x.Name)).not.toContain(b.jsonBucket);
      } finally {
        sc.destroy();
      }
      // ...and connectivity still succeeds.
      const r = await testS3Connectivity(scoped);
      expect(r).toEqual({ success: true, buckets: all(b) });
      expect(JSON.stringify(r)).not.toContain(scopedSecret!);
    });
  });

  describe('validateSpacesConfiguration (live)', () => {
    it('accepts a healthy gateway connection and recommends versioning while it is off', async () => {
      const b = track(names('val'));
      await ensureBucketsExist(conn(b), { confirm: true });
      const r = await validateSpacesConfiguration(conn(b));
      expect(r.issues).toEqual([]);
      expect(r.valid).toBe(true);
      expect(r.recommendations.filter((x) => x.startsWith('Enable versioning'))).toEqual([
        `Enable versioning on bucket '${b.jsonBucket}' (Spaces: Settings → Versioning) to keep overwritten or deleted objects recoverable`,
        `Enable versioning on bucket '${b.contentBucket}' (Spaces: Settings → Versioning) to keep overwritten or deleted objects recoverable`,
      ]);
      await oracle.client.send(new PutBucketVersioningCommand({ Bucket: b.jsonBucket, VersioningConfiguration: { Status: 'Enabled' } }));
      const r2 = await validateSpacesConfiguration(conn(b));
      expect(r2.recommendations.some((x) => x.includes(`versioning on bucket '${b.jsonBucket}'`))).toBe(false);
      expect(r2.recommendations.some((x) => x.includes(`versioning on bucket '${b.contentBucket}'`))).toBe(true);
      noSecret([r, r2]);
    });

    it("flags a public content bucket (the guide's public-read policy) and a public-read ACL", async () => {
      const b = track(names('pub'));
      await ensureBucketsExist(conn(b), { confirm: true });
      // The guide's bucket policy, which must not be followed.
      const policy = {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: '*', Action: 's3:GetObject', Resource: `arn:aws:s3:::${b.contentBucket}/*` }],
      };
      await oracle.client.send(new PutBucketPolicyCommand({ Bucket: b.contentBucket, Policy: JSON.stringify(policy) }));
      const r = await validateSpacesConfiguration(conn(b));
      expect(r.valid).toBe(false);
      expect(r.issues).toEqual([
        `Bucket '${b.contentBucket}' (content) is publicly readable: its bucket policy allows public s3:GetObject. Remove public access and share content through presigned URLs (presignProperty)`,
      ]);
      await oracle.client.send(new PutBucketAclCommand({ Bucket: b.backupsBucket, ACL: 'public-read' }));
      const r2 = await validateSpacesConfiguration(conn(b));
      expect(r2.issues).toHaveLength(2);
      expect(r2.issues[1]).toBe(
        `Bucket '${b.backupsBucket}' (backups) is publicly readable: its ACL grants read to all users. Remove public access and share objects through presigned URLs (presignProperty)`,
      );
      noSecret([r, r2]);
    });

    it('reports missing buckets and access denied as issues', async () => {
      const b = names('valmiss');
      const r = await validateSpacesConfiguration(conn(b));
      expect(r.valid).toBe(false);
      expect(r.issues).toEqual(all(b).map((n) => `Bucket '${n}' does not exist`));
      expect(r.recommendations.some((x) => x.startsWith(`Create bucket '${b.jsonBucket}'`))).toBe(true);
      const bad = await validateSpacesConfiguration(conn(b, { secretKey: 'WRONG-secret-key-0123456789-abcdefghijkl', maxAttempts: 1 }));
      expect(bad.issues).toEqual(all(b).map((n) => `Access denied to bucket '${n}'`));
      noSecret([r, bad]);
    });
  });

  describe('s3Health', () => {
    it('reports ok, latency and the requests of the last hour against 10,000', async () => {
      const b = track(names('hl'));
      await ensureBucketsExist(conn(b), { confirm: true });
      const store = createS3BlobStore(conn(b));
      try {
        for (let i = 0; i < 5; i++) await store.put('json', `h/${i}`, new TextEncoder().encode('x'));
      } finally {
        await store.close();
      }
      const h = await s3Health(conn(b));
      expect(h.ok).toBe(true);
      expect(h.error).toBeUndefined();
      expect(h.latencyMs).toBeGreaterThanOrEqual(0);
      expect(h.hourlyLimit).toBe(10000);
      // 5 puts by the store (+1 HeadBucket by ensureBucketsExist, +1 by the health probe itself).
      expect(h.requestsLastHour).toBeGreaterThanOrEqual(5);
      const bad = await s3Health(conn(b, { secretKey: 'WRONG-secret-key-0123456789-abcdefghijkl', maxAttempts: 1 }));
      expect(bad.ok).toBe(false);
      expect(bad.error).toBe(`Access denied to bucket '${b.jsonBucket}'`);
      noSecret([h, bad]);
    });
  });

  describe('with a context, as in the guide', () => {
    it('resolves { dbName, collection } to the connection', async () => {
      const b = track(names('ctx'));
      const admin = createSpacesAdmin((ctx: { dbName: string; collection: string }) => {
        expect(ctx).toEqual({ dbName: 'myapp', collection: 'users' });
        return conn(b);
      });
      const result = await admin.ensureBucketsExist({ dbName: 'myapp', collection: 'users' }, { confirm: true, createIfMissing: true, dryRun: false });
      expect(result.bucketsCreated).toBe(3);
      const bucketStatus = await admin.ensureBucketsExist({ dbName: 'myapp', collection: 'users' }, { dryRun: true, confirm: true });
      const lines = bucketStatus.bucketStatuses.map((status) => `${status.name}: ${status.exists ? '✅' : '❌'} ${status.error || ''}`);
      expect(lines).toEqual(all(b).map((n) => `${n}: ✅ `));
      const connectivity = await admin.testS3Connectivity({ dbName: 'myapp', collection: 'users' });
      expect(connectivity.success).toBe(true);
      const validation = await admin.validateSpacesConfiguration({ dbName: 'myapp', collection: 'users' });
      expect(validation.valid).toBe(true);
      noSecret([result, bucketStatus, connectivity, validation]);
    });
  });
});
