/**
 * The two deployments the history tests run on, through `initChronos`: the embedded store
 * (SQLite + files) and FerretDB + the Ceph S3 gateway (skipped visibly without the servers).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initChronos, type Chronos } from 'chronos-db';
import { buckets, createBuckets, describeServers, rnd } from './servers.js';

export const COLLECTION_MAPS = {
  docs: { indexedProps: ['kind', 'n'], base64Props: { file: { contentType: 'application/octet-stream' } } },
};

export interface Opened {
  chronos: Chronos;
  dbName: string;
  close(): Promise<void>;
}

export interface Target {
  name: string;
  /** A fresh logical database per call: nothing of another test is visible. */
  open(): Promise<Opened>;
}

/** A fresh database of `t`, opened before the tests of the enclosing describe (its fields are set then) and closed after them. */
export function openedFor(t: Target): Opened {
  const h = {} as Opened;
  beforeAll(async () => {
    Object.assign(h, await t.open());
  });
  afterAll(() => h.close());
  return h;
}

export function forEachTarget(title: string, fn: (t: Target) => void): void {
  describe(`${title} (embedded)`, () => {
    fn({
      name: 'embedded',
      async open() {
        const basePath = mkdtempSync(join(tmpdir(), 'chronos-history-'));
        const chronos = initChronos({ localStorage: { enabled: true, basePath }, collectionMaps: COLLECTION_MAPS });
        return {
          chronos,
          dbName: `h_${rnd()}`,
          async close() {
            await chronos.admin.shutdown();
            rmSync(basePath, { recursive: true, force: true });
          },
        };
      },
    });
  });
  describeServers(`${title} (FerretDB + Ceph)`, (env) => {
    fn({
      name: 'servers',
      async open() {
        const names = buckets('hist');
        await createBuckets(env, names);
        const r = rnd();
        const chronos = initChronos({
          databases: { runtime: { generic: { key: 'rt', mongoUri: env.mongoUrl, dbName: `hrt_${r}` } } },
          spacesConns: [{ endpoint: env.s3Endpoint, region: 'us-east-1', accessKey: env.accessKey, secretKey: env.secretKey, forcePathStyle: true, ...names }],
          collectionMaps: COLLECTION_MAPS,
        });
        return { chronos, dbName: `h_${r}`, close: () => chronos.admin.shutdown() };
      },
    });
  });
}

/** The user's data of a rendered record (without id, _system, _meta). */
export function dataOf(r: Record<string, unknown> | null | undefined): Record<string, unknown> | null {
  if (!r) return null;
  const { id: _id, _system, _meta, ...rest } = r;
  return rest;
}
