/** Secret-free views of a connection, for logs, errors and admin results. */

/** 'DO1234567890ABCDEF' -> 'DO12…CDEF'. Short keys are masked entirely. */
export function maskAccessKey(accessKey: string | undefined): string {
  if (!accessKey) return '';
  if (accessKey.length < 12) return '****';
  return `${accessKey.slice(0, 4)}…${accessKey.slice(-4)}`;
}

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
  return {
    endpoint,
    region: conn.region,
    forcePathStyle: conn.forcePathStyle === true,
    accessKey: maskAccessKey(conn.accessKey),
    buckets: { json: conn.jsonBucket, content: conn.contentBucket, backups: conn.backupsBucket },
  };
}

/** Returns a function that replaces every given secret (and the access key, masked) in a string. */
export function makeRedactor(secrets: Array<string | undefined>, accessKey?: string): (s: string) => string {
  const list = secrets.filter((s): s is string => typeof s === 'string' && s.length >= 4);
  return (s: string) => {
    let out = s;
    for (const sec of list) out = out.split(sec).join('[REDACTED]');
    if (accessKey && accessKey.length >= 4) out = out.split(accessKey).join(maskAccessKey(accessKey));
    return out;
  };
}
