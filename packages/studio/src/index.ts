export { startStudio, CSP } from './server.js';
export { COUNT_CAP } from './api.js';
export type { StudioOptions, StudioContext, Studio } from './options.js';
