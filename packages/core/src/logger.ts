/** A minimal logger interface; pass your own (pino, winston, console) in config.logging.logger. */
export interface Logger {
  debug(msg: string, meta?: Record<string, unknown>): void;
  info(msg: string, meta?: Record<string, unknown>): void;
  warn(msg: string, meta?: Record<string, unknown>): void;
  error(msg: string, meta?: Record<string, unknown>): void;
}

const LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LEVELS)[number];

/** Wraps a logger so that levels below `level` are dropped and every message passes through `redact`. */
export function makeLogger(level: LogLevel = 'warn', sink?: Partial<Logger>, redact: (s: string) => string = (s) => s): Logger {
  const min = LEVELS.indexOf(level);
  const out = sink ?? console;
  const mk = (l: Exclude<LogLevel, 'silent'>) => (msg: string, meta?: Record<string, unknown>) => {
    if (LEVELS.indexOf(l) < min) return;
    const fn = (out as Partial<Logger>)[l];
    if (!fn) return;
    const safeMeta = meta ? JSON.parse(redact(JSON.stringify(meta))) : undefined;
    fn.call(out, `[chronos-db] ${redact(msg)}`, ...(safeMeta ? [safeMeta] : []));
  };
  return { debug: mk('debug'), info: mk('info'), warn: mk('warn'), error: mk('error') };
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
