/** HeadBucket with the guide's error wording. */
import { HeadBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { mapS3Error, s3ErrorInfo } from '@chronos-db/storage-s3';

export type BucketProbe = { state: 'ok' } | { state: 'missing'; error: string } | { state: 'denied'; error: string } | { state: 'error'; error: string };

export async function probeBucket(client: S3Client, bucket: string, redact: (s: string) => string): Promise<BucketProbe> {
  try {
    await client.send(new HeadBucketCommand({ Bucket: bucket }));
    return { state: 'ok' };
  } catch (e) {
    const info = s3ErrorInfo(e);
    // HEAD answers carry no body: a 404 is a missing bucket, a 403 a refusal.
    if (info.status === 404 || info.code === 'NotFound' || info.code === 'NoSuchBucket')
      return { state: 'missing', error: `Bucket '${bucket}' does not exist` };
    const mapped = mapS3Error(e, { op: 'headBucket', bucket, redact });
    if (mapped.message.startsWith('Access denied')) return { state: 'denied', error: mapped.message };
    return { state: 'error', error: redact(mapped.message) };
  }
}
