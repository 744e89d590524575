/**
 * `admin.testS3Connectivity` on the embedded store (localStorage, no spacesConns) says that S3
 * does not apply and reports the local payload folders instead, the ones `ensureBucketsExist`
 * checks and creates there (issue 9 item 10: the bucket calls behave alike on both stores):
 * missing folders are a failure named as ensureBucketsExist names them, never a success.
 */
import { chmodSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initChronos } from 'chronos-db';

const ctx = { dbName: 'app', collection: 'users' };
const ROLES = ['json', 'content', 'backups'];

describe('testS3Connectivity on the embedded store', () => {
  it('says S3 does not apply and checks the local payload folders, agreeing with ensureBucketsExist', async () => {
    const basePath = mkdtempSync(join(tmpdir(), 'chronos-connectivity-'));
    const chronos = initChronos({ localStorage: { enabled: true, basePath } });
    try {
      const before = await chronos.admin.testS3Connectivity(ctx);
      expect(before).toEqual({
        success: false,
        buckets: [],
        storage: 'local',
        note: expect.stringMatching(/S3 connectivity does not apply.*local filesystem \(localStorage\)/),
        error: `${ROLES.map((r) => `Bucket '${r}' does not exist`).join('; ')} (run ensureBucketsExist)`,
      });
      // the same folders, the same words, as ensureBucketsExist's dry run
      const dry = await chronos.admin.ensureBucketsExist(ctx, { dryRun: true });
      expect(dry.bucketStatuses.map((s) => s.error)).toEqual(ROLES.map((r) => `Bucket '${r}' does not exist`));

      await chronos.admin.ensureBucketsExist(ctx, { confirm: true });
      const after = await chronos.admin.testS3Connectivity(ctx);
      expect(after).toEqual({ success: true, buckets: ROLES, storage: 'local', note: expect.stringContaining('does not apply') });
    } finally {
      await chronos.admin.shutdown();
    }
  });

  const root = process.getuid?.() === 0;
  (root ? it.skip : it)(
    `reports a folder the process cannot write as a failure${root ? ' [skipped: running as root, which writes anywhere]' : ''}`,
    async () => {
      const basePath = mkdtempSync(join(tmpdir(), 'chronos-connectivity-'));
      const chronos = initChronos({ localStorage: { enabled: true, basePath } });
      try {
        await chronos.admin.ensureBucketsExist(ctx, { confirm: true });
        chmodSync(join(basePath, 'content'), 0o500);
        const ro = await chronos.admin.testS3Connectivity(ctx);
        expect(ro).toMatchObject({ success: false, buckets: ['json', 'backups'], storage: 'local' });
        expect(ro.error).toContain("Bucket 'content' is not readable and writable");
      } finally {
        chmodSync(join(basePath, 'content'), 0o700);
        await chronos.admin.shutdown();
      }
    },
  );
});
