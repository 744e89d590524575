/**
 * The one redaction module: config, logs, errors, health and describe results
 * all pass through it (router, storage-mongo, storage-s3, admin and chronos-db
 * call these functions; none has its own).
 *
 * Rules:
 * 1. Structure first. Values are walked (objects, arrays, errors); nothing is
 *    serialized and parsed again, so a secret such as "1000" next to a number
 *    10000, or a secret holding `"` or `\`, can neither break nor escape it.
 * 2. A key that names a secret (`secretKey`, `password`, `token`, ... see
 *    SECRET_KEYS) has its value replaced whole, at any length. Access keys
 *    (`accessKey`, `accessKeyId`) are masked to their first and last 4
 *    characters (entirely when shorter than 12).
 * 3. In every string (free text), each URI's password (the user-info up to the
 *    LAST '@' before the path, so a raw '@' or ':' in it is hidden whole) and
 *    secret query parameters are replaced, then every known secret in its raw,
 *    URL-decoded, URL-encoded and JSON-escaped forms.
 * 4. Short secrets in free text: a secret form of SHORT_SECRET_LENGTH (3)
 *    characters or more is replaced wherever it occurs. A 1- or 2-character one
 *    is replaced only where it stands alone (no letter or digit right before or
 *    after it): replacing every "a" or "7" of a message would make it unreadable
 *    and would hide nothing, since such a string inside a word says nothing
 *    about the secret. Rules 2 and 3 (structural positions, URI passwords) apply
 *    at every length.
 * 5. The mask is '***', or, when a secret contains '*', three of a character
 *    no secret contains, so a replacement can never form a secret with its
 *    neighbours and one pass leaves no occurrence.
 */

/** The default mask. */
export const REDACTED = '***';
/** Secrets (and their encoded forms) at least this long are replaced anywhere in free text; shorter ones where they stand alone. */
export const SHORT_SECRET_LENGTH = 3;

const norm = (k: string) => k.replace(/[-_\s]/g, '').toLowerCase();
/** Keys whose value is a secret, compared without case, '-' or '_'. */
export const SECRET_KEYS: ReadonlySet<string> = new Set(
  [
    'secret',
    'secretKey',
    'secretAccessKey',
    'password',
    'passwd',
    'pwd',
    'pass',
    'token',
    'accessToken',
    'refreshToken',
    'sessionToken',
    'apiKey',
    'authorization',
    'cookie',
    'privateKey',
    'credentials',
    'clientSecret',
  ].map(norm),
);
const ACCESS_KEYS: ReadonlySet<string> = new Set(['accessKey', 'accessKeyId'].map(norm));
const SECRET_PARAMS =
  /([?&](?:password|pass|pwd|secret|secretKey|sig|signature|X-Amz-Signature|X-Amz-Credential|X-Amz-Security-Token|token|access_token)=)[^&#\s]*/gi;

/** Whether a property name holds a secret (rule 2). */
export function isSecretKey(key: string): boolean {
  return SECRET_KEYS.has(norm(key));
}

/** 'DO1234567890ABCDEF' -> 'DO12…CDEF'. Keys shorter than 12 characters are masked entirely. */
export function maskAccessKey(accessKey: string | undefined): string {
  if (!accessKey) return '';
  if (accessKey.length < 12) return '****';
  return `${accessKey.slice(0, 4)}…${accessKey.slice(-4)}`;
}

interface UriParts {
  scheme: string;
  user: string;
  password: string | null;
  rest: string;
}

/** scheme://user[:password]@rest, the user-info ending at the LAST '@' before '?' or '#'. */
function splitUri(uri: string): UriParts | null {
  const m = /^([a-z][a-z0-9+.-]*:\/\/)(.*)$/is.exec(uri);
  if (!m) return null;
  const rest = m[2]!;
  const q = rest.search(/[?#]/);
  const at = (q === -1 ? rest : rest.slice(0, q)).lastIndexOf('@');
  if (at === -1) return null;
  const userinfo = rest.slice(0, at);
  const colon = userinfo.indexOf(':');
  return {
    scheme: m[1]!,
    user: colon === -1 ? userinfo : userinfo.slice(0, colon),
    password: colon === -1 ? null : userinfo.slice(colon + 1),
    rest: rest.slice(at + 1),
  };
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** The secrets a URI carries: its password, raw and URL-decoded. */
export function uriSecrets(uri: string | undefined | null): string[] {
  if (typeof uri !== 'string') return [];
  const p = splitUri(uri)?.password;
  if (!p) return [];
  const d = safeDecode(p);
  return d === p ? [p] : [p, d];
}

/** A URI with its password replaced by the mask and secret query parameters emptied. */
export function redactUri(uri: string, mask: string = REDACTED): string {
  const p = splitUri(uri);
  const out = p ? `${p.scheme}${p.user}${p.password !== null ? `:${mask}` : ''}@${p.rest}` : uri;
  return out.replace(SECRET_PARAMS, `$1${mask}`);
}

const URI_IN_TEXT = /[a-z][a-z0-9+.-]*:\/\/[^\s"'<>`]*/gi;
const ALNUM = /[\p{L}\p{N}]/u;

/** The forms of a secret that may appear in text: raw, URL-decoded, URL-encoded, JSON-escaped (and JSON-escaped URL forms). */
export function secretForms(secret: string): string[] {
  const out = new Set<string>();
  const add = (s: string) => {
    if (!s) return;
    out.add(s);
    out.add(JSON.stringify(s).slice(1, -1));
  };
  add(secret);
  add(safeDecode(secret));
  try {
    add(encodeURIComponent(secret));
    add(encodeURIComponent(safeDecode(secret)));
  } catch {
    /* lone surrogate: no encoded form */
  }
  return [...out];
}

export interface Redactor {
  /** The mask this redactor writes ('***' unless a secret contains '*'). */
  readonly mask: string;
  /** Free text: URI passwords and secret parameters, then every known secret form (rules 3 and 4). */
  text(s: string): string;
  /** Any value, walked structurally into plain data (rules 1-3). Functions are dropped, cycles become '[Circular]'. */
  value<T>(v: T): T;
  /** An error made safe in place (message, stack, details, cause chain); returned for `throw redactor.error(e)`. */
  error<E>(e: E): E;
}

const MASK_CHARS = ['*', '#', '~', '^', '_', '=', '+', '!', '?', '%', '$', '&', '§', '¤'];

function pickMask(forms: readonly string[]): string {
  if (!forms.some((f) => f.includes('*'))) return REDACTED;
  for (const c of MASK_CHARS) if (!forms.some((f) => f.includes(c))) return c.repeat(3);
  return '[REDACTED]';
}

function replaceStandalone(text: string, s: string, mask: string): string {
  let out = '';
  let from = 0;
  for (let i = text.indexOf(s); i !== -1; i = text.indexOf(s, i + 1)) {
    if (i < from) continue;
    const before = i > 0 ? text[i - 1]! : '';
    const after = text[i + s.length] ?? '';
    if ((before && ALNUM.test(before)) || (after && ALNUM.test(after))) continue;
    out += text.slice(from, i) + mask;
    from = i + s.length;
  }
  return out + text.slice(from);
}

/**
 * A redactor for a set of secrets (passwords, secret keys, tokens). Empty and
 * non-string entries are ignored. `accessKeys` are masked (not hidden) in text.
 */
export function createRedactor(secrets: Iterable<string | undefined | null>, opts: { accessKeys?: Iterable<string | undefined | null> } = {}): Redactor {
  const forms = new Set<string>();
  for (const s of secrets) if (typeof s === 'string' && s) for (const f of secretForms(s)) forms.add(f);
  const sorted = [...forms].sort((a, b) => b.length - a.length);
  const mask = pickMask(sorted);
  const long = sorted.filter((s) => s.length >= SHORT_SECRET_LENGTH);
  const short = sorted.filter((s) => s.length < SHORT_SECRET_LENGTH);
  const accessKeys = [...(opts.accessKeys ?? [])].filter((k): k is string => typeof k === 'string' && k.length >= 4 && !forms.has(k));

  const text = (input: string): string => {
    if (typeof input !== 'string') return input;
    let out = input.replace(URI_IN_TEXT, (u) => redactUri(u, mask));
    // Access keys first: a secret inside a masked access key is then still replaced.
    for (const k of accessKeys) out = out.split(k).join(maskAccessKey(k));
    for (const s of long) out = out.split(s).join(mask);
    // A replacement can make a neighbouring short secret stand alone: repeat until nothing changes
    // (each pass that changes something turns at least one non-mask character into mask).
    for (let prev = ''; short.length && prev !== out; ) {
      prev = out;
      for (const s of short) out = replaceStandalone(out, s, mask);
    }
    return out;
  };

  const walk = (v: unknown, key: string | null, seen: WeakSet<object>, depth: number): unknown => {
    if (key !== null && v !== undefined && v !== null) {
      const k = norm(key);
      if (SECRET_KEYS.has(k)) return mask;
      if (ACCESS_KEYS.has(k) && typeof v === 'string') return maskAccessKey(v);
    }
    if (typeof v === 'string') return text(v);
    if (v === null || typeof v !== 'object') return typeof v === 'function' || typeof v === 'symbol' ? undefined : v;
    if (seen.has(v)) return '[Circular]';
    if (depth > 32) return '[Too deep]';
    if (v instanceof Date) return new Date(v.getTime());
    if (ArrayBuffer.isView(v)) return `[binary ${v.byteLength} bytes]`;
    seen.add(v);
    try {
      if (Array.isArray(v)) return v.map((x) => walk(x, null, seen, depth + 1));
      const out: Record<string, unknown> = {};
      if (v instanceof Error) {
        out.name = v.name;
        out.message = text(v.message);
        const code = (v as { code?: unknown }).code;
        if (code !== undefined) out.code = walk(code, 'code', seen, depth + 1);
      }
      for (const [k, x] of Object.entries(v)) {
        if (v instanceof Error && (k === 'message' || k === 'name' || k === 'stack')) continue;
        const r = walk(x, k, seen, depth + 1);
        if (r !== undefined) out[k] = r;
      }
      return out;
    } finally {
      seen.delete(v);
    }
  };

  const error = <E>(e: E): E => {
    const seen = new Set<unknown>();
    for (let x: unknown = e; x && typeof x === 'object' && !seen.has(x); x = (x as { cause?: unknown }).cause) {
      seen.add(x);
      const err = x as { message?: unknown; stack?: unknown; details?: unknown };
      try {
        if (typeof err.message === 'string') err.message = text(err.message);
        if (typeof err.stack === 'string') err.stack = text(err.stack);
        if (err.details && typeof err.details === 'object') (err as { details?: unknown }).details = walk(err.details, null, new WeakSet(), 0);
      } catch {
        /* frozen error: nothing more can be done in place */
      }
    }
    return e;
  };

  return { mask, text, value: <T>(v: T) => walk(v, null, new WeakSet(), 0) as T, error };
}

/** Removes every secret a string may contain, given the secrets known to the config (rules 3-5). */
export function redactSecrets(text: string, secrets: Iterable<string>): string {
  return createRedactor(secrets).text(text);
}
