/**
 * The guide's bucket functions for any context: S3 contexts go to the Spaces
 * functions, embedded contexts (localStorage) to their payload directories
 * `<basePath>/<json|content|backups>`, with the same options, refusals and
 * result shape:
 * - without `{ confirm: true }` or `{ dryRun: true }`: a ValidationError, nothing checked;
 * - `createIfMissing` defaults to true; `dryRun` reports and creates nothing;
 * - a missing bucket that is not created reads `{ exists: false, accessible: false, created: false, error }`,
 *   a created one `{ exists: true, accessible: true, created: true }`, an existing one `{ exists: true, accessible: true }`.
 */
import { constants as fsConstants } from 'node:fs';
import { access, mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ContextInput } from '@chronos-db/router';
import type { SpacesConnConfig } from '@chronos-db/core';
import type { BucketStatus, EnsureBucketsOptions, EnsureBucketsResult } from '../spaces/ensure-buckets.js';
import { ensureBucketsExist as s3Ensure } from '../spaces/ensure-buckets.js';
import { testS3Connectivity as s3Connectivity, type ConnectivityResult } from '../spaces/connectivity.js';
import { validateSpacesConfiguration as s3Validate, type SpacesValidationResult } from '../spaces/validate.js';
import { requireConfirm } from './confirm.js';
import type { AdminRuntime } from './runtime.js';

const ROLES = ['json', 'content', 'backups'] as const;

/** The storage connection of the backend holding the context (hashed: through the placement registry). */
async function spacesConnOf(rt: AdminRuntime, ctx: ContextInput): Promise<SpacesConnConfig | null> {
  const r = await rt.resolvePlaced(ctx, 'read');
  return r.storage === 'local' ? null : (rt.topology.spacesConns[r.storage] ?? null);
}

const localDirs = (rt: AdminRuntime) => ROLES.map((name) => ({ name, path: join(rt.cfg.localStorage?.basePath ?? '.', name) }));
const isDir = (p: string) =>
  stat(p).then(
    (s) => s.isDirectory(),
    () => false,
  );

export async function ensureBucketsExist(rt: AdminRuntime, ctx: ContextInput, opts: EnsureBucketsOptions): Promise<EnsureBucketsResult> {
  rt.assertOpen();
  requireConfirm(opts, 'ensureBucketsExist');
  const conn = await spacesConnOf(rt, ctx);
  if (conn) return rt.redactor.value(await s3Ensure(conn, opts));
  const dryRun = opts.dryRun === true;
  const createIfMissing = opts.createIfMissing !== false;
  const statuses: BucketStatus[] = [];
  let created = 0;
  for (const b of localDirs(rt)) {
    if (await isDir(b.path)) {
      statuses.push({ name: b.name, exists: true, accessible: true });
      continue;
    }
    if (dryRun || !createIfMissing) {
      statuses.push({ name: b.name, exists: false, accessible: false, created: false, error: `Bucket '${b.name}' does not exist` });
      continue;
    }
    try {
      await mkdir(b.path, { recursive: true });
      created++;
      statuses.push({ name: b.name, exists: true, accessible: true, created: true });
    } catch (e) {
      statuses.push({
        name: b.name,
        exists: false,
        accessible: false,
        created: false,
        error: rt.redactor.text(`Could not create bucket '${b.name}': ${(e as Error).message}`),
      });
    }
  }
  return { bucketsChecked: statuses.length, bucketsCreated: created, bucketStatuses: statuses };
}

/** What `testS3Connectivity` says on a context without S3. */
export const LOCAL_CONNECTIVITY_NOTE =
  'S3 connectivity does not apply: this context stores payloads on the local filesystem (localStorage), not S3. Checked instead: the local payload folders json, content and backups under localStorage.basePath (ensureBucketsExist creates them).';

/**
 * S3 contexts: HeadBucket on every configured bucket. Embedded contexts (no S3): says so
 * (`storage: 'local'`, `note`) and checks the local payload folders, the same ones
 * `ensureBucketsExist` checks and creates: success only when each exists and is readable and
 * writable; a missing one is named as `ensureBucketsExist` names it.
 */
export async function testS3Connectivity(rt: AdminRuntime, ctx: ContextInput): Promise<ConnectivityResult> {
  rt.assertOpen();
  const conn = await spacesConnOf(rt, ctx);
  if (conn) return rt.redactor.value(await s3Connectivity(conn));
  const buckets: string[] = [];
  const errors: string[] = [];
  for (const b of localDirs(rt)) {
    if (!(await isDir(b.path))) errors.push(`Bucket '${b.name}' does not exist`);
    else if (
      !(await access(b.path, fsConstants.R_OK | fsConstants.W_OK).then(
        () => true,
        () => false,
      ))
    )
      errors.push(`Bucket '${b.name}' is not readable and writable`);
    else buckets.push(b.name);
  }
  const base = { buckets, storage: 'local' as const, note: LOCAL_CONNECTIVITY_NOTE };
  return errors.length ? { success: false, ...base, error: `${errors.join('; ')} (run ensureBucketsExist)` } : { success: true, ...base };
}

export async function validateSpacesConfiguration(rt: AdminRuntime, ctx: ContextInput): Promise<SpacesValidationResult> {
  rt.assertOpen();
  const conn = await spacesConnOf(rt, ctx);
  if (conn) return rt.redactor.value(await s3Validate(conn));
  return {
    valid: true,
    issues: [],
    recommendations: ['This context stores payloads on the local filesystem (localStorage); configure spacesConns for S3-compatible storage in production.'],
  };
}
