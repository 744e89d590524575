/**
 * better-sqlite3 is an optional peer dependency: it is loaded the first time
 * a SQLite store opens, never at import, so a process that only imports this
 * package (chronos-db on MongoDB + S3) neither needs nor loads the native
 * module. Missing, it is a ConfigError that names what to install.
 *
 * `require` is CommonJS's in the CJS build and under jest; the ESM build
 * (where `__filename` is undefined) makes one with createRequire.
 */
import { createRequire } from 'node:module';
import { ConfigError, StorageError } from '@chronos-db/core';
import type BetterSqlite3 from 'better-sqlite3';

const nodeRequire: NodeRequire = typeof __filename === 'string' ? require : createRequire(import.meta.url);

let loaded: typeof BetterSqlite3 | undefined;

/** Whether better-sqlite3 can be resolved from here (without loading it). */
export function hasBetterSqlite(): boolean {
  if (loaded) return true;
  try {
    nodeRequire.resolve('better-sqlite3');
    return true;
  } catch {
    return false;
  }
}

/** The better-sqlite3 constructor, loaded on first use. */
export function loadBetterSqlite(): typeof BetterSqlite3 {
  if (loaded) return loaded;
  try {
    loaded = nodeRequire('better-sqlite3') as typeof BetterSqlite3;
    return loaded;
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (code === 'MODULE_NOT_FOUND' && /better-sqlite3/.test((e as Error).message)) throw missingBetterSqlite();
    throw new StorageError(
      `better-sqlite3 is installed but could not be loaded (${String(code ?? (e as Error).message)}); rebuild it for this Node version: npm rebuild better-sqlite3`,
      undefined,
      { cause: e },
    );
  }
}

export function missingBetterSqlite(): ConfigError {
  return new ConfigError([
    {
      path: 'localStorage',
      message: "the embedded store (SQLite) needs the optional package 'better-sqlite3': npm install better-sqlite3@^12",
    },
  ]);
}
