/**
 * chronos-db's ESM build loads adapters with a synchronous require, so an
 * adapter's errors can come from a second copy of core (its CommonJS build).
 * `instanceof` must still hold across copies, and still tell kinds apart.
 */
import * as core from '../src/errors';

function secondCopy(): typeof core {
  let mod: typeof core | undefined;
  jest.isolateModules(() => {
    mod = require('../src/errors') as typeof core;
  });
  return mod!;
}

describe('errors from another copy of core', () => {
  const other = secondCopy();

  it('is a different module instance', () => {
    expect(other.ValidationError).not.toBe(core.ValidationError);
  });

  it('instanceof holds across copies for the class and its ancestors', () => {
    const e = new other.OptimisticLockError('lost', { id: 'a' });
    expect(e instanceof core.OptimisticLockError).toBe(true);
    expect(e instanceof core.ChronosError).toBe(true);
    expect(core.isChronosError(e)).toBe(true);
    const i = new other.IntegrityError('bad');
    expect(i instanceof core.StorageError).toBe(true);
    expect(i instanceof core.IntegrityError).toBe(true);
  });

  it('instanceof still tells kinds apart', () => {
    const e = new other.NotFoundError('gone');
    expect(e instanceof core.OptimisticLockError).toBe(false);
    expect(e instanceof core.ValidationError).toBe(false);
    expect(new Error('x') instanceof core.ChronosError).toBe(false);
    expect(Object.assign(new Error('x'), { name: 'ValidationError' }) instanceof core.ValidationError).toBe(false);
    expect((null as unknown as object) instanceof core.ChronosError).toBe(false);
    expect(new core.StorageError('s') instanceof core.IntegrityError).toBe(false);
  });

  it('same-copy instanceof is unchanged', () => {
    expect(new core.ValidationError('v') instanceof core.ValidationError).toBe(true);
    expect(new core.ValidationError('v') instanceof Error).toBe(true);
    // a subclass's instanceof checks that subclass, not the base (every ChronosError passed as OptimisticLockError)
    expect(new core.StorageError('s') instanceof core.OptimisticLockError).toBe(false);
    expect(new core.ValidationError('v') instanceof core.NotFoundError).toBe(false);
  });
});
