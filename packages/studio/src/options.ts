/**
 * `startStudio` options: their types and their checks. Every option is used or refused: an
 * unknown key, a bad port, an empty context list or a collection name the engine would refuse
 * is a ValidationError before anything listens.
 */
import { ValidationError, assertCollection } from '@chronos-db/core';
import type { Chronos, ChronosConfig, ContextInput } from 'chronos-db';

/** One context the studio shows: a context form of `chronos.with` (without `collection`) and the collections to browse in it. */
export type StudioContext = (
  | { key: string; tenantId?: string }
  | { databaseType: 'metadata' | 'knowledge' | 'runtime'; tier: 'generic' | 'domain' | 'tenant'; extIdentifier?: string; tenantId?: string }
  | { dbName: string; tenantId?: string }
) & {
  /** The collections of this context the page lists (at least one). */
  collections: string[];
  /** Shown instead of the generated name ('myapp · tenant t1'). */
  label?: string;
};

export interface StudioOptions {
  /** An open instance (`initChronos(config)`); the studio never shuts it down. */
  chronos: Chronos<unknown>;
  /** What the page lists: contexts and their collections. A page only ever reads through these. */
  contexts: StudioContext[];
  /** Default 4400; 0 picks a free port. */
  port?: number;
  /** Default '127.0.0.1'. Any other address is reachable from elsewhere: the studio warns. */
  host?: string;
  /** Show "restore to this version" (a POST with the CSRF token and the head ov the page saw). Default false: read-only. */
  allowRestore?: boolean;
  /** The config the instance was built from: its secrets (S3 secret keys, URI passwords) are then hidden wherever they occur in what the page shows. */
  config?: ChronosConfig;
  /** Where the warning about a non-loopback host goes. Default: stderr. */
  warn?: (message: string) => void;
  /** Actor written on a restore made from the page. Default 'chronos-studio'. */
  actor?: string;
}

export interface Studio {
  /** `http://127.0.0.1:4400/<token>/`: the only URL that opens the page. */
  readonly url: string;
  /** The random access token (also inside `url`). */
  readonly token: string;
  readonly port: number;
  readonly host: string;
  /** Stops listening, ends the live feeds and open connections. The chronos instance stays open. */
  close(): Promise<void>;
}

export interface CheckedContext {
  index: number;
  label: string;
  /** The context without its collection (`{ ...base, collection }` is what `chronos.with` gets). */
  base: Record<string, unknown>;
  collections: string[];
}

const KNOWN = new Set(['chronos', 'contexts', 'port', 'host', 'allowRestore', 'config', 'warn', 'actor']);
const CTX_KEYS = new Set(['key', 'databaseType', 'tier', 'extIdentifier', 'dbName', 'tenantId', 'collections', 'label']);

const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1|localhost)$/i;
export const isLoopback = (host: string) => LOOPBACK.test(host);

function labelOf(c: Record<string, unknown>): string {
  const where =
    c.key !== undefined
      ? `key ${String(c.key)}`
      : c.dbName !== undefined
        ? String(c.dbName)
        : [c.databaseType, c.tier, c.extIdentifier].filter((x) => x !== undefined).join('/');
  return c.tenantId !== undefined ? `${where} · tenant ${String(c.tenantId)}` : where;
}

export function checkOptions(o: StudioOptions): {
  chronos: Chronos<unknown>;
  contexts: CheckedContext[];
  port: number;
  host: string;
  allowRestore: boolean;
  actor: string;
} {
  if (!o || typeof o !== 'object') throw new ValidationError('startStudio takes { chronos, contexts, port?, host?, allowRestore? }');
  for (const k of Object.keys(o))
    if (!KNOWN.has(k)) throw new ValidationError(`startStudio: unknown option '${k.slice(0, 40)}' (allowed: ${[...KNOWN].join(', ')})`);
  if (!o.chronos || typeof o.chronos.with !== 'function') throw new ValidationError('startStudio: chronos must be an instance from initChronos(config)');
  const port = o.port ?? 4400;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ValidationError('startStudio: port must be an integer from 0 to 65535');
  const host = o.host ?? '127.0.0.1';
  if (typeof host !== 'string' || !/^[A-Za-z0-9.:_-]{1,253}$/.test(host)) throw new ValidationError('startStudio: host must be a host name or an IP address');
  if (o.allowRestore !== undefined && typeof o.allowRestore !== 'boolean') throw new ValidationError('startStudio: allowRestore must be a boolean');
  if (o.warn !== undefined && typeof o.warn !== 'function') throw new ValidationError('startStudio: warn must be a function');
  const actor = o.actor ?? 'chronos-studio';
  if (typeof actor !== 'string' || actor.length === 0 || actor.length > 200)
    throw new ValidationError('startStudio: actor must be a string of 1-200 characters');
  if (!Array.isArray(o.contexts) || o.contexts.length === 0)
    throw new ValidationError('startStudio: contexts must be a non-empty array of { ...context, collections }');
  const contexts = o.contexts.map((raw, index): CheckedContext => {
    if (!raw || typeof raw !== 'object') throw new ValidationError(`startStudio: contexts[${index}] must be an object`);
    for (const k of Object.keys(raw))
      if (!CTX_KEYS.has(k)) throw new ValidationError(`startStudio: contexts[${index}]: unknown key '${k.slice(0, 40)}' (a context and its collections)`);
    const { collections, label, ...base } = raw as StudioContext & Record<string, unknown>;
    if (!Array.isArray(collections) || collections.length === 0)
      throw new ValidationError(`startStudio: contexts[${index}].collections must be a non-empty array`);
    for (const c of collections) assertCollection(c);
    if (new Set(collections).size !== collections.length) throw new ValidationError(`startStudio: contexts[${index}].collections has a duplicate`);
    if (label !== undefined && (typeof label !== 'string' || label.length > 200))
      throw new ValidationError(`startStudio: contexts[${index}].label must be a string`);
    // resolves the context now (no I/O): a context the router refuses fails here, not on the page
    for (const c of collections) o.chronos.with({ ...base, collection: c } as ContextInput);
    return { index, label: label ?? labelOf(base), base, collections: [...collections] };
  });
  return { chronos: o.chronos, contexts, port, host, allowRestore: o.allowRestore === true, actor };
}
