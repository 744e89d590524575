/**
 * The test runner the suites register their tests with, injected by the caller
 * (keyv's test suite does the same): jest, vitest, node:test, mocha all fit.
 *
 *   import { describe, it, beforeAll, afterAll } from '@jest/globals';   // or 'vitest'
 *   import { describe, it, before, after } from 'node:test';
 *
 * Only registration is injected; assertions come from the testkit's own
 * `assert.ts` (node:assert errors), so no runner's `expect` is needed.
 */

/** A test body. Every testkit test is async. */
export type TestBody = () => Promise<void>;

/**
 * `it` (or `test`) of a runner: a call that registers a test, and `skip` that registers a
 * skipped one. A third argument, a timeout in ms, is passed only by the few tests that need
 * longer than usual (jest and vitest read it; node:test ignores it and has no default timeout).
 */
export interface TestFn {
  (title: string, body: TestBody, timeoutMs?: number): unknown;
  skip(title: string, body: TestBody): unknown;
}

/** What the suites need from a runner. Hooks: `beforeAll`/`afterAll` (jest, vitest) or `before`/`after` (node:test, mocha). */
export interface TestRunner {
  describe(title: string, body: () => void): unknown;
  it: TestFn;
  beforeAll?(body: () => Promise<void>): unknown;
  afterAll?(body: () => Promise<void>): unknown;
  before?(body: () => Promise<void>): unknown;
  after?(body: () => Promise<void>): unknown;
  /** Needed by suites that clean up after each test (the QueueStore suite); jest, vitest and node:test all have it. */
  afterEach?(body: () => Promise<void>): unknown;
}

/** Test titles a caller wants skipped: a list, or title -> reason. */
export type SkipList = string[] | Record<string, string>;

/** The registration helpers every suite file gets. */
export interface Registrar {
  describe(title: string, body: () => void): void;
  /** Registers a test, or a visibly skipped one when the caller listed its title in `skip`. */
  it(title: string, body: TestBody, timeoutMs?: number): void;
  /**
   * Registers the test when `applies` is true; otherwise a skipped test whose title names
   * the reason (`<title> [skipped: <reason>]`), so a runner reports it as skipped, never passed.
   */
  itIf(applies: boolean, reason: string, title: string, body: TestBody): void;
  beforeAll(body: () => Promise<void>): void;
  afterAll(body: () => Promise<void>): void;
  /** The runner's afterEach (a TypeError when the runner has none). */
  afterEach(body: () => Promise<void>): void;
  /** Titles in `skip` that named no test so far (a typo would otherwise skip nothing, silently). */
  unusedSkips(): string[];
}

/** The title a skipped test is registered under. */
export const skippedTitle = (title: string, reason: string): string => `${title} [skipped: ${reason}]`;

export function registrar(runner: TestRunner, skip: SkipList = []): Registrar {
  if (!runner || typeof runner.describe !== 'function' || typeof runner.it !== 'function' || typeof runner.it.skip !== 'function') {
    throw new TypeError("the testkit needs the runner's { describe, it } (it with it.skip), e.g. from @jest/globals, vitest or node:test");
  }
  const before = runner.beforeAll ?? runner.before;
  const after = runner.afterAll ?? runner.after;
  if (!before || !after) throw new TypeError("the testkit needs the runner's beforeAll/afterAll (jest, vitest) or before/after (node:test)");
  const reasons: Record<string, string> = Array.isArray(skip) ? Object.fromEntries(skip.map((t) => [t, 'listed in the skip option'])) : { ...skip };
  const unused = new Set(Object.keys(reasons));
  const reg: Registrar = {
    describe: (title, body) => void runner.describe(title, body),
    it(title, body, timeoutMs) {
      const reason = reasons[title];
      unused.delete(title);
      if (reason !== undefined) void runner.it.skip(skippedTitle(title, reason), body);
      else if (timeoutMs === undefined) void runner.it(title, body);
      else void runner.it(title, body, timeoutMs);
    },
    itIf(applies, reason, title, body) {
      if (applies) reg.it(title, body);
      else {
        unused.delete(title);
        void runner.it.skip(skippedTitle(title, reason), body);
      }
    },
    beforeAll: (body) => void before.call(runner, body),
    afterAll: (body) => void after.call(runner, body),
    afterEach(body) {
      if (!runner.afterEach) throw new TypeError("this suite needs the runner's afterEach");
      void runner.afterEach.call(runner, body);
    },
    unusedSkips: () => [...unused],
  };
  return reg;
}

/**
 * A stand-in for an object a factory makes later (in beforeAll): tests are registered
 * before it exists and use it only when they run. Reading it before `set` throws.
 */
export function lateBound<T extends object>(what: string): { value: T; set(v: T): void } {
  let target: T | undefined;
  const value = new Proxy({} as T, {
    get(_, prop) {
      if (!target) throw new Error(`the ${what} is not created yet (its factory runs in beforeAll)`);
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
    has: (_, prop) => (target ? prop in target : false),
  });
  return { value, set: (v) => void (target = v) };
}
