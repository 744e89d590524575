/**
 * Exit codes and the one line an error prints. A user mistake (usage, config,
 * bad input) prints one line and never a stack; `--verbose` adds the cause
 * chain, passed through the config's redactor so no secret is ever shown.
 */
// by class name, so that `--help`, `--version` and `init` never load the library
const named = (e: unknown, ...names: string[]): e is Error =>
  e instanceof Error && names.includes(e.name) && typeof (e as { code?: unknown }).code === 'string';
const isChronos = (e: unknown) =>
  named(
    e,
    'ChronosError',
    'ValidationError',
    'NotFoundError',
    'OptimisticLockError',
    'ConfigError',
    'RouteError',
    'StorageError',
    'TxnError',
    'ExternalizationError',
    'PayloadTooLargeError',
    'IntegrityError',
    'QueueClaimedError',
  );

export const EXIT = {
  ok: 0,
  /** A check or an operation failed. */
  failed: 1,
  /** Usage or config error (unknown flag, invalid config, unset ${VAR}, invalid input). */
  usage: 2,
  notFound: 3,
  /** A stale --expected-ov, an id that exists, a claimed queue op, a file that init would overwrite. */
  conflict: 4,
  /** MongoDB or the object store did not answer. */
  unreachable: 5,
} as const;

/** An error the CLI raises itself, with its exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CliError';
  }
}

export const usage = (m: string) => new CliError(m, EXIT.usage);

const NETWORK_CODES = /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|EAI_AGAIN|ENETUNREACH)$/;

function isUnreachable(e: unknown): boolean {
  for (let c: unknown = e, i = 0; c && i < 6; c = (c as { cause?: unknown }).cause, i++) {
    if (named(c, 'StorageError') && (c as { retriable?: boolean }).retriable) return true;
    const code = (c as { code?: unknown }).code;
    if (typeof code === 'string' && NETWORK_CODES.test(code)) return true;
    const name = (c as { name?: unknown }).name;
    if (typeof name === 'string' && /^Mongo(ServerSelection|Network|NetworkTimeout)Error$/.test(name)) return true;
  }
  return false;
}

export function exitCodeOf(e: unknown): number {
  if (e instanceof CliError) return e.exitCode;
  if (named(e, 'ValidationError', 'ConfigError', 'RouteError')) return EXIT.usage;
  if (named(e, 'NotFoundError')) return EXIT.notFound;
  if (named(e, 'OptimisticLockError', 'QueueClaimedError')) return EXIT.conflict;
  if (isUnreachable(e)) return EXIT.unreachable;
  return EXIT.failed;
}

/** The line printed for an error, and with `verbose` its causes (each redacted by `hide`). */
export function describe(e: unknown, verbose: boolean, hide: (s: string) => string): string[] {
  const head = (x: unknown): string => {
    if (x instanceof CliError) return x.message;
    if (isChronos(x)) return `${x.name}: ${x.message}`;
    if (x instanceof Error) return `${x.name && x.name !== 'Error' ? `${x.name}: ` : ''}${x.message}`;
    return String(x);
  };
  const lines = [`error: ${hide(head(e))}`];
  if (exitCodeOf(e) === EXIT.unreachable && !verbose) lines[0] += ' (storage unreachable; --verbose shows the cause)';
  if (verbose) {
    let c = (e as { cause?: unknown })?.cause;
    for (let i = 0; c && i < 6; c = (c as { cause?: unknown }).cause, i++) lines.push(`  cause: ${hide(head(c))}`);
    // a stack only for what is not a user mistake (a bug in the CLI or the library)
    if (!isChronos(e) && !(e instanceof CliError) && e instanceof Error && e.stack) lines.push(hide(e.stack));
  }
  return lines;
}
