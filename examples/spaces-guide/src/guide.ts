/**
 * The DigitalOcean Spaces guide (../../shared/seeds/DIGITALOCEAN_SPACES.md),
 * step by step, against any S3-compatible endpoint. By default it targets the
 * local Ceph gateway started by `scripts/ceph.sh start`, in virtual-hosted
 * style as the guide recommends.
 *
 *   source .tmp/test-servers.env && pnpm --filter chronos-db-example-spaces start
 *
 * Environment (the guide's names first):
 *   DO_SPACES_ACCESS_KEY / DO_SPACES_SECRET_KEY  (else CHRONOS_TEST_S3_ACCESS_KEY / _SECRET_KEY)
 *   DO_SPACES_ENDPOINT, DO_SPACES_REGION         (else the local gateway as http://s3.localhost:17480, us-east-1)
 *   SPACES_BUCKET_PREFIX                         (default 'chronos'; buckets <prefix>-json, -content, -backups)
 *
 * The guide calls these through `chronos.admin.*` with a context; here the
 * context is resolved to the configured connection by `createSpacesAdmin`.
 * Exits non-zero when a step does not behave as the guide says.
 */
import assert from 'node:assert/strict';
import { createSpacesAdmin, type SpacesConnection } from '@chronos-db/admin';
import { createS3BlobStore } from '@chronos-db/storage-s3';

// Everything printed is also kept, to prove at the end that no secret was printed.
const printed: string[] = [];
const log = (...a: unknown[]) => {
  const line = a.map((x) => (typeof x === 'string' ? x : JSON.stringify(x, null, 2))).join(' ');
  printed.push(line);
  console.log(line);
};

function localEndpoint(): string {
  const raw = process.env.CHRONOS_TEST_S3_ENDPOINT ?? 'http://127.0.0.1:17480';
  const u = new URL(raw);
  // Virtual-hosted style needs a DNS name: the gateway answers to s3.localhost, and the store resolves *.localhost.
  u.hostname = process.env.CHRONOS_TEST_S3_DNS_NAME ?? 's3.localhost';
  return u.toString().replace(/\/$/, '');
}

const prefix = process.env.SPACES_BUCKET_PREFIX ?? 'chronos';
const accessKey = process.env.DO_SPACES_ACCESS_KEY ?? process.env.CHRONOS_TEST_S3_ACCESS_KEY;
const secretKey = process.env.DO_SPACES_SECRET_KEY ?? process.env.CHRONOS_TEST_S3_SECRET_KEY;
if (!accessKey || !secretKey) {
  console.error('Set DO_SPACES_ACCESS_KEY and DO_SPACES_SECRET_KEY (or run scripts/ceph.sh start and source .tmp/test-servers.env).');
  process.exit(2);
}

// ---- 3. Configure chronos-db: the guide's spacesConns entry -------------------------------
const config = {
  spacesConns: [
    {
      endpoint: process.env.DO_SPACES_ENDPOINT ?? localEndpoint(), // e.g. 'https://fra1.digitaloceanspaces.com'
      region: process.env.DO_SPACES_REGION ?? 'us-east-1', // 'fra1', or the AWS-compatible 'us-east-1'
      accessKey, // from environment variables, as the guide's security section says
      secretKey,
      jsonBucket: `${prefix}-json`,
      contentBucket: `${prefix}-content`,
      backupsBucket: `${prefix}-backups`,
      forcePathStyle: false, // virtual-hosted style (recommended)
    },
  ],
};
const spaces: SpacesConnection = config.spacesConns[0]!;

// What chronos.admin does: resolve the context to its S3 connection.
const admin = createSpacesAdmin((_ctx: { dbName: string; collection: string }) => spaces);
const chronos = { admin };

async function main(): Promise<void> {
  log(`Endpoint ${spaces.endpoint}, region ${spaces.region}, buckets ${spaces.jsonBucket}, ${spaces.contentBucket}, ${spaces.backupsBucket}`);

  // ---- Check Bucket Status (dry run) ----------------------------------------------------
  log('\n== Check bucket status (dryRun) ==');
  const bucketStatus = await chronos.admin.ensureBucketsExist({ dbName: 'myapp', collection: 'users' }, { dryRun: true, confirm: true });
  bucketStatus.bucketStatuses.forEach((status) => {
    log(`${status.name}: ${status.exists ? '✅' : '❌'} ${status.error || ''}`);
  });
  assert.equal(bucketStatus.bucketsCreated, 0, 'a dry run creates nothing');

  // ---- Automatic Bucket Creation --------------------------------------------------------
  log('\n== Automatic bucket creation ==');
  const result = await chronos.admin.ensureBucketsExist(
    { dbName: 'myapp', collection: 'users' },
    {
      confirm: true,
      createIfMissing: true,
      dryRun: false,
    },
  );
  log('Buckets created:', result.bucketsCreated);
  log('Bucket statuses:', result.bucketStatuses);
  assert.equal(result.bucketsCreated, bucketStatus.bucketStatuses.filter((s) => !s.exists).length, 'creates exactly the missing buckets');
  assert.ok(result.bucketStatuses.every((s) => s.exists && s.accessible));

  // ---- Test S3 Connectivity -------------------------------------------------------------
  log('\n== Test S3 connectivity ==');
  const connectivity = await chronos.admin.testS3Connectivity({ dbName: 'myapp', collection: 'users' });
  if (connectivity.success) {
    log('Available buckets:', connectivity.buckets);
  } else {
    log('Connection failed:', connectivity.error);
  }
  assert.ok(connectivity.success);
  assert.deepEqual(connectivity.buckets, [spaces.jsonBucket, spaces.contentBucket, spaces.backupsBucket]);

  // ---- Validate Configuration -----------------------------------------------------------
  log('\n== Validate configuration ==');
  const validation = await chronos.admin.validateSpacesConfiguration({ dbName: 'myapp', collection: 'users' });
  if (!validation.valid) {
    log('Issues found:', validation.issues);
  }
  log('Recommendations:', validation.recommendations);
  assert.ok(validation.valid, `expected a valid configuration, got ${JSON.stringify(validation.issues)}`);

  // ---- Health Checks --------------------------------------------------------------------
  log('\n== Health check ==');
  const healthCheck = async () => {
    try {
      const connectivity = await chronos.admin.testS3Connectivity({ dbName: 'myapp', collection: 'users' });

      return {
        status: connectivity.success ? 'healthy' : 'unhealthy',
        spaces: connectivity.success ? 'connected' : 'disconnected',
        buckets: connectivity.buckets.length,
      };
    } catch (error) {
      return {
        status: 'unhealthy',
        spaces: 'error',
        error: (error as Error).message,
      };
    }
  };
  const health = await healthCheck();
  log(health);
  assert.deepEqual(health, { status: 'healthy', spaces: 'connected', buckets: 3 });

  // Requests per space against the 10,000/hour limit.
  const store = createS3BlobStore(spaces);
  try {
    await store.put('json', 'guide/hello.json', new TextEncoder().encode('{"hello":"spaces"}'), { contentType: 'application/json' });
    const back = new TextDecoder().decode(await store.get('json', 'guide/hello.json'));
    assert.equal(back, '{"hello":"spaces"}');
    await store.delete('json', 'guide/hello.json');
  } finally {
    await store.close();
  }
  const s3 = await chronos.admin.s3Health({ dbName: 'myapp', collection: 'users' });
  log('S3 health:', s3);
  assert.ok(s3.ok);
  assert.equal(s3.hourlyLimit, 10000);
  assert.ok(s3.requestsLastHour >= 3);

  // ---- Troubleshooting: the guide's error messages ---------------------------------------
  log('\n== Troubleshooting ==');
  const wrong = createS3BlobStore({ ...spaces, secretKey: `${secretKey}-not-really`, maxAttempts: 1 });
  try {
    await wrong.get('json', 'guide/hello.json');
    assert.fail('a wrong secret must fail');
  } catch (e) {
    log(`Error: ${(e as Error).message}`);
    assert.equal((e as Error).message, `Access denied to bucket '${spaces.jsonBucket}'`);
  } finally {
    await wrong.close();
  }
  const missing = createS3BlobStore({ ...spaces, jsonBucket: `${prefix}-json-missing` });
  try {
    await missing.get('json', 'guide/hello.json');
    assert.fail('a missing bucket must fail');
  } catch (e) {
    log(`Error: ${(e as Error).message}`);
    assert.equal((e as Error).message, `Bucket '${prefix}-json-missing' does not exist`);
  } finally {
    await missing.close();
  }
  const mismatch = await createSpacesAdmin(() => ({ ...spaces, endpoint: 'https://fra1.digitaloceanspaces.com', region: 'nyc3' })).validateSpacesConfiguration(
    { dbName: 'myapp', collection: 'users' },
    { live: false },
  );
  log(`Error: ${mismatch.issues[0]}`);
  assert.equal(mismatch.issues[0], "Region mismatch: endpoint uses 'fra1' but config specifies 'nyc3'");

  // Nothing printed above contains the secret.
  assert.ok(!printed.join('\n').includes(secretKey!), 'the secret key was printed');
  log('\nAll guide steps behaved as documented.');
}

main().catch((e) => {
  console.error(`FAILED: ${e instanceof Error ? e.message : String(e)}`.split(secretKey!).join('[REDACTED]'));
  process.exit(1);
});
