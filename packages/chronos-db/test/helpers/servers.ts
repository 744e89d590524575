/** Settings of the real test servers (FerretDB and the Ceph S3 gateway) from CHRONOS_TEST_* variables. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, existsSync, rmSync } from 'node:fs';
import { connect, createServer, type AddressInfo } from 'node:net';
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
    describe(name, () =>
      it('has its test servers', () => {
        throw new Error(`CI=true but the test servers are not configured: ${why}`);
      }),
    );
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
  const c = new S3Client({
    endpoint: env.s3Endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: env.accessKey, secretAccessKey: env.secretKey },
  });
  for (const b of [names.jsonBucket, names.contentBucket, names.backupsBucket]) await c.send(new CreateBucketCommand({ Bucket: b }));
  c.destroy();
}

/** The gateway endpoint with its DNS name, for virtual-hosted style (`bucket.s3.localhost`). */
export function virtualHostEndpoint(env: ServersEnv): string {
  const u = new URL(env.s3Endpoint);
  return `${u.protocol}//${env.dnsName}:${u.port}`;
}

/** A port the OS reports free on 127.0.0.1 (bound, read, released). */
export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => res(port));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise<boolean>((res) => {
    const s = connect(port, '127.0.0.1', () => {
      s.destroy();
      res(true);
    });
    s.on('error', () => res(false));
  });
}

/** A FerretDB of a test's own: faults on demand, restartable on the same data dir and port. */
export interface SecondFerret {
  url: string;
  port: number;
  dataDir: string;
  /** SIGSTOP: the server keeps its connections but answers nothing. */
  pause(): void;
  /** SIGCONT after pause(). */
  resume(): void;
  /** SIGKILL, keeping the data dir; resolves when the process is gone. */
  kill(): Promise<void>;
  /** Starts it again on the same data dir and port (after kill()). */
  restart(): Promise<void>;
  /** Kills it and removes its data dir. */
  stop(): void;
}

type Spawned = { child: ChildProcess; exited: () => string | null; stderr: () => string; gone: Promise<void> };

function spawnFerret(bin: string, port: number, data: string): Spawned {
  const child: ChildProcess = spawn(bin, ['-listen', `127.0.0.1:${port}`, '-data', data], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  let exited: string | null = null;
  child.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const gone = new Promise<void>((res) => {
    child.once('exit', (code, signal) => {
      exited = `exit ${code ?? signal}`;
      res();
    });
    child.once('error', (e) => {
      exited = `spawn error ${e.message}`;
      res();
    });
  });
  return { child, exited: () => exited, stderr: () => stderr, gone };
}

async function ready(s: Spawned, port: number): Promise<boolean> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && s.exited() === null) {
    if (await accepts(port)) {
      s.child.stderr!.removeAllListeners('data');
      s.child.stderr!.resume();
      return true;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

/**
 * Starts a second FerretDB (a second server) on `port`, or on a port the OS picks.
 * Waits up to 30 s per attempt; if the server exits (say, the port was taken in the
 * meantime) it tries another port (when none was given), and a final failure carries
 * the server's stderr.
 */
export async function startSecondFerret(o: { port?: number } = {}): Promise<SecondFerret> {
  const bin = resolve(__dirname, '../../../../tools/ferretdb/ferretdb-bin');
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run scripts/ferretdb.sh start first`);
  const failures: string[] = [];
  for (let attempt = 1; attempt <= (o.port ? 1 : 3); attempt++) {
    const port = o.port ?? (await freePort());
    const data = mkdtempSync(join(tmpdir(), 'ferret2-'));
    let cur = spawnFerret(bin, port, data);
    if (await ready(cur, port)) {
      const signal = (sig: NodeJS.Signals) => {
        if (cur.exited() === null) cur.child.kill(sig);
      };
      return {
        url: `mongodb://127.0.0.1:${port}/`,
        port,
        dataDir: data,
        pause: () => signal('SIGSTOP'),
        resume: () => signal('SIGCONT'),
        kill: async () => {
          signal('SIGKILL');
          await cur.gone;
        },
        restart: async () => {
          if (cur.exited() === null) throw new Error('restart() needs the server killed first');
          cur = spawnFerret(bin, port, data);
          if (!(await ready(cur, port))) {
            cur.child.kill('SIGKILL');
            throw new Error(
              `second FerretDB did not restart on port ${port}: ${cur.exited() ?? 'no connection within 30 s'}; stderr: ${cur.stderr().trim() || '(empty)'}`,
            );
          }
        },
        stop: () => {
          signal('SIGKILL');
          rmSync(data, { recursive: true, force: true });
        },
      };
    }
    cur.child.kill('SIGKILL');
    rmSync(data, { recursive: true, force: true });
    failures.push(`attempt ${attempt} on port ${port}: ${cur.exited() ?? 'no connection within 30 s'}; stderr: ${cur.stderr().trim() || '(empty)'}`);
  }
  throw new Error(`second FerretDB did not start\n${failures.join('\n')}`);
}

function storeSpecOn(env: ServersEnv, names: ReturnType<typeof buckets>) {
  return {
    kind: 'mongo-s3' as const,
    mongoUri: env.mongoUrl,
    s3: { endpoint: env.s3Endpoint, region: 'us-east-1', accessKey: env.accessKey, secretKey: env.secretKey, forcePathStyle: true, ...names },
  };
}

/** A store description (crash/stores.ts) on the test servers, with fresh buckets tagged `tag`. */
export async function serverStoreSpec(env: ServersEnv, tag: string) {
  const names = buckets(tag);
  await createBuckets(env, names);
  return storeSpecOn(env, names);
}

/**
 * For suites that take a store description and a set-up step (they skip without the servers):
 * the description on the test servers with buckets tagged `tag` (null without the servers),
 * and the step that creates those buckets.
 */
export function serverStoreSpecIfAny(tag: string) {
  const env = serversEnv();
  const names = buckets(tag);
  return { spec: () => env && storeSpecOn(env, names), prepare: () => createBuckets(env!, names) };
}
