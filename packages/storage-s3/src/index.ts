export { createS3BlobStore, MIN_PRESIGN_TTL_SECONDS, MAX_PRESIGN_TTL_SECONDS, DEFAULT_MULTIPART_THRESHOLD } from './s3-blob-store.js';
export type { S3BlobCapabilities, S3BlobStore, S3BlobStoreOptions, S3BlobStoreStats } from './s3-blob-store.js';
export {
  createS3Client,
  isAwsEndpoint,
  resolveTuning,
  assertConnection,
  installRequestMeter,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_REQUEST_TIMEOUT_MS,
  DEFAULT_MAX_ATTEMPTS,
} from './client.js';
export type { S3ConnectionOptions, OwnedClient, ResolvedTuning } from './client.js';
export { mapS3Error, s3ErrorInfo, isAccessDenied } from './errors.js';
export type { S3ErrorContext } from './errors.js';
export { describeConnection, maskAccessKey, makeRedactor } from './describe.js';
export type { ConnectionDescription, DescribableConnection } from './describe.js';
export { localhostAwareLookup } from './http.js';
export type { DnsLookup } from './http.js';
export { SPACES_HOURLY_LIMIT, SlidingHourCounter, spaceMeter, spaceRequestStats } from './request-meter.js';
export type { SpaceRequestStats } from './request-meter.js';
/** The blob-key grammar now lives in core (port-rules); re-exported here for existing imports. */
export { assertBlobKey, assertBlobPrefix } from '@chronos-db/core';
