/** `testS3Connectivity`: HeadBucket on every configured bucket (works with keys scoped to those buckets). */
import { configuredBuckets, connRedactor, safeMessage, withClient, type SpacesConnection } from './connection.js';
import { probeBucket } from './probe.js';

export interface ConnectivityResult {
  /** Every configured bucket answered. */
  success: boolean;
  /** The configured buckets that are reachable with these credentials. */
  buckets: string[];
  error?: string;
  /**
   * Set to 'local' when the context has no S3 (the embedded store, localStorage): S3 connectivity
   * does not apply, and the result reports the local payload folders instead (see `note`).
   */
  storage?: 'local';
  /** Why the result is not an S3 check (only with `storage: 'local'`). */
  note?: string;
}

export async function testS3Connectivity(conn: SpacesConnection): Promise<ConnectivityResult> {
  try {
    return await withClient(conn, async (client, redact) => {
      const buckets: string[] = [];
      const errors: string[] = [];
      for (const { name } of configuredBuckets(conn)) {
        const p = await probeBucket(client, name, redact);
        if (p.state === 'ok') buckets.push(name);
        else errors.push(p.error);
      }
      return errors.length ? { success: false, buckets, error: errors.join('; ') } : { success: true, buckets };
    });
  } catch (e) {
    // e.g. an invalid endpoint: report, never throw, never leak.
    const redact = connRedactor(conn);
    return { success: false, buckets: [], error: safeMessage(e, redact) };
  }
}
