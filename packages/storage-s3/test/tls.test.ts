/**
 * https against the test gateway's TLS port (scripts/ceph.sh: a self-signed certificate for
 * s3.localhost, *.s3.localhost and 127.0.0.1). Each style runs in a child process that trusts
 * that certificate through NODE_EXTRA_CA_CERTS, as a user of a private CA would: the lean PUT's
 * https branch (lean-put.ts) and the SDK's reads both go over TLS, signed for region 'fra1' (the
 * guide's value).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describeS3 } from './helpers/env.js';

const ROOT = resolve(__dirname, '../../..');
const CHILD = join(__dirname, 'helpers', 'tls-child.ts');

function runChild(job: object, ca: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const p = spawn(process.execPath, ['--import', 'tsx', CHILD], {
      cwd: ROOT,
      env: {
        ...process.env,
        NODE_NO_WARNINGS: '1',
        NODE_EXTRA_CA_CERTS: ca,
        CHRONOS_TLS_JOB: JSON.stringify(job),
        TSX_TSCONFIG_PATH: join(ROOT, 'tsconfig.json'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('error', fail);
    p.on('close', (code) => done({ code, stdout, stderr }));
  });
}

describeS3('storage-s3 over https (TLS port of the test gateway)', (env) => {
  const tlsEndpoint = process.env.CHRONOS_TEST_S3_TLS_ENDPOINT;
  const ca = process.env.CHRONOS_TEST_S3_TLS_CA;
  const why = 'needs CHRONOS_TEST_S3_TLS_ENDPOINT and CHRONOS_TEST_S3_TLS_CA (scripts/ceph.sh start writes them)';
  const ready = !!tlsEndpoint && !!ca && existsSync(ca);
  if (!ready && process.env.CI === 'true') {
    it('has the TLS port of its S3 test server', () => {
      throw new Error(`CI=true but ${why}`);
    });
    return;
  }
  const port = ready ? new URL(tlsEndpoint).port : '';
  const styles = [
    {
      name: 'path style (https://127.0.0.1)',
      endpoint: tlsEndpoint ?? '',
      forcePathStyle: true,
      host: () => `127.0.0.1:${port}`,
      path: (b: string) => `/${b}/`,
    },
    {
      name: 'virtual-hosted style (https://s3.localhost)',
      endpoint: `https://${env.dnsName}:${port}`,
      forcePathStyle: false,
      host: (b: string) => `${b}.${env.dnsName}:${port}`,
      path: () => '/',
    },
  ];
  for (const s of styles) {
    (ready ? it : it.skip)(
      `${s.name}: the lean PUT, a read, a refused second PUT and a delete${ready ? '' : ` (skipped: ${why})`}`,
      async () => {
        const tag = `tls${s.forcePathStyle ? 'p' : 'v'}${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
        const r = await runChild(
          { endpoint: s.endpoint, forcePathStyle: s.forcePathStyle, region: 'fra1', accessKey: env.accessKey, secretKey: env.secretKey, tag },
          ca!,
        );
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
        const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as {
          putRequests: Array<{ method: string; host: string; path: string; sdk: boolean }>;
          read: string;
          second: string;
          conditional: unknown;
          afterDelete: unknown;
        };
        const bucket = `chronos-${tag}-json`;
        // one PUT, sent by the lean path (no SDK user agent), addressed in the style asked for
        expect(out.putRequests).toEqual([{ method: 'PUT', host: s.host(bucket), path: `${s.path(bucket)}tls/a/v0/item.json`, sdk: false }]);
        expect(JSON.parse(out.read)).toEqual({ hello: 'tls', n: 1 });
        expect(out.second).toBe(out.conditional === true ? 'OptimisticLockError' : 'written');
        expect(out.afterDelete).toBeNull();
        // the secret never reaches the output
        expect(r.stdout + r.stderr).not.toContain(env.secretKey);
      },
      60_000,
    );
  }
});
