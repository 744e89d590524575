/**
 * The subset of the suite that scripts/test-all.sh also runs on Node 24: core,
 * storage-local, cli, testkit and the embedded chronos-db tests. better-sqlite3
 * loads the addon built for Node 24 (CHRONOS_SQLITE_NATIVE_BINDING; storage-local
 * reads it, and tests that import better-sqlite3 get better-sqlite3.cjs).
 */
const path = require('node:path');
const base = require('../../jest.config.js');

const shim = path.join(__dirname, 'better-sqlite3.cjs');
const chronosDbEmbedded = ['embedded', 'behaviour-local', 'crash-local'].map((f) => `<rootDir>/test/${f}.test.ts`);

module.exports = {
  ...base,
  rootDir: path.join(__dirname, '../..'),
  projects: base.projects
    .filter((p) => ['core', 'storage-local', 'cli', 'testkit', 'chronos-db'].includes(p.displayName))
    .map((p) => ({
      ...p,
      moduleNameMapper: { '^better-sqlite3$': shim, ...p.moduleNameMapper },
      ...(p.displayName === 'chronos-db' ? { testMatch: chronosDbEmbedded } : {}),
      // the CLI's embedded run; its terminal and server tests run on Node 20 only
      ...(p.displayName === 'cli' ? { testMatch: ['<rootDir>/test/cli.test.ts'] } : {}),
    })),
};
