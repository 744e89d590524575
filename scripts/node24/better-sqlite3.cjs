/**
 * Test-only stand-in for `better-sqlite3` in the Node 24 run (jest.config.js
 * beside this file maps the module here): the real package, whose Database
 * loads the addon named by CHRONOS_SQLITE_NATIVE_BINDING (built for Node 24)
 * unless the caller names one. Tests that open a SQLite file themselves use it.
 */
const fs = require('node:fs');
const path = require('node:path');
// By path: jest's require.resolve('better-sqlite3') would map back to this file.
const pkg = fs.realpathSync(path.join(__dirname, '../../packages/storage-local/node_modules/better-sqlite3'));
const Real = require(path.join(pkg, require(path.join(pkg, 'package.json')).main ?? 'lib/index.js'));

const binding = process.env.CHRONOS_SQLITE_NATIVE_BINDING;

class Database extends Real {
  constructor(filename, options = {}) {
    super(filename, binding && options.nativeBinding === undefined ? { ...options, nativeBinding: binding } : options);
  }
}

module.exports = binding ? Database : Real;
module.exports.default = module.exports;
