/**
 * The studio on the real servers (FerretDB + the Ceph S3 gateway): content links are presigned
 * S3 URLs (the bytes never pass through the studio), and with `config` the config's secrets are
 * hidden wherever they occur in what the page is sent.
 */
import { initChronos, type ChronosConfig } from 'chronos-db';
import { startStudio } from '@chronos-db/studio';
import { buckets, createBuckets, describeServers, rnd } from '../../chronos-db/test/helpers/servers';

describeServers('chronos studio on FerretDB + Ceph S3', (env) => {
  it('links externalized content with a presigned URL and hides the config secrets', async () => {
    const names = buckets('studio');
    await createBuckets(env, names);
    const config: ChronosConfig = {
      databases: { metadata: { generic: { key: 'meta', mongoUri: env.mongoUrl, dbName: `studio_${rnd()}` } } },
      spacesConns: [{ endpoint: env.s3Endpoint, region: 'us-east-1', accessKey: env.accessKey, secretKey: env.secretKey, forcePathStyle: true, ...names }],
      collectionMaps: { docs: { indexedProps: [], base64Props: { file: { contentType: 'text/plain' } } } },
      logging: { level: 'error' },
    };
    const chronos = initChronos(config);
    const docs = chronos.with({ databaseType: 'metadata', tier: 'generic', collection: 'docs' });
    await docs.create({ title: 'hello', note: `pasted by mistake: ${env.secretKey}`, file: Buffer.from('hello from S3').toString('base64') }, 'seed', 'doc', {
      id: 'd1',
    });
    const studio = await startStudio({ chronos, config, contexts: [{ databaseType: 'metadata', tier: 'generic', collections: ['docs'] }], port: 0 });
    try {
      const link = await fetch(`${studio.url}api/content?c=0&col=docs&id=d1&prop=file`, { redirect: 'manual' });
      expect(link.status).toBe(302);
      const to = new URL(link.headers.get('location')!);
      expect(to.origin).toBe(new URL(env.s3Endpoint).origin);
      expect(to.searchParams.get('X-Amz-Signature')).toBeTruthy();
      expect(await (await fetch(to)).text()).toBe('hello from S3');

      const shown = await (await fetch(`${studio.url}api/record?c=0&col=docs&id=d1`)).text();
      expect(shown).toContain('pasted by mistake: ***');
      expect(shown).not.toContain(env.secretKey);
      const page = await (await fetch(`${studio.url}api/records?c=0&col=docs`)).text();
      expect(page).not.toContain(env.secretKey);
    } finally {
      await studio.close();
      await chronos.admin.shutdown();
    }
  });
});
