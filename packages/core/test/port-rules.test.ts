/** The port rules every adapter imports from core: one grammar for blob keys and field names, one list of states, ops, roles. */
import {
  BUCKET_ROLES,
  ITEM_STATES,
  OPS,
  ValidationError,
  assertBlobKey,
  assertBlobPrefix,
  assertBucketRole,
  assertItemState,
  blobKeySegments,
  blobPrefixParts,
  compileFilter,
  fieldSegments,
  isBucketRole,
  isFieldPath,
  isItemState,
  isOp,
} from '@chronos-db/core';

describe('port rules', () => {
  it('lists every state, op and bucket role, and refuses others', () => {
    expect([...ITEM_STATES]).toEqual(['new-not-synched', 'new', 'processed']);
    expect([...OPS]).toEqual(['CREATE', 'UPDATE', 'DELETE', 'ENRICH', 'RESTORE']);
    expect([...BUCKET_ROLES]).toEqual(['json', 'content', 'backups']);
    for (const s of ITEM_STATES) expect(isItemState(s)).toBe(true);
    for (const o of OPS) expect(isOp(o)).toBe(true);
    for (const r of BUCKET_ROLES) expect(isBucketRole(r)).toBe(true);
    for (const bad of ['', 'NEW', 'create', '../json', 'secrets', null, 1, undefined]) {
      expect(isItemState(bad)).toBe(false);
      expect(isOp(bad)).toBe(false);
      expect(isBucketRole(bad)).toBe(false);
      expect(() => assertBucketRole(bad)).toThrow(ValidationError);
      expect(() => assertItemState(bad)).toThrow(ValidationError);
    }
  });

  it('accepts safe blob keys and splits them into segments', () => {
    expect(blobKeySegments('db/users/abc/v0/ff/item.json')).toEqual(['db', 'users', 'abc', 'v0', 'ff', 'item.json']);
    for (const k of ['a', 'a.b-c_d', '.chronos/x', 'x'.repeat(1024)]) expect(() => assertBlobKey(k)).not.toThrow();
  });

  it('refuses keys that could escape a bucket', () => {
    for (const k of ['', '/a', 'a/', 'a//b', '.', '..', 'a/../b', './a', 'a/.', 'a b', 'a\\b', 'a?b', 'é', 'a\u0000b', 'x'.repeat(1025), 5, null, undefined]) {
      expect(() => assertBlobKey(k)).toThrow(ValidationError);
    }
  });

  it('splits list prefixes into folders and a partial name, and refuses unsafe ones', () => {
    expect(blobPrefixParts('')).toEqual({ dirs: [], partial: '' });
    expect(blobPrefixParts('db/us')).toEqual({ dirs: ['db'], partial: 'us' });
    expect(blobPrefixParts('db/users/')).toEqual({ dirs: ['db', 'users'], partial: '' });
    expect(blobPrefixParts('a/.x')).toEqual({ dirs: ['a'], partial: '.x' });
    for (const p of ['../', '/a', '/etc', 'a//', 'a/../', 'a/../..', '..', '.', 'a/.', 'a/..', 'a b', 'x'.repeat(1025), 3]) {
      expect(() => assertBlobPrefix(p)).toThrow(ValidationError);
    }
  });

  it('one field-name grammar: dotted paths of up to 8 segments, no prototype keys', () => {
    for (const f of ['a', '_a', 'a.b', 'a-b_c.D9', Array.from({ length: 8 }, () => 'x').join('.'), `a${'b'.repeat(63)}`]) {
      expect(isFieldPath(f)).toBe(true);
      expect(fieldSegments(f)).toEqual(f.split('.'));
    }
    const bad = [
      '',
      '1a',
      '-a',
      'a..b',
      '.a',
      'a.',
      'a.__proto__',
      'constructor',
      'prototype.x',
      'a b',
      'a$',
      '$where',
      Array.from({ length: 9 }, () => 'x').join('.'),
      `a${'b'.repeat(64)}`,
      7,
      null,
    ];
    for (const f of bad) {
      expect(isFieldPath(f)).toBe(false);
      expect(() => fieldSegments(f)).toThrow(ValidationError);
    }
    // core's own filter compiler uses the same grammar as the adapters
    for (const f of bad.filter((x): x is string => typeof x === 'string' && x !== '' && !x.startsWith('$'))) {
      expect(() => compileFilter({ [f]: 1 })).toThrow(ValidationError);
    }
  });
});
