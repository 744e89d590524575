export * from './conformance/index.js';
export * from './behaviour/index.js';
