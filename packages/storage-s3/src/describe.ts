/** Secret-free views of a connection, for logs, errors and admin results. */

import { createRedactor, maskAccessKey } from '@chronos-db/core';

export { maskAccessKey };

export interface ConnectionDescription {
  endpoint: string;
  region: string;
  forcePathStyle: boolean;
  accessKey: string;
  buckets: { json: string; content: string; backups: string };
}

export interface DescribableConnection {
  endpoint: string;
  region: string;
  accessKey?: string;
  jsonBucket: string;
  contentBucket: string;
  backupsBucket: string;
  forcePathStyle?: boolean;
}

/** Endpoint (without any userinfo), region, buckets, path style and the masked access key. Never the secret. */
export function describeConnection(conn: DescribableConnection): ConnectionDescription {
  let endpoint = conn.endpoint;
  try {
    const u = new URL(conn.endpoint);
    u.username = '';
    u.password = '';
    endpoint = u.toString().replace(/\/$/, '');
  } catch {
    endpoint = '(invalid endpoint)';
  }
  return createRedactor([(conn as { secretKey?: string }).secretKey], { accessKeys: [conn.accessKey] }).value({
    endpoint,
    region: conn.region,
    forcePathStyle: conn.forcePathStyle === true,
    accessKey: conn.accessKey ?? '', // masked by the redactor (DO12…CDEF)
    buckets: { json: conn.jsonBucket, content: conn.contentBucket, backups: conn.backupsBucket },
  });
}

/** Returns a function that replaces every given secret (and masks the access key) in a string: core's redact.ts rules. */
export function makeRedactor(secrets: Array<string | undefined>, accessKey?: string): (s: string) => string {
  return createRedactor(secrets, { accessKeys: [accessKey] }).text;
}
