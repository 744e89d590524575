/** `s3Health`: one HeadBucket round trip, and the requests of the last hour against DigitalOcean's limit. */
import { SPACES_HOURLY_LIMIT, spaceRequestStats } from '@chronos-db/storage-s3';
import { configuredBuckets, connRedactor, safeMessage, withClient, type SpacesConnection } from './connection.js';
import { probeBucket } from './probe.js';

export interface S3HealthResult {
  ok: boolean;
  latencyMs: number;
  error?: string;
  /** Requests this process sent to the busiest configured space in the last hour. */
  requestsLastHour: number;
  hourlyLimit: number;
  /** Set when the busiest space is above 80% of the hourly limit. */
  warning?: string;
}

export async function s3Health(conn: SpacesConnection): Promise<S3HealthResult> {
  const t0 = performance.now();
  let ok = false;
  let error: string | undefined;
  try {
    const first = configuredBuckets(conn)[0];
    if (!first) throw new Error('no bucket configured');
    const p = await withClient(conn, (client, redact) => probeBucket(client, first.name, redact));
    ok = p.state === 'ok';
    if (p.state !== 'ok') error = p.error;
  } catch (e) {
    error = safeMessage(e, connRedactor(conn));
  }
  const latencyMs = Math.round((performance.now() - t0) * 10) / 10;
  const requestsLastHour = Math.max(0, ...configuredBuckets(conn).map((b) => spaceRequestStats(conn.endpoint, b.name).requestsLastHour));
  const out: S3HealthResult = { ok, latencyMs, requestsLastHour, hourlyLimit: SPACES_HOURLY_LIMIT };
  if (error) out.error = error;
  if (requestsLastHour > SPACES_HOURLY_LIMIT * 0.8)
    out.warning = `${requestsLastHour} requests in the last hour: close to the limit of ${SPACES_HOURLY_LIMIT} per space`;
  return out;
}
