/** `ensureBucketsExist`: check the configured buckets and create exactly the missing ones. */
import { CreateBucketCommand, type CreateBucketCommandInput, type S3Client } from '@aws-sdk/client-s3';
import { ValidationError, type BucketStatus, type EnsureBucketsOptions, type EnsureBucketsResult } from '@chronos-db/core';
import { isAwsEndpoint, mapS3Error, s3ErrorInfo } from '@chronos-db/storage-s3';
import { configuredBuckets, withClient, type SpacesConnection } from './connection.js';
import { probeBucket } from './probe.js';

export type { BucketStatus, EnsureBucketsOptions, EnsureBucketsResult };

/**
 * CreateBucket that sends a location constraint only to AWS outside us-east-1.
 * The SDK's own `locationConstraintMiddleware` adds `LocationConstraint = region`
 * to every CreateBucket outside us-east-1; Spaces and Ceph take the region from the
 * endpoint and refuse an unknown one (`InvalidLocationConstraint`, HTTP 400 for
 * `fra1` on Ceph). So for non-AWS endpoints a middleware placed right after the SDK's
 * takes the constraint it added back out, and the request carries no configuration.
 */
export function createBucketCommand(conn: Pick<SpacesConnection, 'endpoint' | 'region'>, bucket: string): CreateBucketCommand {
  const aws = isAwsEndpoint(conn.endpoint);
  const needsLocation = aws && conn.region !== 'us-east-1';
  const cmd = new CreateBucketCommand({
    Bucket: bucket,
    ...(needsLocation ? { CreateBucketConfiguration: { LocationConstraint: conn.region as never } } : {}),
  });
  if (!aws) {
    cmd.middlewareStack.addRelativeTo(
      ((next: (args: { input: CreateBucketCommandInput }) => Promise<unknown>) => async (args: { input: CreateBucketCommandInput }) => {
        delete args.input.CreateBucketConfiguration;
        return next(args);
      }) as never,
      { relation: 'after', toMiddleware: 'locationConstraintMiddleware', name: 'chronosNoLocationConstraint', override: true },
    );
  }
  return cmd;
}

async function createBucket(client: S3Client, conn: SpacesConnection, bucket: string): Promise<void> {
  await client.send(createBucketCommand(conn, bucket));
}

export async function ensureBucketsExist(conn: SpacesConnection, opts: EnsureBucketsOptions = {}): Promise<EnsureBucketsResult> {
  const dryRun = opts.dryRun === true;
  if (opts.confirm !== true && !dryRun) {
    throw new ValidationError('ensureBucketsExist changes your account: pass { confirm: true } (or { dryRun: true } to only check)');
  }
  const createIfMissing = opts.createIfMissing !== false;
  return withClient(conn, async (client, redact) => {
    const statuses: BucketStatus[] = [];
    let created = 0;
    for (const { name } of configuredBuckets(conn)) {
      const probe = await probeBucket(client, name, redact);
      if (probe.state === 'ok') {
        statuses.push({ name, exists: true, accessible: true });
        continue;
      }
      if (probe.state !== 'missing') {
        statuses.push({ name, exists: false, accessible: false, error: probe.error });
        continue;
      }
      if (dryRun || !createIfMissing) {
        statuses.push({ name, exists: false, accessible: false, created: false, error: probe.error });
        continue;
      }
      try {
        await createBucket(client, conn, name);
        created++;
        statuses.push({ name, exists: true, accessible: true, created: true });
      } catch (e) {
        const info = s3ErrorInfo(e);
        if (info.code === 'BucketAlreadyOwnedByYou') {
          // Created concurrently by another process: it exists and is ours.
          statuses.push({ name, exists: true, accessible: true, created: false });
        } else if (info.code === 'BucketAlreadyExists') {
          statuses.push({ name, exists: true, accessible: false, created: false, error: `Bucket name '${name}' is already taken by another account` });
        } else {
          statuses.push({
            name,
            exists: false,
            accessible: false,
            created: false,
            error: redact(mapS3Error(e, { op: 'createBucket', bucket: name, redact }).message),
          });
        }
      }
    }
    return { bucketsChecked: statuses.length, bucketsCreated: created, bucketStatuses: statuses };
  });
}
