import { defineConfig, type Options } from 'tsup';

/** One build for every package: ESM + CJS + types, for Node 20. */
export const base: Options = {
  entry: ['src/index.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
};

export default defineConfig(base);
