/** Small helpers shared by the conformance suites. */
import type { Namespace, VersionDoc } from '@chronos-db/core';
import { expect } from '../assert.js';
import { lateBound, type Registrar, type SkipList } from '../runner.js';

/** Random lowercase hex, `n` characters. */
export function rand(n = 10): string {
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(Math.ceil(n / 2)));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0'))
    .join('')
    .slice(0, n);
}

/** A fresh namespace nobody else uses: `ck_<random>` database, random collection. */
export function freshNs(opts: { tenant?: boolean | string; dbName?: string; collection?: string } = {}): Namespace {
  const ns: Namespace = { dbName: opts.dbName ?? `ck_${rand(10)}`, collection: opts.collection ?? `c${rand(8)}` };
  if (opts.tenant) ns.tenant = typeof opts.tenant === 'string' ? opts.tenant : `t${rand(8)}`;
  return ns;
}

export interface SuiteOptions {
  /**
   * Tests (exact titles, without the suite's prefix) to skip for a backend's known limits: a
   * list, or title -> reason. They show as skipped with the reason in their title.
   */
  skip?: SkipList;
}

/** What a suite's factory returns: the store, and how to dispose of it after the suite. */
export type StoreFactory<S> = () => Promise<{ store: S; teardown?: () => Promise<void> }>;

/**
 * The suite's store: made once by the factory (beforeAll), torn down after the suite
 * (afterAll). Tests use the returned stand-in only when they run.
 */
export function setUpStore<S extends object>(t: Registrar, what: string, factory: StoreFactory<S>): S {
  const store = lateBound<S>(what);
  let teardown: (() => Promise<void>) | undefined;
  t.beforeAll(async () => {
    const made = await factory();
    store.set(made.store);
    teardown = made.teardown;
  });
  t.afterAll(async () => {
    if (teardown) await teardown();
  });
  return store.value;
}

/** Registers, last in a suite, a test that every title in `skip` names a test of the suite. */
export function checkSkipList(t: Registrar): void {
  const unused = t.unusedSkips();
  t.it('the skip option names only tests of this suite', async () => {
    expect(unused).toEqual([]);
  });
}

/** Awaits a promise that must reject with a ChronosError of this `code` (checked by code, not by class identity). */
export async function expectCode(p: Promise<unknown>, code: string): Promise<Error> {
  let err: unknown;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  if (err === undefined) throw new Error(`expected a rejection with code ${code}, but the call resolved`);
  expect((err as { code?: unknown }).code).toBe(code);
  return err as Error;
}

export const OPTIMISTIC_LOCK = 'OPTIMISTIC_LOCK';
export const VALIDATION = 'VALIDATION';
export const NOT_FOUND = 'NOT_FOUND';

/** Builds a version (without cv) with sensible defaults. */
export function mkVersion(ns: Namespace, itemId: string, ov: number, o: Partial<Omit<VersionDoc, 'cv' | 'itemId' | 'ov'>> = {}): Omit<VersionDoc, 'cv'> {
  const attempt = rand(12);
  return {
    itemId,
    ov,
    op: o.op ?? (ov === 0 ? 'CREATE' : 'UPDATE'),
    at: o.at ?? 1_700_000_000_000 + ov * 1000,
    jsonKey: o.jsonKey ?? `${ns.dbName}/${ns.tenant ? `t.${ns.tenant}/` : ''}${ns.collection}/${itemId}/v${ov}/${attempt}/item.json`,
    size: o.size ?? 42 + ov,
    sha256: o.sha256 ?? 'a'.repeat(63) + (ov % 10),
    metaIndexed: o.metaIndexed ?? { n: ov },
    deleted: o.deleted ?? false,
    ...(o.actor !== undefined ? { actor: o.actor } : {}),
    ...(o.reason !== undefined ? { reason: o.reason } : {}),
    ...(o.blobs !== undefined ? { blobs: o.blobs } : {}),
    ...(o.functionIds !== undefined ? { functionIds: o.functionIds } : {}),
    ...(o.requestId !== undefined ? { requestId: o.requestId } : {}),
    ...(o.requestHash !== undefined ? { requestHash: o.requestHash } : {}),
  };
}

/** Removes keys whose value is undefined (stores may or may not echo them). */
export function clean<T extends object>(o: T): T {
  return JSON.parse(JSON.stringify(o)) as T;
}
