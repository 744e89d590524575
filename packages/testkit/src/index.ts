export * from './conformance/index.js';
export * from './behaviour/index.js';
export type { TestRunner, TestFn, TestBody, SkipList } from './runner.js';
