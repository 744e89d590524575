import { defineConfig } from 'tsup';
import { base } from '../../tsup.base';

// Optional modules load with a synchronous require: CommonJS's own in the CJS
// build, createRequire(import.meta.url) in the ESM one (that branch never runs
// in CJS, where esbuild empties import.meta; silence its warning).
export default defineConfig({
  ...base,
  esbuildOptions(o) {
    o.logOverride = { ...o.logOverride, 'empty-import-meta': 'silent' };
  },
});
