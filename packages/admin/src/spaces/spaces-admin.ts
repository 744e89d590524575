/**
 * The guide's calling convention: functions that take a context (e.g.
 * `{ dbName: 'myapp', collection: 'users' }`) and resolve it to that
 * context's S3 connection first. chronos-db's `chronos.admin.*` is built on this.
 */
import { testS3Connectivity, type ConnectivityResult } from './connectivity.js';
import type { SpacesConnection } from './connection.js';
import { ensureBucketsExist, type EnsureBucketsOptions, type EnsureBucketsResult } from './ensure-buckets.js';
import { s3Health, type S3HealthResult } from './health.js';
import { validateSpacesConfiguration, type SpacesValidationResult, type ValidateOptions } from './validate.js';

export interface SpacesAdmin<Ctx> {
  ensureBucketsExist(ctx: Ctx, opts: EnsureBucketsOptions): Promise<EnsureBucketsResult>;
  testS3Connectivity(ctx: Ctx): Promise<ConnectivityResult>;
  validateSpacesConfiguration(ctx: Ctx, opts?: ValidateOptions): Promise<SpacesValidationResult>;
  s3Health(ctx: Ctx): Promise<S3HealthResult>;
}

export function createSpacesAdmin<Ctx>(resolve: (ctx: Ctx) => SpacesConnection | Promise<SpacesConnection>): SpacesAdmin<Ctx> {
  return {
    ensureBucketsExist: async (ctx, opts) => ensureBucketsExist(await resolve(ctx), opts),
    testS3Connectivity: async (ctx) => testS3Connectivity(await resolve(ctx)),
    validateSpacesConfiguration: async (ctx, opts) => validateSpacesConfiguration(await resolve(ctx), opts),
    s3Health: async (ctx) => s3Health(await resolve(ctx)),
  };
}
