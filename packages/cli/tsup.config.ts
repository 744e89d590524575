import { readFileSync } from 'node:fs';
import { defineConfig } from 'tsup';
import { base } from '../../tsup.base';

const { version } = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')) as { version: string };

export default defineConfig({
  ...base,
  entry: ['src/index.ts', 'src/bin.ts'],
  // each command's module is its own chunk, loaded when the command runs (start-up stays small)
  splitting: true,
  define: { __CHRONOS_CLI_VERSION__: JSON.stringify(version) },
});
