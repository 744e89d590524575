export * from './spaces/index.js';
export * from './chronos-admin/index.js';
