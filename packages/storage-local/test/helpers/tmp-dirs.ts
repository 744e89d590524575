/** Temporary folders for jest test files (storage-local's and chronos-db's). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A maker of fresh temporary folders named `<prefix>XXXXXX`, every one removed by an afterAll
 * registered where this is called (the file, or the describe block it is called in).
 */
export function tmpDirs(prefix: string): () => string {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  return () => {
    const d = mkdtempSync(join(tmpdir(), prefix));
    dirs.push(d);
    return d;
  };
}
