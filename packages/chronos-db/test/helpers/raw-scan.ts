/**
 * Raw oracles for erasure tests: they read what the stores really hold with the raw drivers
 * (files and their bytes, MongoDB collections, every S3 object version), never through
 * chronos-db. Each returns, per marker, where it was found.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import Database from 'better-sqlite3';
import { GetObjectCommand, ListObjectVersionsCommand, PutBucketVersioningCommand, S3Client } from '@aws-sdk/client-s3';
import { MongoClient } from 'mongodb';
import type { ServersEnv } from './servers';

export type Found = Record<string, string[]>;

const hits = (markers: string[]): Found => Object.fromEntries(markers.map((m) => [m, [] as string[]]));

/**
 * The bytes, and the decompressed content of every gzip member inside them (manifest parts are
 * runs of gzip blocks between JSON): a member is found by its magic (1f 8b 08) and inflated
 * from after its 10-byte header to the end of its deflate stream; what does not inflate is no member.
 */
export function withInflated(bytes: Buffer): Buffer[] {
  const out = [bytes];
  for (let i = bytes.indexOf(GZIP_MAGIC); i >= 0 && i + 10 < bytes.length; i = bytes.indexOf(GZIP_MAGIC, i + 1)) {
    try {
      out.push(inflateRawSync(bytes.subarray(i + 10)));
    } catch {
      // not a member
    }
  }
  return out;
}
const GZIP_MAGIC = Buffer.from([0x1f, 0x8b, 0x08]);
const holds = (bytes: Buffer, m: string) => withInflated(bytes).some((b) => b.includes(Buffer.from(m)));

/**
 * Every value of every table of a SQLite file (read-only, the raw driver): blobs decompressed as
 * withInflated does, so a manifest part stored as a row is searched like a file. A hit is named
 * `table.column`, followed by the row's `key` where it has one.
 */
export function scanSqlite(file: string, markers: string[]): Found {
  const out = hits(markers);
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    for (const { name } of db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>) {
      for (const row of db.prepare(`SELECT * FROM "${name}"`).iterate() as Iterable<Record<string, unknown>>) {
        for (const [col, v] of Object.entries(row)) {
          const bytes = Buffer.isBuffer(v) ? v : Buffer.from(String(v));
          for (const m of markers) if (holds(bytes, m)) out[m]!.push(`${name}.${col}${typeof row.key === 'string' ? ` ${row.key}` : ''}`);
        }
      }
    }
  } finally {
    db.close();
  }
  return out;
}

/** Every file under `dir` (SQLite databases, their -wal and -shm files, payload files), byte by byte, gzip members decompressed. */
export function scanFiles(dir: string, markers: string[]): Found {
  const out = hits(markers);
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else {
        const bytes = readFileSync(p);
        for (const m of markers) if (holds(bytes, m)) out[m]!.push(p.slice(dir.length));
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

/** Every object version (current and noncurrent) of every bucket, its bytes (gzip members decompressed). Also returns how many versions were read. */
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
          for (const m of markers) if (holds(bytes, m) || v.Key!.includes(m)) out[m]!.push(`${Bucket}/${v.Key}@${v.VersionId}`);
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
