/**
 * Opens a better-sqlite3 database. `CHRONOS_SQLITE_NATIVE_BINDING`, when set,
 * is the path of a `better_sqlite3.node` to load instead of the one installed
 * with the package (better-sqlite3's `nativeBinding` option): the test run on
 * a second Node version uses it to load an addon built for that Node's ABI
 * without touching the one the main Node uses (scripts/test-all.sh).
 * better-sqlite3 itself loads here, on first open (better-sqlite.ts).
 */
import type Database from 'better-sqlite3';
import { loadBetterSqlite } from './better-sqlite.js';

export const NATIVE_BINDING_ENV = 'CHRONOS_SQLITE_NATIVE_BINDING';

export function openSqlite(filename: string, opts: Database.Options = {}): Database.Database {
  const nativeBinding = process.env[NATIVE_BINDING_ENV];
  const Sqlite = loadBetterSqlite();
  return new Sqlite(filename, nativeBinding ? { ...opts, nativeBinding } : opts);
}
