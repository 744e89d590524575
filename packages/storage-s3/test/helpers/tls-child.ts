/**
 * Run by tls.test.ts in a child process started with NODE_EXTRA_CA_CERTS naming the test
 * gateway's self-signed certificate (Node reads it only at start-up). Over https, in the style
 * the job names: makes the buckets, PUTs through the store (the lean PUT: a store that owns its
 * client), reads back through the SDK, PUTs again with ifNoneMatch, deletes; prints one JSON line.
 */
import https from 'node:https';
import { CreateBucketCommand, DeleteBucketCommand } from '@aws-sdk/client-s3';
import { OptimisticLockError } from '@chronos-db/core';

interface Job {
  endpoint: string;
  forcePathStyle: boolean;
  region: string;
  accessKey: string;
  secretKey: string;
  tag: string;
}

async function main(): Promise<void> {
  const job = JSON.parse(process.env.CHRONOS_TLS_JOB!) as Job;
  // every https.request the store makes after this point, with the headers it set (the SDK's carry x-amz-user-agent)
  const seen: Array<{ method: string; host: string; path: string; sdk: boolean }> = [];
  const orig = https.request;
  (https as { request: unknown }).request = (...a: unknown[]) => {
    const o = (typeof a[0] === 'object' && !(a[0] instanceof URL) ? a[0] : a[1]) as
      | { method?: string; headers?: Record<string, unknown>; path?: string; hostname?: string }
      | undefined;
    const h = Object.fromEntries(Object.entries(o?.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
    seen.push({
      method: o?.method ?? 'GET',
      host: String(h.host ?? o?.hostname ?? ''),
      path: o?.path ?? '',
      sdk: 'x-amz-user-agent' in h || 'user-agent' in h,
    });
    return (orig as (...x: unknown[]) => unknown)(...a);
  };
  const { createS3BlobStore, createS3Client } = await import('@chronos-db/storage-s3');
  const buckets = { jsonBucket: `chronos-${job.tag}-json`, contentBucket: `chronos-${job.tag}-content`, backupsBucket: `chronos-${job.tag}-backups` };
  const store = createS3BlobStore({
    endpoint: job.endpoint,
    region: job.region,
    accessKey: job.accessKey,
    secretKey: job.secretKey,
    forcePathStyle: job.forcePathStyle,
    ...buckets,
  });
  // buckets made and dropped by a second client in the gateway's own region (Ceph refuses a 'fra1' location constraint)
  const admin = createS3Client({
    endpoint: job.endpoint,
    region: 'us-east-1',
    accessKey: job.accessKey,
    secretKey: job.secretKey,
    forcePathStyle: job.forcePathStyle,
    ...buckets,
  });
  const out: Record<string, unknown> = {};
  try {
    for (const b of Object.values(buckets)) await admin.client.send(new CreateBucketCommand({ Bucket: b }));
    const body = new TextEncoder().encode(JSON.stringify({ hello: 'tls', n: 1 }));
    const before = seen.length;
    await store.put('json', 'tls/a/v0/item.json', body, { contentType: 'application/json' });
    out.putRequests = seen.slice(before).filter((r) => r.method === 'PUT');
    out.read = new TextDecoder().decode(await store.get('json', 'tls/a/v0/item.json'));
    try {
      await store.put('json', 'tls/a/v0/item.json', body, { contentType: 'application/json', ifNoneMatch: true });
      out.second = 'written';
    } catch (e) {
      out.second = e instanceof OptimisticLockError ? 'OptimisticLockError' : `${(e as Error).name}: ${(e as Error).message}`;
    }
    out.conditional = store.capabilities.conditionalWrite;
    await store.delete('json', 'tls/a/v0/item.json');
    out.afterDelete = await store.head('json', 'tls/a/v0/item.json');
  } finally {
    for (const b of Object.values(buckets)) await admin.client.send(new DeleteBucketCommand({ Bucket: b })).catch(() => undefined);
    await store.close();
    admin.destroy();
  }
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
