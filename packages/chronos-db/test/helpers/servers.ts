/** Settings of the real test servers (FerretDB and the Ceph S3 gateway) from CHRONOS_TEST_* variables. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, existsSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';

export interface ServersEnv {
  mongoUrl: string;
  s3Endpoint: string;
  accessKey: string;
  secretKey: string;
  dnsName: string;
}

const NEEDED = ['CHRONOS_TEST_MONGO_URL', 'CHRONOS_TEST_S3_ENDPOINT', 'CHRONOS_TEST_S3_ACCESS_KEY', 'CHRONOS_TEST_S3_SECRET_KEY'] as const;

export function serversEnv(): ServersEnv | null {
  if (NEEDED.some((n) => !process.env[n])) return null;
  return {
    mongoUrl: process.env.CHRONOS_TEST_MONGO_URL!,
    s3Endpoint: process.env.CHRONOS_TEST_S3_ENDPOINT!,
    accessKey: process.env.CHRONOS_TEST_S3_ACCESS_KEY!,
    secretKey: process.env.CHRONOS_TEST_S3_SECRET_KEY!,
    dnsName: process.env.CHRONOS_TEST_S3_DNS_NAME || 's3.localhost',
  };
}

/** `describe` with the servers; otherwise a printed skip, or a failing test under CI=true. */
export function describeServers(name: string, fn: (env: ServersEnv) => void): void {
  const env = serversEnv();
  if (env) return describe(name, () => fn(env));
  const why = `needs ${NEEDED.join(', ')} (bash scripts/ferretdb.sh start && bash scripts/ceph.sh start && source .tmp/test-servers.env)`;
  if (process.env.CI === 'true') {
    describe(name, () => it('has its test servers', () => { throw new Error(`CI=true but the test servers are not configured: ${why}`); }));
  } else {
    console.log(`[skip] ${name}: ${why}`);
    describe.skip(name, () => fn({ mongoUrl: '', s3Endpoint: '', accessKey: '', secretKey: '', dnsName: '' }));
  }
}

export const rnd = () => `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 7)}`;

export function buckets(tag: string) {
  const r = rnd();
  return { jsonBucket: `chronos-${tag}-${r}-json`, contentBucket: `chronos-${tag}-${r}-content`, backupsBucket: `chronos-${tag}-${r}-backups` };
}

export async function createBuckets(env: ServersEnv, names: { jsonBucket: string; contentBucket: string; backupsBucket: string }): Promise<void> {
  const c = new S3Client({ endpoint: env.s3Endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: env.accessKey, secretAccessKey: env.secretKey } });
  for (const b of [names.jsonBucket, names.contentBucket, names.backupsBucket]) await c.send(new CreateBucketCommand({ Bucket: b }));
  c.destroy();
}

/** The gateway endpoint with its DNS name, for virtual-hosted style (`bucket.s3.localhost`). */
export function virtualHostEndpoint(env: ServersEnv): string {
  const u = new URL(env.s3Endpoint);
  return `${u.protocol}//${env.dnsName}:${u.port}`;
}

/** Starts a second FerretDB (a second server) on a free port; stop() kills it. */
export async function startSecondFerret(port: number): Promise<{ url: string; stop: () => void }> {
  const bin = resolve(__dirname, '../../../../tools/ferretdb/ferretdb-bin');
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run scripts/ferretdb.sh start first`);
  const child: ChildProcess = spawn(bin, ['-listen', `127.0.0.1:${port}`, '-data', mkdtempSync(join(tmpdir(), 'ferret2-'))], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((res) => {
      const s = connect(port, '127.0.0.1', () => { s.destroy(); res(true); });
      s.on('error', () => res(false));
    });
    if (ok) return { url: `mongodb://127.0.0.1:${port}/`, stop: () => child.kill('SIGKILL') };
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error('second FerretDB did not start');
}
