/** What a test's store folder holds, to prove a call wrote nothing: files with sizes, and SQLite row counts. */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';

const SQLITE = /\.(sqlite|db)(-wal|-shm|-journal)?$/;

/** Every file under `dir` except SQLite files (and their WAL/SHM/journal), as `<path>:<size>`, sorted. */
export function files(dir: string): string[] {
  const out: string[] = [];
  walk(dir, (p, name) => {
    if (!SQLITE.test(name)) out.push(`${p}:${statSync(p).size}`);
  });
  return out.sort();
}

/** Row counts of every table of every SQLite file under `dir`, as `<file>.<table>` -> count. */
export function rows(dir: string): Record<string, number> {
  const out: Record<string, number> = {};
  walk(dir, (p, name) => {
    if (!/\.(sqlite|db)$/.test(name)) return;
    const db = new Database(p, { readonly: true, fileMustExist: true });
    try {
      for (const t of db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>) {
        out[`${name}.${t.name}`] = (db.prepare(`SELECT count(*) AS n FROM "${t.name}"`).get() as { n: number }).n;
      }
    } finally {
      db.close();
    }
  });
  return out;
}

function walk(d: string, visit: (path: string, name: string) => void): void {
  for (const e of readdirSync(d, { withFileTypes: true })) {
    const p = join(d, e.name);
    if (e.isDirectory()) walk(p, visit);
    else visit(p, e.name);
  }
}
