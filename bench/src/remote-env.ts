/**
 * The two sides of the remote bench, against the same FerretDB/MongoDB and S3
 * gateway: chronos-db (CollectionEngine over createMongoMetadataStore and
 * createS3BlobStore) and the raw drivers (its own MongoClient and S3Client).
 * Each side has its own clients, so the counters never mix:
 *  - Mongo commands: command monitoring (`commandStarted`) of each client;
 *  - S3 requests: a middleware on each S3Client (the store's own meter for ours).
 */
import http from 'node:http';
import { CreateBucketCommand, DeleteBucketCommand, DeleteObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { MongoClient } from 'mongodb';
import { CollectionEngine, type CollectionMap, type Namespace } from '@chronos-db/core';
import { createMongoMetadataStore, type MongoMetadataStore } from '@chronos-db/storage-mongo';
import { createS3BlobStore, type S3BlobStore } from '@chronos-db/storage-s3';
import { pool, type Counters } from './measure.js';

export interface RemoteEnv {
  mongoUrl: string;
  s3Endpoint: string;
  s3AccessKey: string;
  s3SecretKey: string;
  region?: string;
}

/** Reads CHRONOS_TEST_* (written by scripts/ferretdb.sh and scripts/ceph.sh). Returns the missing names instead when incomplete. */
export function remoteEnvFromProcess(env: NodeJS.ProcessEnv = process.env): RemoteEnv | { missing: string[] } {
  const names = ['CHRONOS_TEST_MONGO_URL', 'CHRONOS_TEST_S3_ENDPOINT', 'CHRONOS_TEST_S3_ACCESS_KEY', 'CHRONOS_TEST_S3_SECRET_KEY'];
  const missing = names.filter((n) => !env[n]);
  if (missing.length) return { missing };
  return {
    mongoUrl: env.CHRONOS_TEST_MONGO_URL!,
    s3Endpoint: env.CHRONOS_TEST_S3_ENDPOINT!,
    s3AccessKey: env.CHRONOS_TEST_S3_ACCESS_KEY!,
    s3SecretKey: env.CHRONOS_TEST_S3_SECRET_KEY!,
  };
}

/** Removes `user:password@` from a connection string (for logs and results). */
export function redactUrl(u: string): string {
  return u.replace(/\/\/[^@/]*@/, '//***@');
}

export interface RawSide {
  mongo: MongoClient;
  s3: S3Client;
  bucket: string;
  counters: Counters;
}

export interface OursSide {
  meta: MongoMetadataStore;
  blobs: S3BlobStore;
  buckets: { jsonBucket: string; contentBucket: string; backupsBucket: string };
  counters: Counters;
  engine(collection: string, map?: CollectionMap): CollectionEngine;
}

export interface RemoteSetup {
  dbName: string;
  ours: OursSide;
  raw: RawSide;
  close(opts?: { keep?: boolean }): Promise<void>;
}

const SAME_AGENT = { keepAlive: true, maxSockets: 32, maxFreeSockets: 16 };

/** A raw S3 client configured like ours (path style, checksums only when required, a keep-alive agent of 32 sockets). */
function rawS3Client(env: RemoteEnv): { client: S3Client; count: () => number; destroy: () => void } {
  const agent = new http.Agent(SAME_AGENT);
  const client = new S3Client({
    endpoint: env.s3Endpoint,
    region: env.region ?? 'us-east-1',
    credentials: { accessKeyId: env.s3AccessKey, secretAccessKey: env.s3SecretKey },
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: { httpAgent: agent },
  });
  let n = 0;
  client.middlewareStack.add(
    (next) => async (args) => {
      n++;
      return next(args);
    },
    { step: 'deserialize', name: 'benchRequestCounter', priority: 'low' },
  );
  return {
    client,
    count: () => n,
    destroy: () => {
      client.destroy();
      agent.destroy();
    },
  };
}

async function createBucket(s3: S3Client, Bucket: string): Promise<void> {
  await s3.send(new CreateBucketCommand({ Bucket }));
}

/** Deletes every object of a bucket, then the bucket (best effort). */
export async function dropBucket(s3: S3Client, Bucket: string): Promise<void> {
  try {
    let token: string | undefined;
    do {
      const out = await s3.send(new ListObjectsV2Command({ Bucket, ContinuationToken: token, MaxKeys: 1000 }));
      const keys = (out.Contents ?? []).map((o) => o.Key).filter((k): k is string => !!k);
      await pool(keys, 32, async (Key) => {
        await s3.send(new DeleteObjectCommand({ Bucket, Key }));
      });
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token);
    await s3.send(new DeleteBucketCommand({ Bucket }));
  } catch {
    /* best effort */
  }
}

/** Opens both sides on fresh names: database `bench_<run>`, buckets `chronos-bench-<run>-{json,content,backups,raw}`. */
export async function openRemote(env: RemoteEnv): Promise<RemoteSetup> {
  const run = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const dbName = `bench_${run}`;
  const buckets = { jsonBucket: `chronos-bench-${run}-json`, contentBucket: `chronos-bench-${run}-content`, backupsBucket: `chronos-bench-${run}-backups` };
  const rawBucket = `chronos-bench-${run}-raw`;

  // ours: the adapters exactly as initChronos wires them (no transactions on FerretDB, no counters store).
  const meta = createMongoMetadataStore({ uri: env.mongoUrl, erasure: false }); // as initChronos without hardDeleteEnabled
  const blobs = createS3BlobStore({
    endpoint: env.s3Endpoint,
    region: env.region ?? 'us-east-1',
    accessKey: env.s3AccessKey,
    secretKey: env.s3SecretKey,
    forcePathStyle: true,
    ...buckets,
  });
  // raw: its own clients.
  const rawMongo = new MongoClient(env.mongoUrl, { monitorCommands: true, appName: 'chronos-bench-raw' });
  let rawCmds = 0;
  rawMongo.on('commandStarted', () => {
    rawCmds++;
  });
  const rs3 = rawS3Client(env);
  await rawMongo.connect();
  for (const b of [buckets.jsonBucket, buckets.contentBucket, buckets.backupsBucket, rawBucket]) await createBucket(rs3.client, b);

  const engines = new Map<string, CollectionEngine>();
  const ours: OursSide = {
    meta,
    blobs,
    buckets,
    counters: { mongo: () => meta.stats().commands, s3: () => blobs.stats().requestsTotal },
    engine(collection, map) {
      let e = engines.get(collection);
      if (!e) {
        const ns: Namespace = { dbName, collection };
        e = new CollectionEngine({ ns, meta, blobs, map });
        engines.set(collection, e);
      }
      return e;
    },
  };
  const raw: RawSide = { mongo: rawMongo, s3: rs3.client, bucket: rawBucket, counters: { mongo: () => rawCmds, s3: rs3.count } };

  return {
    dbName,
    ours,
    raw,
    async close(o = {}) {
      if (!o.keep) {
        for (const b of [buckets.jsonBucket, buckets.contentBucket, buckets.backupsBucket, rawBucket]) await dropBucket(rs3.client, b);
        await rawMongo
          .db(dbName)
          .dropDatabase()
          .catch(() => undefined);
      }
      await meta.close();
      await blobs.close();
      await rawMongo.close();
      rs3.destroy();
    },
  };
}
