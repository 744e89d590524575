/** S3 failures mapped to core's typed errors, with the guide's wording and never a secret. */
import { ChronosError, NotFoundError, OptimisticLockError, StorageError } from '@chronos-db/core';

const ACCESS_CODES = new Set(['AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'Forbidden', 'AllAccessDisabled', 'InvalidToken', 'ExpiredToken']);

export interface S3ErrorContext {
  op: string;
  bucket: string;
  key?: string;
  /** A 412 / conditional conflict means "the key already exists". */
  ifNoneMatch?: boolean;
  /** A 404 means "no such key" (get); otherwise it is reported as a storage error. */
  notFoundIsKey?: boolean;
  redact?: (s: string) => string;
}

interface SdkErrorLike {
  name?: string;
  code?: string;
  Code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number; requestId?: string; attempts?: number };
  $retryable?: unknown;
}

/** The S3 error code (e.g. 'NoSuchKey') or network code (e.g. 'ECONNRESET'), and the HTTP status when there was one. */
export function s3ErrorInfo(err: unknown): { code: string; status?: number; attempts?: number; requestId?: string; message: string } {
  const e = (err ?? {}) as SdkErrorLike;
  const status = e.$metadata?.httpStatusCode;
  let code = e.Code || e.name || e.code || 'Unknown';
  if (code === 'Error' && e.code) code = e.code;
  if ((code === 'Unknown' || code === 'UnknownError') && status) code = `HTTP${status}`;
  const out: { code: string; status?: number; attempts?: number; requestId?: string; message: string } = { code, message: String(e.message ?? '') };
  if (status !== undefined) out.status = status;
  if (e.$metadata?.attempts !== undefined) out.attempts = e.$metadata.attempts;
  if (e.$metadata?.requestId) out.requestId = e.$metadata.requestId;
  return out;
}

export function isAccessDenied(code: string, status?: number): boolean {
  return ACCESS_CODES.has(code) || status === 403;
}

/** Maps any failure of an S3 call to a ChronosError. Never includes the secret key nor the raw SDK error. */
export function mapS3Error(err: unknown, ctx: S3ErrorContext): ChronosError {
  if (err instanceof ChronosError) return err;
  const info = s3ErrorInfo(err);
  const redact = ctx.redact ?? ((s: string) => s);
  const details: Record<string, unknown> = { op: ctx.op, bucket: ctx.bucket, code: info.code };
  if (ctx.key !== undefined) details.key = ctx.key;
  if (info.status !== undefined) details.status = info.status;
  if (info.attempts !== undefined) details.attempts = info.attempts;
  if (info.requestId) details.requestId = info.requestId;

  if (isAccessDenied(info.code, info.status)) {
    return new StorageError(`Access denied to bucket '${ctx.bucket}'`, details);
  }
  if (info.code === 'NoSuchBucket') {
    return new StorageError(`Bucket '${ctx.bucket}' does not exist`, details);
  }
  if (ctx.ifNoneMatch && (info.status === 412 || info.code === 'PreconditionFailed' || info.code === 'ConditionalRequestConflict')) {
    return new OptimisticLockError(`Object '${ctx.key ?? ''}' already exists in bucket '${ctx.bucket}'`, details);
  }
  if (info.code === 'NoSuchKey' || (ctx.notFoundIsKey && (info.status === 404 || info.code === 'NotFound'))) {
    return new NotFoundError(`Object '${ctx.key ?? ''}' not found in bucket '${ctx.bucket}'`, details);
  }
  const what = info.status !== undefined ? `${info.code} (HTTP ${info.status})` : info.code;
  const msg = info.message && info.message !== info.code && info.message !== 'UnknownError' && info.message.length < 300 ? `: ${redact(info.message)}` : '';
  return new StorageError(redact(`S3 ${ctx.op} failed on bucket '${ctx.bucket}': ${what}${msg}`), details);
}
