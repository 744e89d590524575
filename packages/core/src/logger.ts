import { createRedactor, type Redactor } from './redact.js';

/** A minimal logger interface; pass your own (pino, winston, console) in config.logging.logger. */
export interface Logger {
  debug(msg: string, meta?: Record<string, unknown>): void;
  info(msg: string, meta?: Record<string, unknown>): void;
  warn(msg: string, meta?: Record<string, unknown>): void;
  error(msg: string, meta?: Record<string, unknown>): void;
}

const LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LEVELS)[number];

/**
 * Wraps a logger so that levels below `level` are dropped and every line is
 * redacted: the message as free text, the meta walked structurally (see
 * redact.ts; never serialized and parsed again). `redact` is a Redactor, or a
 * plain text function (then meta strings pass through it one by one).
 */
export function makeLogger(level: LogLevel = 'warn', sink?: Partial<Logger>, redact: Redactor | ((s: string) => string) = createRedactor([])): Logger {
  const r: Redactor = typeof redact === 'function' ? textOnly(redact) : redact;
  const min = LEVELS.indexOf(level);
  const out = sink ?? console;
  const mk = (l: Exclude<LogLevel, 'silent'>) => (msg: string, meta?: Record<string, unknown>) => {
    if (LEVELS.indexOf(l) < min) return;
    const fn = (out as Partial<Logger>)[l];
    if (!fn) return;
    const safeMeta = meta ? r.value(meta) : undefined;
    fn.call(out, `[chronos-db] ${r.text(String(msg))}`, ...(safeMeta ? [safeMeta] : []));
  };
  return { debug: mk('debug'), info: mk('info'), warn: mk('warn'), error: mk('error') };
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** A Redactor from a text function: strings anywhere in a value pass through it; secret keys are still masked. */
function textOnly(fn: (s: string) => string): Redactor {
  const base = createRedactor([]);
  const wrap: Redactor = {
    mask: base.mask,
    text: (s) => fn(base.text(s)),
    value: (v) => mapStrings(base.value(v), fn),
    error: (e) => base.error(e),
  };
  return wrap;
}

function mapStrings<T>(v: T, fn: (s: string) => string): T {
  if (typeof v === 'string') return fn(v) as T;
  if (Array.isArray(v)) return v.map((x) => mapStrings(x, fn)) as T;
  if (v && typeof v === 'object' && !(v instanceof Date)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, mapStrings(x, fn)])) as T;
  return v;
}
