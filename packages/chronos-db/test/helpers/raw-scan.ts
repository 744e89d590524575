/**
 * Raw oracles for erasure tests: they read what the stores really hold with the raw drivers
 * (files and their bytes, MongoDB collections, every S3 object version), never through
 * chronos-db. Each returns, per marker, where it was found.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { GetObjectCommand, ListObjectVersionsCommand, PutBucketVersioningCommand, S3Client } from '@aws-sdk/client-s3';
import { MongoClient } from 'mongodb';
import type { ServersEnv } from './servers';

export type Found = Record<string, string[]>;

const hits = (markers: string[]): Found => Object.fromEntries(markers.map((m) => [m, [] as string[]]));

/** Every file under `dir` (SQLite databases, their -wal and -shm files, payload files), byte by byte. */
export function scanFiles(dir: string, markers: string[]): Found {
  const out = hits(markers);
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else {
        const bytes = readFileSync(p);
        for (const m of markers) if (bytes.includes(Buffer.from(m))) out[m]!.push(p.slice(dir.length));
      }
    }
  };
  walk(dir);
  return out;
}

/** Every document of every collection of a database, as extended JSON. */
export async function scanMongo(url: string, dbName: string, markers: string[]): Promise<Found> {
  const out = hits(markers);
  const client = new MongoClient(url);
  try {
    const db = client.db(dbName);
    for (const c of await db.listCollections().toArray()) {
      for (const doc of await db.collection(c.name).find({}).toArray()) {
        const text = JSON.stringify(doc);
        for (const m of markers) if (text.includes(m)) out[m]!.push(`${c.name}/${String(doc._id)}`);
      }
    }
  } finally {
    await client.close();
  }
  return out;
}

export function rawS3(env: ServersEnv): S3Client {
  return new S3Client({
    endpoint: env.s3Endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: env.accessKey, secretAccessKey: env.secretKey },
  });
}

export async function enableVersioning(env: ServersEnv, buckets: string[]): Promise<void> {
  const c = rawS3(env);
  try {
    for (const b of buckets) await c.send(new PutBucketVersioningCommand({ Bucket: b, VersioningConfiguration: { Status: 'Enabled' } }));
  } finally {
    c.destroy();
  }
}

/** Every object version (current and noncurrent) of every bucket, its bytes. Also returns how many versions were read. */
export async function scanS3(env: ServersEnv, buckets: string[], markers: string[]): Promise<{ found: Found; versions: number }> {
  const out = hits(markers);
  const c = rawS3(env);
  let versions = 0;
  try {
    for (const Bucket of buckets) {
      let KeyMarker: string | undefined;
      let VersionIdMarker: string | undefined;
      do {
        const page = await c.send(new ListObjectVersionsCommand({ Bucket, KeyMarker, VersionIdMarker }));
        for (const v of page.Versions ?? []) {
          versions++;
          const o = await c.send(new GetObjectCommand({ Bucket, Key: v.Key!, VersionId: v.VersionId }));
          const bytes = Buffer.from(await o.Body!.transformToByteArray());
          for (const m of markers) if (bytes.includes(Buffer.from(m)) || v.Key!.includes(m)) out[m]!.push(`${Bucket}/${v.Key}@${v.VersionId}`);
        }
        KeyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
        VersionIdMarker = page.IsTruncated ? page.NextVersionIdMarker : undefined;
      } while (KeyMarker);
    }
  } finally {
    c.destroy();
  }
  return { found: out, versions };
}
