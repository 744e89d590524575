/** Integration settings from CHRONOS_TEST_S3_* (written by scripts/ceph.sh). Missing: skip with a reason, or fail under CI. */
import { CreateBucketCommand, DeleteBucketCommand, DeleteObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { createS3BlobStore, createS3Client, type S3BlobStoreOptions } from '@chronos-db/storage-s3';

export interface S3TestEnv {
  endpoint: string;
  accessKey: string;
  secretKey: string;
  dnsName: string;
}

const NEEDED = ['CHRONOS_TEST_S3_ENDPOINT', 'CHRONOS_TEST_S3_ACCESS_KEY', 'CHRONOS_TEST_S3_SECRET_KEY'] as const;

export function s3Env(): S3TestEnv | null {
  const missing = NEEDED.filter((n) => !process.env[n]);
  if (missing.length) return null;
  return {
    endpoint: process.env.CHRONOS_TEST_S3_ENDPOINT!,
    accessKey: process.env.CHRONOS_TEST_S3_ACCESS_KEY!,
    secretKey: process.env.CHRONOS_TEST_S3_SECRET_KEY!,
    dnsName: process.env.CHRONOS_TEST_S3_DNS_NAME || 's3.localhost',
  };
}

/** `describe` when the gateway is configured; otherwise skip with a printed reason, or a failing test when CI=true. */
export function describeS3(name: string, fn: (env: S3TestEnv) => void): void {
  const env = s3Env();
  if (env) {
    describe(name, () => fn(env));
    return;
  }
  const why = `needs ${NEEDED.join(', ')} (run scripts/ceph.sh start, then source .tmp/test-servers.env)`;
  if (process.env.CI === 'true') {
    describe(name, () => {
      it('has its S3 test server', () => {
        throw new Error(`CI=true but the S3 test server is not configured: ${why}`);
      });
    });
  } else {
    // eslint-disable-next-line no-console
    console.log(`[skip] ${name}: ${why}`);
    describe.skip(name, () => fn({ endpoint: '', accessKey: '', secretKey: '', dnsName: '' }));
  }
}

let seq = 0;
/** Fresh bucket names for one test file: chronos-<tag>-<random>-<role>. */
export function bucketNames(tag: string): { jsonBucket: string; contentBucket: string; backupsBucket: string } {
  const r = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}${seq++}`;
  return { jsonBucket: `chronos-${tag}-${r}-json`, contentBucket: `chronos-${tag}-${r}-content`, backupsBucket: `chronos-${tag}-${r}-backups` };
}

export function connFor(
  env: S3TestEnv,
  buckets: { jsonBucket: string; contentBucket: string; backupsBucket: string },
  extra?: Partial<S3BlobStoreOptions>,
): S3BlobStoreOptions {
  return { endpoint: env.endpoint, region: 'us-east-1', accessKey: env.accessKey, secretKey: env.secretKey, forcePathStyle: true, ...buckets, ...extra };
}

/** A plain admin client (path style) for setup and oracle checks. */
export function oracleClient(env: S3TestEnv): { client: S3Client; destroy: () => void } {
  return createS3Client({
    endpoint: env.endpoint,
    region: 'us-east-1',
    accessKey: env.accessKey,
    secretKey: env.secretKey,
    jsonBucket: 'x-x',
    contentBucket: 'x-x',
    backupsBucket: 'x-x',
    forcePathStyle: true,
  });
}

export async function createBuckets(client: S3Client, names: string[]): Promise<void> {
  for (const n of names) await client.send(new CreateBucketCommand({ Bucket: n }));
}

/** Best-effort removal of test buckets and their objects. */
export async function dropBuckets(client: S3Client, names: string[]): Promise<void> {
  for (const Bucket of names) {
    try {
      let token: string | undefined;
      do {
        const out = await client.send(new ListObjectsV2Command({ Bucket, ContinuationToken: token }));
        for (const o of out.Contents ?? []) if (o.Key) await client.send(new DeleteObjectCommand({ Bucket, Key: o.Key }));
        token = out.IsTruncated ? out.NextContinuationToken : undefined;
      } while (token);
      await client.send(new DeleteBucketCommand({ Bucket }));
    } catch {
      /* already gone */
    }
  }
}

/** A BlobStore on fresh buckets (capabilities detected); `drop` closes it and removes the buckets. */
export async function s3Blobs(env: S3TestEnv, tag: string, extra?: Partial<S3BlobStoreOptions>) {
  const names = bucketNames(tag);
  const all = [names.jsonBucket, names.contentBucket, names.backupsBucket];
  const oracle = oracleClient(env);
  await createBuckets(oracle.client, all);
  const blobs = createS3BlobStore(connFor(env, names, extra));
  await blobs.detectCapabilities();
  return {
    blobs,
    drop: async () => {
      await blobs.close();
      await dropBuckets(oracle.client, all);
      oracle.destroy();
    },
  };
}
