import { deepMerge, assertJsonPayload, ValidationError, jsonKey, parseJsonKey, assertCollection, assertId } from '@chronos-db/core';

describe('deepMerge', () => {
  it('merges objects, unions arrays, merges array objects by id', () => {
    expect(deepMerge({ a: { b: 1 }, t: [1, 2], o: [{ id: 'x', v: 1 }] }, { a: { c: 2 }, t: [2, 3], o: [{ id: 'x', w: 2 }, { _id: 'y' }] })).toEqual({
      a: { b: 1, c: 2 },
      t: [1, 2, 3],
      o: [{ id: 'x', v: 1, w: 2 }, { _id: 'y' }],
    });
  });
  it('does not modify its inputs', () => {
    const base = { a: { b: 1 } };
    deepMerge(base, { a: { c: 1 } });
    expect(base).toEqual({ a: { b: 1 } });
  });
});

describe('payload checks', () => {
  it('survives 10,000-deep nesting without a stack overflow', () => {
    const deep: Record<string, unknown> = {};
    let cur = deep;
    for (let i = 0; i < 10_000; i++) cur = (cur.n = {}) as Record<string, unknown>;
    expect(() => assertJsonPayload(deep)).toThrow(ValidationError);
  });
  it('accepts plain JSON', () => {
    expect(() => assertJsonPayload({ a: [1, 'x', null, { b: true }], d: new Date() })).not.toThrow();
  });
});

describe('names and keys', () => {
  it('round-trips json keys and never accepts path tricks', () => {
    const ns = { dbName: 'db', collection: 'users', tenant: 't1' };
    const k = jsonKey(ns, 'abc', 7, 'f00d');
    expect(k).toBe('db/t.t1/users/abc/v7/f00d/item.json');
    expect(parseJsonKey(ns, k)).toEqual({ id: 'abc', ov: 7 });
    for (const c of ['../x', 'a/b', '', '.', '..', '$x', 'system.users', 'a\u0000', 'x'.repeat(300)])
      expect(() => assertCollection(c)).toThrow(ValidationError);
    for (const id of ['../../x', '%2e%2e', 'a'.repeat(1000), '']) expect(() => assertId(id)).toThrow(ValidationError);
  });
});
