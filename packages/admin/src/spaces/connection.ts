/** The S3 connection the Spaces admin functions work on: a context's resolved `spacesConns` entry. */
import type { S3Client } from '@aws-sdk/client-s3';
import { createS3Client, makeRedactor, type S3ConnectionOptions } from '@chronos-db/storage-s3';

export interface SpacesConnection extends S3ConnectionOptions {
  /** A ready client (e.g. the context's shared one). Not destroyed by the admin functions. */
  client?: S3Client;
}

export interface BucketRef {
  role: 'json' | 'content' | 'backups';
  name: string;
}

/** The configured buckets, deduplicated by name, in json, content, backups order. */
export function configuredBuckets(conn: Pick<SpacesConnection, 'jsonBucket' | 'contentBucket' | 'backupsBucket'>): BucketRef[] {
  const out: BucketRef[] = [];
  for (const [role, name] of [
    ['json', conn.jsonBucket],
    ['content', conn.contentBucket],
    ['backups', conn.backupsBucket],
  ] as const) {
    if (typeof name === 'string' && name && !out.some((b) => b.name === name)) out.push({ role, name });
  }
  return out;
}

/** The text redactor of a connection: its secret key hidden, its access key masked (core's redact.ts rules). */
export function connRedactor(conn: Pick<SpacesConnection, 'secretKey' | 'accessKey'>): (s: string) => string {
  return makeRedactor([conn.secretKey], conn.accessKey);
}

/** Runs `fn` with the connection's client, or a fresh one that is destroyed afterwards. */
export async function withClient<T>(conn: SpacesConnection, fn: (client: S3Client, redact: (s: string) => string) => Promise<T>): Promise<T> {
  const redact = connRedactor(conn);
  if (conn.client) return fn(conn.client, redact);
  const { client: c, ...plain } = conn;
  void c;
  const owned = createS3Client(plain);
  try {
    return await fn(owned.client, redact);
  } finally {
    owned.destroy();
  }
}

/** A message that is safe to return: the secret and the full access key are removed. */
export function safeMessage(e: unknown, redact: (s: string) => string): string {
  const m = e instanceof Error ? e.message : String(e);
  return redact(m);
}
