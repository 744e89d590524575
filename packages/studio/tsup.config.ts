import { defineConfig } from 'tsup';
import { base } from '../../tsup.base';

// shims: `__dirname` in the ESM build too (the page's assets are read from ../assets)
export default defineConfig({ ...base, shims: true });
