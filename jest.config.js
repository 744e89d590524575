/** One jest run over every package; sources are imported directly (no build needed). */
const swc = ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' } }];
const moduleNameMapper = {
  '^chronos-db$': '<rootDir>/../chronos-db/src/index.ts',
  '^@chronos-db/(.*)$': '<rootDir>/../$1/src/index.ts',
  // ESM-style relative imports ('./x.js') resolve to the .ts source.
  '^(\\.{1,2}/.*)\\.js$': '$1',
};
const pkgs = ['core', 'storage-local', 'storage-mongo', 'storage-s3', 'router', 'admin', 'cli', 'studio', 'chronos-db', 'testkit'];
module.exports = {
  testTimeout: 120000,
  projects: pkgs.map((p) => ({
    displayName: p,
    rootDir: require('path').join(__dirname, 'packages', p),
    testMatch: ['<rootDir>/test/**/*.test.ts'],
    transform: { '^.+\\.tsx?$': swc },
    moduleNameMapper,
    testEnvironment: 'node',
  })),
};
