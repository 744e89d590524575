/** `testS3Connectivity`: HeadBucket on every configured bucket (works with keys scoped to those buckets). */
import type { ConnectivityResult } from '@chronos-db/core';
import { configuredBuckets, connRedactor, safeMessage, withClient, type SpacesConnection } from './connection.js';
import { probeBucket } from './probe.js';

export type { ConnectivityResult };

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
