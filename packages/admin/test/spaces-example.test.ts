/** Runs examples/spaces-guide (the guide's admin code) against the gateway, so CI runs the example. */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DeleteBucketCommand, DeleteObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { createS3Client } from '@chronos-db/storage-s3';

const run = promisify(execFile);
const ENV = ['CHRONOS_TEST_S3_ENDPOINT', 'CHRONOS_TEST_S3_ACCESS_KEY', 'CHRONOS_TEST_S3_SECRET_KEY'] as const;
const missing = ENV.filter((n) => !process.env[n]);
if (missing.length && process.env.CI !== 'true') console.log(`[skip] spaces-guide example: needs ${ENV.join(', ')} (scripts/ceph.sh start)`);
const d = missing.length === 0 || process.env.CI === 'true' ? describe : describe.skip;

d('examples/spaces-guide', () => {
  it('runs every guide step as documented, printing no secret', async () => {
    if (missing.length) throw new Error(`CI=true but the S3 test server is not configured: needs ${missing.join(', ')}`);
    const dir = join(__dirname, '..', '..', '..', 'examples', 'spaces-guide');
    const prefix = `chronos-ex-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
    const env: NodeJS.ProcessEnv = { ...process.env, SPACES_BUCKET_PREFIX: prefix, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
    delete env.DO_SPACES_ENDPOINT;
    delete env.DO_SPACES_ACCESS_KEY;
    delete env.DO_SPACES_SECRET_KEY;
    try {
      const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'src/guide.ts'], { cwd: dir, env, timeout: 120_000 });
      expect(stdout).toContain(`${prefix}-json: ❌ Bucket '${prefix}-json' does not exist`);
      expect(stdout).toContain('Buckets created: 3');
      expect(stdout).toContain(`Error: Access denied to bucket '${prefix}-json'`);
      expect(stdout).toContain(`Error: Bucket '${prefix}-json-missing' does not exist`);
      expect(stdout).toContain("Error: Region mismatch: endpoint uses 'fra1' but config specifies 'nyc3'");
      expect(stdout).toContain('All guide steps behaved as documented.');
      expect(`${stdout}${stderr}`).not.toContain(process.env.CHRONOS_TEST_S3_SECRET_KEY!);
    } finally {
      const admin = createS3Client({
        endpoint: process.env.CHRONOS_TEST_S3_ENDPOINT!,
        region: 'us-east-1',
        accessKey: process.env.CHRONOS_TEST_S3_ACCESS_KEY!,
        secretKey: process.env.CHRONOS_TEST_S3_SECRET_KEY!,
        jsonBucket: 'x-x',
        contentBucket: 'x-x',
        backupsBucket: 'x-x',
        forcePathStyle: true,
      });
      for (const Bucket of [`${prefix}-json`, `${prefix}-content`, `${prefix}-backups`]) {
        try {
          const out = await admin.client.send(new ListObjectsV2Command({ Bucket }));
          for (const o of out.Contents ?? []) await admin.client.send(new DeleteObjectCommand({ Bucket, Key: o.Key! }));
          await admin.client.send(new DeleteBucketCommand({ Bucket }));
        } catch {
          /* not created */
        }
      }
      admin.destroy();
    }
  });
});
