export { run, VERSION, type Io, type RunEnv } from './run.js';
export { EXIT } from './errors.js';
