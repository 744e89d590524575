import { defineConfig } from 'tsup';
import { base } from '../../tsup.base';

// shims: import.meta.url in the CommonJS build and __dirname in the ESM one (server.ts finds assets/ with either)
export default defineConfig({ ...base, shims: true });
