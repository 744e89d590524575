/**
 * Finding and reading the config: `chronos.config.{json,yaml,yml,mjs,js,ts}`
 * searched from the working directory upward (lilconfig), or `--config` /
 * `CHRONOS_CONFIG`; a `.env` beside it (dotenv, never overriding the
 * environment); `${VAR}` and `${VAR:-default}` expanded in every string value
 * (an unset variable is an error naming the variable and the key, never a
 * value); a relative `localStorage.basePath` / `fallback.localPath` resolved
 * against the config file's folder; the CLI's own `defaults` block taken out
 * before the rest goes to `initChronos`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ChronosConfig } from 'chronos-db';
import { CliError, EXIT } from './errors.js';

export const SEARCH_PLACES = [
  'chronos.config.json',
  'chronos.config.yaml',
  'chronos.config.yml',
  'chronos.config.mjs',
  'chronos.config.js',
  'chronos.config.ts',
];

export interface CliDefaults {
  db?: string;
  key?: string;
  tenant?: string;
  collection?: string;
}

export interface LoadedConfig {
  /** Absolute path of the config file. */
  file: string;
  config: ChronosConfig;
  defaults: CliDefaults;
  /** Strings to hide from every message (secret keys, access keys, URI credentials). */
  secrets: string[];
}

const configError = (file: string, problem: string) => new CliError(`config ${file}: ${problem}`, EXIT.usage);

/** Line and column of a character offset. */
function lineCol(text: string, pos: number): string {
  const before = text.slice(0, pos).split('\n');
  return `line ${before.length}, column ${before[before.length - 1]!.length + 1}`;
}

async function parseFile(file: string): Promise<unknown> {
  const ext = file.slice(file.lastIndexOf('.'));
  if (ext === '.json' || ext === '.yaml' || ext === '.yml') {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw configError(file, `cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    if (ext === '.json') {
      try {
        return JSON.parse(text);
      } catch (e) {
        // the engine's message may quote the file's text (a secret): say only where
        const m = /position (\d+)/.exec((e as Error).message);
        throw configError(file, `invalid JSON${m ? ` at ${lineCol(text, Number(m[1]))}` : ''}`);
      }
    }
    const { parse, YAMLParseError } = await import('yaml');
    try {
      return parse(text);
    } catch (e) {
      if (e instanceof YAMLParseError) {
        const p = e.linePos?.[0];
        throw configError(file, `invalid YAML${p ? ` at line ${p.line}, column ${p.col}` : ''} (${e.code})`);
      }
      throw configError(file, 'invalid YAML');
    }
  }
  try {
    // jiti for every module config: TypeScript is transformed, ESM and CommonJS load natively
    // (a real import(), which the CLI's CommonJS build could not express itself)
    const { createJiti } = await import('jiti');
    const ts = ext === '.ts' || ext === '.mts' || ext === '.cts';
    const mod = (await createJiti(pathToFileURL(file).href, { interopDefault: true, tryNative: !ts }).import(file)) as {
      default?: unknown;
      config?: unknown;
    };
    return mod?.default ?? mod?.config ?? mod;
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw new CliError(`config ${file}: the module failed to load (${(e as Error).name})`, EXIT.usage, { cause: e });
  }
}

/** `${VAR}` / `${VAR:-default}` in every string, recursively. */
export function expandEnv(v: unknown, env: NodeJS.ProcessEnv, file: string, path = ''): unknown {
  if (typeof v === 'string') {
    return v.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g, (_m, name: string, def: string | undefined) => {
      const val = env[name];
      if (val !== undefined && val !== '') return val;
      if (def !== undefined) return def;
      throw configError(file, `\${${name}} in ${path || 'the config'} is not set (set it in the environment or in ${join(dirname(file), '.env')})`);
    });
  }
  if (Array.isArray(v)) return v.map((x, i) => expandEnv(x, env, file, `${path}[${i}]`));
  if (v && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = expandEnv(x, env, file, path ? `${path}.${k}` : k);
    return out;
  }
  return v;
}

async function findConfig(cwd: string): Promise<string | undefined> {
  const { lilconfig } = await import('lilconfig');
  // lilconfig finds the file; reading it (JSON, YAML, modules) is parseFile's, with errors that never quote it
  const found = await lilconfig('chronos', {
    searchPlaces: SEARCH_PLACES,
    stopDir: '/',
    loaders: Object.fromEntries(['.json', '.yaml', '.yml', '.mjs', '.js', '.ts'].map((e) => [e, () => ({})])),
  }).search(cwd);
  return found?.filepath;
}

/** Secrets of a config, to hide from messages: S3 keys and MongoDB URI credentials. */
export function secretsOf(cfg: unknown): string[] {
  const out: string[] = [];
  const walk = (v: unknown, key: string) => {
    if (typeof v === 'string') {
      if ((key === 'secretKey' || key === 'accessKey') && v.length >= 4) out.push(v);
      const m = /^mongodb(?:\+srv)?:\/\/([^@/]+)@/.exec(v);
      if (m) {
        const cred = m[1]!;
        out.push(cred);
        const pw = cred.split(':')[1];
        if (pw) {
          out.push(pw);
          try {
            out.push(decodeURIComponent(pw));
          } catch {}
        }
      }
    } else if (Array.isArray(v)) v.forEach((x) => walk(x, key));
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, k);
  };
  walk(cfg, '');
  return [...new Set(out.filter((s) => s.length >= 3))].sort((a, b) => b.length - a.length);
}

export async function loadConfig(opts: { config?: string | undefined; cwd: string; env: NodeJS.ProcessEnv }): Promise<LoadedConfig> {
  const given = opts.config ?? opts.env.CHRONOS_CONFIG;
  let file: string | undefined;
  if (given) {
    file = resolve(opts.cwd, given);
    if (!existsSync(file)) throw new CliError(`config file not found: ${file}`, EXIT.usage);
  } else {
    file = await findConfig(opts.cwd);
    if (!file)
      throw new CliError(
        `no config found: looked for chronos.config.{json,yaml,yml,mjs,js,ts} in ${opts.cwd} and every folder above it (run 'chronos init', or pass --config)`,
        EXIT.usage,
      );
  }
  const envFile = join(dirname(file), '.env');
  if (existsSync(envFile)) {
    const { parse } = await import('dotenv');
    let parsed: Record<string, string>;
    try {
      parsed = parse(readFileSync(envFile));
    } catch {
      throw new CliError(`${envFile} cannot be read`, EXIT.usage);
    }
    for (const [k, v] of Object.entries(parsed)) if (opts.env[k] === undefined) opts.env[k] = v;
  }
  const raw = await parseFile(file);
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw configError(file, 'must hold an object (the initChronos config)');
  const expanded = expandEnv(raw, opts.env, file) as Record<string, unknown>;
  const { defaults = {}, ...config } = expanded as { defaults?: unknown } & Record<string, unknown>;
  if (!defaults || typeof defaults !== 'object' || Array.isArray(defaults))
    throw configError(file, 'defaults must be an object { db?, key?, tenant?, collection? }');
  for (const [k, v] of Object.entries(defaults)) {
    if (!['db', 'key', 'tenant', 'collection'].includes(k))
      throw configError(file, `defaults.${k.slice(0, 40)}: unknown key (use db, key, tenant, collection)`);
    if (typeof v !== 'string' || !v) throw configError(file, `defaults.${k}: must be a non-empty string`);
  }
  const dir = dirname(file);
  const ls = config.localStorage as { basePath?: unknown } | undefined;
  if (ls && typeof ls.basePath === 'string' && !isAbsolute(ls.basePath)) config.localStorage = { ...ls, basePath: resolve(dir, ls.basePath) };
  const fb = config.fallback as { localPath?: unknown } | undefined;
  if (fb && typeof fb.localPath === 'string' && !isAbsolute(fb.localPath)) config.fallback = { ...fb, localPath: resolve(dir, fb.localPath) };
  return { file, config: config as ChronosConfig, defaults: defaults as CliDefaults, secrets: secretsOf(config) };
}
