/** How the suites register tests with an injected runner: skips are visible and carry their reason. */
import { registrar, lateBound, type TestBody } from '../src/runner';

/** A runner that records what the suites register with it. */
function recorder() {
  const log: string[] = [];
  const it = Object.assign((title: string, _b: TestBody) => void log.push(`it ${title}`), {
    skip: (title: string, _b: TestBody) => void log.push(`skip ${title}`),
  });
  const runner = {
    describe: (title: string, body: () => void) => {
      log.push(`describe ${title}`);
      body();
    },
    it,
    before: (_b: () => Promise<void>) => void log.push('before'),
    after: (_b: () => Promise<void>) => void log.push('after'),
  };
  return { runner, log };
}

describe('testkit runner injection', () => {
  it('registers tests, capability skips and listed skips with the reason in the title', () => {
    const { runner, log } = recorder();
    const t = registrar(runner, { 'b is listed': 'the backend cannot', 'no such test': 'typo' });
    t.describe('suite', () => {
      t.beforeAll(async () => {});
      t.it('a runs', async () => {});
      t.it('b is listed', async () => {});
      t.itIf(false, 'the store declares presign: false', 'c presigns', async () => {});
      t.itIf(true, 'unused reason', 'd applies', async () => {});
      t.afterAll(async () => {});
    });
    expect(log).toEqual([
      'describe suite',
      'before',
      'it a runs',
      'skip b is listed [skipped: the backend cannot]',
      'skip c presigns [skipped: the store declares presign: false]',
      'it d applies',
      'after',
    ]);
    expect(t.unusedSkips()).toEqual(['no such test']);
  });

  it('refuses a runner without describe/it/it.skip or without hooks', () => {
    const { runner } = recorder();
    expect(() => registrar({ ...runner, it: ((_: string) => undefined) as never })).toThrow(TypeError);
    expect(() => registrar({ describe: runner.describe, it: runner.it })).toThrow(/beforeAll\/afterAll/);
    expect(() => registrar({ describe: runner.describe, it: runner.it, beforeAll: runner.before, afterAll: runner.after })).not.toThrow();
  });

  it('a late-bound store throws until set, then forwards with the store as this', () => {
    const late = lateBound<{ n: number; get(): number; opt?: () => void }>('store');
    expect(() => late.value.n).toThrow(/not created yet/);
    late.set({
      n: 3,
      get() {
        return this.n;
      },
    });
    const { get } = late.value;
    expect(get()).toBe(3);
    expect(typeof late.value.opt).toBe('undefined');
  });
});
