/**
 * What CreateBucket sends: no location constraint to Spaces/Ceph (whatever the
 * region), the region as constraint to AWS outside us-east-1. The request is
 * captured by the client's own request handler (nothing leaves the process);
 * seed-guide.test.ts proves the same against the Ceph gateway.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { createBucketCommand } from '@chronos-db/admin';

async function bodyOf(endpoint: string, region: string): Promise<string> {
  let body = '';
  const client = new S3Client({
    endpoint,
    region,
    forcePathStyle: true,
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'not-a-real-secret' },
    requestHandler: {
      handle: async (req: { body?: unknown }) => {
        body = typeof req.body === 'string' ? req.body : req.body ? Buffer.from(req.body as Uint8Array).toString('utf8') : '';
        return { response: { statusCode: 200, headers: {}, body: Buffer.from('') } };
      },
    } as never,
  });
  await client.send(createBucketCommand({ endpoint, region }, 'chronos-json'));
  client.destroy();
  return body;
}

describe('createBucketCommand', () => {
  it.each([
    ['https://fra1.digitaloceanspaces.com', 'fra1'],
    ['http://s3.localhost:7480', 'fra1'],
    ['http://127.0.0.1:7480', 'default'],
    ['https://fra1.digitaloceanspaces.com', 'us-east-1'],
  ])('sends no LocationConstraint to %s with region %s', async (endpoint, region) => {
    expect(await bodyOf(endpoint, region)).not.toContain('LocationConstraint');
  });

  it('sends the region to AWS outside us-east-1, nothing in us-east-1', async () => {
    expect(await bodyOf('https://s3.eu-central-1.amazonaws.com', 'eu-central-1')).toContain('<LocationConstraint>eu-central-1</LocationConstraint>');
    expect(await bodyOf('https://s3.amazonaws.com', 'us-east-1')).not.toContain('LocationConstraint');
  });
});
