/** Maps driver failures to core errors, with every secret of the URI removed. */
import { MongoNetworkError, MongoServerSelectionError, MongoTopologyClosedError } from 'mongodb';
import { ChronosError, OptimisticLockError, StorageError, createRedactor, uriSecrets as coreUriSecrets } from '@chronos-db/core';

/**
 * Server error codes that mean "not reachable / not writable right now": HostUnreachable,
 * HostNotFound, NetworkTimeout, ShutdownInProgress, PrimarySteppedDown, SocketException,
 * NotWritablePrimary, NotPrimaryNoSecondaryOk, NotPrimaryOrSecondary, InterruptedAtShutdown,
 * InterruptedDueToReplStateChange.
 */
const UNREACHABLE_CODES: ReadonlySet<number> = new Set([6, 7, 89, 91, 189, 9001, 10107, 13435, 13436, 11600, 11602]);

/**
 * The server could not be reached (connection refused or reset, timeout, no primary): by the
 * driver's error class (MongoNetworkError and its subclasses, MongoServerSelectionError) or
 * the server's error code, never by message text. The fallback queue takes only these.
 */
export function isUnreachable(e: unknown): boolean {
  // MongoTopologyClosedError: the driver closed the client after a failed first connection (a
  // store closed by chronos refuses before reaching the driver, so this is never our own close).
  if (e instanceof MongoNetworkError || e instanceof MongoServerSelectionError || e instanceof MongoTopologyClosedError) return true;
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'number' && UNREACHABLE_CODES.has(code);
}

/** Secrets a URI carries (the password, raw and decoded), for redaction of driver messages (core's uriSecrets). */
export function uriSecrets(uri: string | undefined): string[] {
  return coreUriSecrets(uri);
}

/** A text redactor for the URI's secrets and any other URI password a driver message might echo (core's redact.ts). */
export function makeRedactor(uri: string | undefined): (s: string) => string {
  return createRedactor(coreUriSecrets(uri)).text;
}

export function isDuplicateKey(e: unknown): boolean {
  const x = e as { code?: unknown; writeErrors?: { code?: unknown }[] } | null;
  if (!x || typeof x !== 'object') return false;
  if (x.code === 11000 || x.code === 11001) return true;
  return Array.isArray(x.writeErrors) && x.writeErrors.length > 0 && x.writeErrors.every((w) => w.code === 11000);
}

/** A cause that carries the driver's name, code and redacted message, and nothing else. */
function safeCause(e: unknown, redact: (s: string) => string): Error {
  const x = e as { name?: unknown; message?: unknown; code?: unknown; codeName?: unknown } | null;
  const err = new Error(redact(String(x?.message ?? e)));
  err.name = typeof x?.name === 'string' ? x.name : 'Error';
  if (x && (typeof x.code === 'number' || typeof x.code === 'string')) (err as Error & { code?: unknown }).code = x.code;
  if (x && typeof x.codeName === 'string') (err as Error & { codeName?: unknown }).codeName = x.codeName;
  return err;
}

/** Wraps anything thrown by the driver in a StorageError (ChronosErrors pass through). */
export function toStorageError(e: unknown, what: string, where: string, redact: (s: string) => string): ChronosError {
  if (e instanceof ChronosError) return e;
  const x = e as { name?: unknown; message?: unknown; code?: unknown } | null;
  const name = typeof x?.name === 'string' ? x.name : 'Error';
  const msg = redact(String(x?.message ?? e)).slice(0, 500);
  return new StorageError(
    `MongoDB ${what} failed on ${where}: ${name}: ${msg}`,
    { backend: where, ...(typeof x?.code === 'number' ? { code: x.code } : {}) },
    { cause: safeCause(e, redact), retriable: isUnreachable(e) },
  );
}

export function lockError(ns: string, itemId: string, expectedOv: number | null): OptimisticLockError {
  return new OptimisticLockError(
    expectedOv === null
      ? `Record '${itemId}' already exists in ${ns}`
      : `Record '${itemId}' in ${ns} is not at ov ${expectedOv} (a concurrent writer won, or it does not exist)`,
    { itemId, expectedOv },
  );
}

/**
 * The refused entries of an unordered bulk write that failed only on duplicate keys (their
 * indexes in the batch); null when the error is anything else (rethrow it).
 */
export function duplicateKeyIndexes(e: unknown): number[] | null {
  const errs = (e as { writeErrors?: Array<{ index: number; code?: number }> | { index: number; code?: number } }).writeErrors;
  const list = Array.isArray(errs) ? errs : errs ? [errs] : [];
  if (!list.length || list.some((w) => w.code !== 11000)) return null;
  return list.map((w) => w.index);
}
