/** Every error chronos-db throws on purpose. One module, one base class. */

export interface ConfigIssue {
  path: string;
  message: string;
}

/**
 * The class names an error was built from, under a registry symbol: two
 * copies of this module (an ESM and a CommonJS build loaded side by side, as
 * when chronos-db's ESM entry loads an adapter lazily) then agree on
 * `instanceof` for each other's errors.
 */
const KINDS = Symbol.for('chronos-db.error.kinds');

export class ChronosError extends Error {
  // `this` is the class on the right of `instanceof` (a subclass inherits this method): checking
  // ChronosError here instead made every ChronosError pass `instanceof OptimisticLockError`
  static override [Symbol.hasInstance](this: abstract new (...args: never[]) => unknown, v: unknown): boolean {
    if (Function.prototype[Symbol.hasInstance].call(this, v)) return true;
    const kinds = v !== null && typeof v === 'object' ? (v as { [KINDS]?: unknown })[KINDS] : undefined;
    return Array.isArray(kinds) && kinds.includes(this.name);
  }

  readonly code: string;
  readonly statusCode: number;
  readonly details?: Record<string, unknown>;

  constructor(message: string, code: string, statusCode: number, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super(message, options?.cause !== undefined ? { cause: options.cause } : undefined);
    this.name = new.target.name;
    const kinds: string[] = [];
    for (let c: unknown = new.target; typeof c === 'function' && c !== Error; c = Object.getPrototypeOf(c)) kinds.push((c as { name: string }).name);
    Object.defineProperty(this, KINDS, { value: kinds });
    this.code = code;
    this.statusCode = statusCode;
    if (details) this.details = details;
  }
}

/** Bad input from the caller: nothing was written to either store. */
export class ValidationError extends ChronosError {
  constructor(message: string, details?: Record<string, unknown>) {
    super(message, 'VALIDATION', 400, details);
  }
}

/** The record, version or object does not exist (or is not visible from this context). */
export class NotFoundError extends ChronosError {
  constructor(message: string, details?: Record<string, unknown>) {
    super(message, 'NOT_FOUND', 404, details);
  }
}

/** A concurrent writer won, or `expectedOv` did not match. Found before or at commit alike. */
export class OptimisticLockError extends ChronosError {
  constructor(message: string, details?: Record<string, unknown>) {
    super(message, 'OPTIMISTIC_LOCK', 409, details);
  }
}

/** The configuration given to `initChronos` is invalid. Lists every problem with its path. */
export class ConfigError extends ChronosError {
  readonly issues: ConfigIssue[];
  constructor(issues: ConfigIssue[]) {
    super(`Invalid chronos-db config:\n${issues.map((i) => `  - ${i.path || '(root)'}: ${i.message}`).join('\n')}`, 'CONFIG', 400);
    this.issues = issues;
  }
}

/** A context could not be resolved to a backend (unknown key, extIdentifier, tier...). */
export class RouteError extends ChronosError {
  constructor(message: string, details?: Record<string, unknown>) {
    super(message, 'ROUTE', 400, details);
  }
}

/** A storage backend (S3, Mongo, filesystem) failed or answered unexpectedly. */
export class StorageError extends ChronosError {
  /**
   * The backend could not be reached (connection refused, timeout, no primary): the same
   * request may succeed later. Set by the adapter from the driver's error class or code,
   * never from message text; the fallback queue takes only these.
   */
  readonly retriable: boolean;
  constructor(message: string, details?: Record<string, unknown>, options?: { cause?: unknown; retriable?: boolean }) {
    super(message, 'STORAGE', 502, details, options);
    this.retriable = options?.retriable === true;
  }
}

/** True for a StorageError its adapter marked retriable (the backend was unreachable). */
export function isRetriableStorageError(e: unknown): boolean {
  return e instanceof StorageError && e.retriable;
}

/** `cancelOp` of a queued operation a worker holds (its lease has not expired). */
export class QueueClaimedError extends ChronosError {
  constructor(message: string, details?: Record<string, unknown>) {
    super(message, 'QUEUE_CLAIMED', 409, details);
  }
}

/** A transaction could not be committed; the outcome is known to be "not applied". */
export class TxnError extends ChronosError {
  constructor(message: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super(message, 'TXN', 503, details, options);
  }
}

/** A base64 property could not be externalized (bad base64, bad charset...). */
export class ExternalizationError extends ChronosError {
  constructor(message: string, details?: Record<string, unknown>) {
    super(message, 'EXTERNALIZATION', 400, details);
  }
}

/** The payload exceeds the configured size limit; rejected before any write. */
export class PayloadTooLargeError extends ChronosError {
  constructor(message: string, details?: Record<string, unknown>) {
    super(message, 'PAYLOAD_TOO_LARGE', 413, details);
  }
}

/** Stored bytes do not match their recorded checksum (I7). */
export class IntegrityError extends StorageError {
  constructor(message: string, details?: Record<string, unknown>) {
    super(message, details);
    (this as { code: string }).code = 'INTEGRITY';
  }
}

/**
 * A manifest (the backups bucket's copy of pruned version rows) is missing, corrupt, or does
 * not hold rows the version index no longer has. `details.manifest` names the object.
 */
export class ManifestError extends IntegrityError {
  constructor(message: string, details?: Record<string, unknown>) {
    super(message, details);
    (this as { code: string }).code = 'MANIFEST';
  }
}

export function isChronosError(e: unknown): e is ChronosError {
  return e instanceof ChronosError;
}
