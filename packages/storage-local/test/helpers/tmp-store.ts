/** What the storage-local test files that run the testkit suites (under jest and node:test) share. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A testkit factory: a store opened in a fresh temporary folder; at teardown it is closed and the folder removed. */
export function tmpStore<S extends { close(): Promise<void> }>(prefix: string, open: (dir: string) => S) {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    const store = open(dir);
    return {
      store,
      teardown: async () => {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  };
}

/** The optional parts of the metadata-store suite the SQLite store offers. */
export const LOCAL_METADATA_SUITE = {
  commitMany: true,
  changesAfter: true,
  headsByState: true,
  deleteVersions: true,
  listNamespaces: true,
  lifecycle: true,
  findByRequestIds: true,
};
