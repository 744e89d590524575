export * from './spaces/index.js';
