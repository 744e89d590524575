/**
 * The configuration accepted by `initChronos`: the seed's shape exactly.
 * Validation reports every problem with its path and never echoes a value
 * (a secret can never leak through an error message).
 */
import { z } from 'zod';
import { ConfigError, type ConfigIssue } from './errors.js';
import { compileFilter } from './filter.js';
import { createRedactor, uriSecrets, type Redactor } from './redact.js';
import { FIELD_PATH_RE } from './port-rules.js';

const BUCKET_RE = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const KEY_RE = /^[A-Za-z0-9_-]{1,128}$/;
const NAME_RE = /^[A-Za-z0-9_-]{1,63}$/;

const nonEmpty = z.string().min(1, 'must be a non-empty string');
const bucket = z
  .string()
  .regex(BUCKET_RE, 'is not a valid bucket name (3-63 lowercase letters, digits, dots, hyphens)')
  .refine((b) => !b.includes('..') && !/^\d+\.\d+\.\d+\.\d+$/.test(b), 'is not a valid bucket name');

const mongoUri = z
  .string()
  .min(1, 'must be a non-empty string')
  .refine((u) => /^mongodb(\+srv)?:\/\/[^\s]+$/.test(u), 'must be a mongodb:// or mongodb+srv:// URI');

const connection = z
  .object({
    key: z.string().regex(KEY_RE, "must be 1-128 letters, digits, '_' or '-'"),
    mongoUri,
    dbName: z.string().regex(NAME_RE, "must be 1-63 letters, digits, '_' or '-'"),
    extIdentifier: z.string().regex(KEY_RE, "must be 1-128 letters, digits, '_' or '-'").optional(),
    /** Index of the spacesConns entry (or its jsonBucket name) this backend stores payloads in. */
    spacesConn: z.union([z.number().int().nonnegative(), z.string().min(1)]).optional(),
  })
  .strict();

const tiers = z
  .object({
    generic: connection.optional(),
    domains: z.array(connection).optional(),
    tenants: z.array(connection).optional(),
  })
  .strict();

const spacesConn = z
  .object({
    endpoint: z
      .string()
      .min(1, 'must be a non-empty string')
      .refine((e) => {
        try {
          const u = new URL(e);
          return (u.protocol === 'https:' || u.protocol === 'http:') && !!u.hostname && !u.username && !u.password;
        } catch {
          return false;
        }
      }, 'must be an http(s) URL without credentials, e.g. https://fra1.digitaloceanspaces.com'),
    region: nonEmpty,
    accessKey: z
      .string({
        required_error: 'is required (set it, e.g. from DO_SPACES_ACCESS_KEY)',
        invalid_type_error: 'is required (set it, e.g. from DO_SPACES_ACCESS_KEY)',
      })
      .min(1, 'is required'),
    secretKey: z
      .string({
        required_error: 'is required (set it, e.g. from DO_SPACES_SECRET_KEY)',
        invalid_type_error: 'is required (set it, e.g. from DO_SPACES_SECRET_KEY)',
      })
      .min(1, 'is required'),
    jsonBucket: bucket,
    contentBucket: bucket,
    backupsBucket: bucket,
    forcePathStyle: z.boolean().optional(),
    /** Concurrent HTTP connections per space (DigitalOcean allows up to 100). */
    maxConnections: z.number().int().min(1).max(100).optional(),
    /** Per-request deadline in ms. */
    requestTimeoutMs: z.number().int().min(100).max(600_000).optional(),
    maxAttempts: z.number().int().min(1).max(10).optional(),
  })
  .strict();

const positiveInt = z.number({ invalid_type_error: 'must be a positive integer' }).int('must be a positive integer').positive('must be a positive integer');

/** Duration units of `maxAge` strings: `'90d'`, `'12h'`, `'2w'`, `'30m'`, `'45s'`, `'500ms'`. */
export const DURATION_UNITS_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const DURATION_RE = /^(\d{1,12})(ms|s|m|h|d|w)$/;

/** Milliseconds of a duration: a positive number of ms, or `'<n><unit>'` with a unit of DURATION_UNITS_MS. Undefined when invalid. */
export function durationMs(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isSafeInteger(v) && v > 0 ? v : undefined;
  if (typeof v !== 'string') return undefined;
  const m = DURATION_RE.exec(v.trim());
  if (!m) return undefined;
  const ms = Number(m[1]) * DURATION_UNITS_MS[m[2]!]!;
  return ms > 0 && Number.isSafeInteger(ms) ? ms : undefined;
}

const duration = z.custom<number | string>((v) => durationMs(v) !== undefined, {
  message: "must be a positive duration: milliseconds (a positive integer) or '<n><unit>' with unit ms, s, m, h, d or w (e.g. '90d')",
});

/** How long versions are kept in the version index (older ones move to manifests: rollupNow, pruneNow). */
const versionRetention = z.object({
  /** Versions older than this are removed from the index (the newest version of a record never is). */
  maxAge: duration.optional(),
  /** At most this many newest versions of each record stay in the index. */
  maxVersions: positiveInt.optional(),
});

const base64Prop = z
  .object({
    contentType: nonEmpty,
    preferredText: z.boolean().optional(),
    textCharset: z.enum(['utf-8', 'utf8', 'latin1', 'ascii', 'utf16le']).optional(),
  })
  .strict();

const filterSchema = z.record(z.unknown()).superRefine((f, ctx) => {
  try {
    compileFilter(f);
  } catch (e) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: (e as Error).message });
  }
});

export const configSchema = z
  .object({
    databases: z.object({ metadata: tiers.optional(), knowledge: tiers.optional(), runtime: tiers.optional() }).strict().optional(),
    spacesConns: z.array(spacesConn).optional(),
    localStorage: z.object({ enabled: z.boolean(), basePath: nonEmpty }).strict().optional(),
    counters: z
      .object({ mongoUri, dbName: z.string().regex(NAME_RE, "must be 1-63 letters, digits, '_' or '-'") })
      .strict()
      .optional(),
    routing: z
      .object({
        hashAlgo: z.enum(['rendezvous', 'jump']),
        chooseKey: z.string().min(1).optional(),
        /** How long a process trusts a hashed context's cached placement (ms). Every process of a deployment must agree. */
        placementLeaseMs: z.number().int().min(50).max(600_000).optional(),
        /** How long a write to a context being moved by rebalance waits before a retriable StorageError (ms). */
        placementWaitMs: z.number().int().min(0).max(600_000).optional(),
      })
      .strict()
      .optional(),
    retention: z
      .object({
        ver: versionRetention
          .extend({
            /** @deprecated since 0.2: use `maxAge` (a number of days here, e.g. `days: 30` is `maxAge: '30d'`). */
            days: positiveInt.optional(),
            /** @deprecated since 0.2: use `maxVersions`. */
            maxPerItem: positiveInt.optional(),
          })
          .strict()
          .optional(),
        counters: z
          .object({ days: positiveInt.optional(), weeks: positiveInt.optional(), months: positiveInt.optional() })
          .strict()
          .refine((c) => c.days === undefined && c.weeks === undefined && c.months === undefined, {
            message: 'counter totals keep no per-period history to expire in this version: leave retention.counters empty (or remove it)',
          })
          .optional(),
      })
      .strict()
      .optional(),
    rollup: z
      .object({ enabled: z.boolean().optional(), manifestPeriod: z.enum(['daily', 'weekly', 'monthly']).optional() })
      .strict()
      .optional(),
    collectionMaps: z
      .record(
        z
          .object({
            indexedProps: z.array(z.string().min(1)),
            base64Props: z.record(base64Prop).optional(),
            validation: z
              .object({ requiredIndexed: z.array(z.string().min(1)).optional() })
              .strict()
              .optional(),
            /** This collection's version retention (replaces `retention.ver` for it). */
            versionRetention: versionRetention.strict().optional(),
          })
          .strict(),
      )
      .optional(),
    counterRules: z
      .object({
        rules: z.array(
          z
            .object({
              name: z.string().regex(KEY_RE, "must be 1-128 letters, digits, '_' or '-'"),
              on: z.array(z.enum(['CREATE', 'UPDATE', 'DELETE'])).optional(),
              scope: z.enum(['meta', 'payload']).optional(),
              when: filterSchema,
            })
            .strict(),
        ),
      })
      .strict()
      .optional(),
    devShadow: z.object({ enabled: z.boolean(), ttlHours: z.number().positive(), maxBytesPerDoc: z.number().int().positive().optional() }).strict().optional(),
    hardDeleteEnabled: z.boolean().optional(),
    fallback: z
      .object({
        enabled: z.boolean(),
        maxAttempts: z.number().int().min(1, 'must be a positive integer').max(1000),
        baseDelayMs: z.number().int().min(1, 'must be a positive integer'),
        maxDelayMs: z.number().int().min(1, 'must be a positive integer'),
        deadLetterCollection: z.string().regex(/^[A-Za-z][A-Za-z0-9_-]{0,63}$/, "must be 1-64 letters, digits, '_' or '-', starting with a letter"),
        /** Folder of the local queue journal (default: `queue` under localStorage.basePath, else ./.chronos/queue). */
        localPath: nonEmpty.optional(),
        /** A MongoDB (on another server than the backends) to keep the queue in, instead of the local journal. */
        mongoUri: mongoUri.optional(),
        dbName: z.string().regex(NAME_RE, "must be 1-63 letters, digits, '_' or '-'").optional(),
      })
      .strict()
      .optional(),
    /**
     * Opt-in: without `enabled: true` no transactions are used (the version insert is the commit
     * point everywhere). `enabled: true` needs a replica set or mongos; `autoDetect: true` (only
     * with `enabled: true`) uses them where the server offers them and the insert protocol elsewhere.
     */
    transactions: z
      .object({ enabled: z.boolean().optional(), autoDetect: z.boolean().optional() })
      .strict()
      .refine((t) => !(t.autoDetect === true && t.enabled !== true), {
        message: 'autoDetect applies only with enabled: true (transactions are opt-in)',
        path: ['autoDetect'],
      })
      .optional(),
    logging: z
      .object({
        level: z.enum(['debug', 'info', 'warn', 'error', 'silent']).optional(),
        logger: z.any().optional(),
      })
      .strict()
      .optional(),
    /** Largest accepted JSON payload in bytes (default 16 MiB). */
    maxPayloadBytes: z.number().int().positive().optional(),
    /** Deadline for one storage operation, ms (default 30 s). */
    operationTimeoutMs: z.number().int().positive().optional(),
  })
  .strict();

export type ChronosConfig = z.input<typeof configSchema>;
export type ParsedConfig = z.output<typeof configSchema>;
export type DbConnection = z.output<typeof connection>;
export type SpacesConnConfig = z.output<typeof spacesConn>;
export type CollectionMap = NonNullable<ParsedConfig['collectionMaps']>[string];
export type CounterRule = NonNullable<ParsedConfig['counterRules']>['rules'][number];
export type DevShadowConfig = NonNullable<ParsedConfig['devShadow']>;
export type FallbackConfig = NonNullable<ParsedConfig['fallback']>;
export type DatabaseType = 'metadata' | 'knowledge' | 'runtime';

function pathOf(p: (string | number)[]): string {
  return p.map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? s : `.${s}`)).join('');
}

/** Validates a config object. Throws ConfigError listing every problem; never echoes a value. */
export function parseConfig(input: unknown): ParsedConfig {
  const r = configSchema.safeParse(input);
  const issues: ConfigIssue[] = [];
  if (!r.success) {
    for (const i of r.error.issues) {
      let message = i.message;
      if (i.code === 'unrecognized_keys') message = `unknown key(s): ${i.keys.map((k) => `'${k.slice(0, 40)}'`).join(', ')}`;
      else if (i.code === 'invalid_type')
        message = i.received === 'undefined' ? (message.startsWith('is required') ? message : 'is required') : `expected ${i.expected}, got ${i.received}`;
      else if (i.code === 'invalid_enum_value') message = `must be one of ${i.options.map((o) => `'${String(o)}'`).join(', ')}`;
      issues.push({ path: pathOf(i.path), message: message.replace(/^String /, '') });
    }
    throw new ConfigError(issues);
  }
  const cfg = r.data;
  const hasDbs = !!cfg.databases && Object.values(cfg.databases).some((t) => t && (t.generic || t.domains?.length || t.tenants?.length));
  if (!hasDbs && !cfg.localStorage?.enabled) {
    issues.push({
      path: 'databases',
      message: 'configure at least one Mongo backend in databases, or localStorage: { enabled: true, basePath } for the embedded default',
    });
  }
  if (hasDbs && !cfg.spacesConns?.length && !cfg.localStorage?.enabled) {
    issues.push({ path: 'spacesConns', message: 'Mongo backends need payload storage: give spacesConns, or localStorage: { enabled: true, basePath }' });
  }
  for (const [name, map] of Object.entries(cfg.collectionMaps ?? {})) {
    if (!/^[A-Za-z][A-Za-z0-9_-]{0,63}$/.test(name)) issues.push({ path: `collectionMaps.${name.slice(0, 64)}`, message: 'is not a valid collection name' });
    for (const p of Object.keys(map.base64Props ?? {})) {
      if (!FIELD_PATH_RE.test(p)) issues.push({ path: `collectionMaps.${name}.base64Props.${p.slice(0, 64)}`, message: 'is not a valid property path' });
    }
  }
  const fb = cfg.fallback;
  if (fb) {
    if (fb.maxDelayMs < fb.baseDelayMs) issues.push({ path: 'fallback.maxDelayMs', message: 'must be at least fallback.baseDelayMs' });
    if ((fb.mongoUri === undefined) !== (fb.dbName === undefined))
      issues.push({ path: fb.mongoUri === undefined ? 'fallback.mongoUri' : 'fallback.dbName', message: 'fallback.mongoUri and fallback.dbName go together' });
    if (fb.mongoUri !== undefined && fb.localPath !== undefined)
      issues.push({ path: 'fallback.localPath', message: 'give fallback.localPath (local journal) or fallback.mongoUri (a MongoDB queue), not both' });
  }
  const ver = cfg.retention?.ver;
  if (ver?.days !== undefined && ver.maxAge !== undefined)
    issues.push({ path: 'retention.ver.days', message: 'give retention.ver.maxAge or the deprecated retention.ver.days, not both' });
  if (ver?.maxPerItem !== undefined && ver.maxVersions !== undefined)
    issues.push({ path: 'retention.ver.maxPerItem', message: 'give retention.ver.maxVersions or the deprecated retention.ver.maxPerItem, not both' });
  if (cfg.rollup?.enabled === false && (hasRetention(ver) || Object.values(cfg.collectionMaps ?? {}).some((m) => hasRetention(m.versionRetention))))
    issues.push({ path: 'rollup.enabled', message: 'version retention moves old versions to manifests: it needs rollup (remove rollup.enabled: false)' });
  const ruleNames = new Set<string>();
  cfg.counterRules?.rules.forEach((rule, i) => {
    if (ruleNames.has(rule.name)) issues.push({ path: `counterRules.rules[${i}].name`, message: `duplicate rule name '${rule.name}'` });
    ruleNames.add(rule.name);
  });
  if (issues.length) throw new ConfigError(issues);
  return cfg;
}

const hasRetention = (r: { maxAge?: unknown; maxVersions?: unknown; days?: unknown; maxPerItem?: unknown } | undefined) =>
  !!r && (r.maxAge !== undefined || r.maxVersions !== undefined || r.days !== undefined || r.maxPerItem !== undefined);

/** The version retention of one collection, resolved: its own `versionRetention`, else `retention.ver` (deprecated spellings mapped). */
export interface ResolvedRetention {
  /** Versions committed more than this many ms ago leave the index. */
  maxAgeMs?: number;
  /** The newest this many versions of a record stay in the index. */
  maxVersions?: number;
}

/** The retention that applies to `collection`, or undefined when none does (nothing is ever pruned). */
export function versionRetentionOf(cfg: ParsedConfig, collection: string): ResolvedRetention | undefined {
  const own = cfg.collectionMaps?.[collection]?.versionRetention;
  const r = own ?? cfg.retention?.ver;
  if (!hasRetention(r)) return undefined;
  const ver = r as { maxAge?: number | string; maxVersions?: number; days?: number; maxPerItem?: number };
  const out: ResolvedRetention = {};
  const age = ver.maxAge !== undefined ? durationMs(ver.maxAge) : ver.days !== undefined ? ver.days * DURATION_UNITS_MS.d! : undefined;
  if (age !== undefined) out.maxAgeMs = age;
  const n = ver.maxVersions ?? ver.maxPerItem;
  if (n !== undefined) out.maxVersions = n;
  return out;
}

/** The deprecated config spellings a config uses (`retention.ver.days`, `retention.ver.maxPerItem`), for a warning. */
export function deprecatedKeys(cfg: ParsedConfig): string[] {
  const out: string[] = [];
  if (cfg.retention?.ver?.days !== undefined) out.push("retention.ver.days (use retention.ver.maxAge, e.g. '30d')");
  if (cfg.retention?.ver?.maxPerItem !== undefined) out.push('retention.ver.maxPerItem (use retention.ver.maxVersions)');
  return out;
}

/** Every secret value in a parsed config (S3 secret keys, Mongo URI passwords raw and decoded), for redaction of messages from drivers. */
export function configSecrets(cfg: ParsedConfig): string[] {
  const out: string[] = [];
  for (const c of cfg.spacesConns ?? []) out.push(c.secretKey);
  for (const t of Object.values(cfg.databases ?? {})) {
    if (!t) continue;
    for (const c of [t.generic, ...(t.domains ?? []), ...(t.tenants ?? [])]) if (c) out.push(...uriSecrets(c.mongoUri));
  }
  if (cfg.counters) out.push(...uriSecrets(cfg.counters.mongoUri));
  if (cfg.fallback?.mongoUri) out.push(...uriSecrets(cfg.fallback.mongoUri));
  return out;
}

/** The redactor of a config: its secrets hidden, its access keys masked. */
export function configRedactor(cfg: ParsedConfig): Redactor {
  return createRedactor(configSecrets(cfg), { accessKeys: (cfg.spacesConns ?? []).map((c) => c.accessKey) });
}

/**
 * The config as `chronos.config` shows it: walked structurally (never
 * serialized and parsed), secret keys and URI passwords replaced, access keys
 * masked, `logging.logger` left out.
 */
export function redactConfig(cfg: ParsedConfig, redactor: Redactor = configRedactor(cfg)): ParsedConfig {
  const { logging, ...rest } = cfg;
  const out = redactor.value(rest) as ParsedConfig;
  if (logging) {
    const { logger, ...l } = logging;
    void logger;
    out.logging = redactor.value(l);
  }
  return out;
}
