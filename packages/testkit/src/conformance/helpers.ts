/** Small helpers shared by the conformance suites. */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import type { Namespace, VersionDoc } from '@chronos-db/core';

/** Random lowercase hex, `n` characters. */
export function rand(n = 10): string {
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(Math.ceil(n / 2)));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('').slice(0, n);
}

/** A fresh namespace nobody else uses: `ck_<random>` database, random collection. */
export function freshNs(opts: { tenant?: boolean | string; dbName?: string; collection?: string } = {}): Namespace {
  const ns: Namespace = { dbName: opts.dbName ?? `ck_${rand(10)}`, collection: opts.collection ?? `c${rand(8)}` };
  if (opts.tenant) ns.tenant = typeof opts.tenant === 'string' ? opts.tenant : `t${rand(8)}`;
  return ns;
}

export interface SuiteOptions {
  /** Names of tests (exact `it` titles) to skip for a backend's known limits. */
  skip?: string[];
  /** MetadataStore suites: whether the store offers the optional `commitMany` (checked, then exercised). */
  commitMany?: boolean;
  /** MetadataStore suites: whether the store offers the optional `scanHeads` (checked, then exercised). */
  scanHeads?: boolean;
}

/** `it`, or `it.skip` when the title is listed in `skip`. */
/** Creates the suite's store once (beforeAll) and tears it down after the suite (afterAll). */
export function setUpStore<S>(factory: () => Promise<{ store: S; teardown?: () => Promise<void> }>, assign: (store: S) => void): void {
  let teardown: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    const made = await factory();
    assign(made.store);
    teardown = made.teardown;
  });
  afterAll(async () => {
    if (teardown) await teardown();
  });
}

export function makeIt(skip: string[] = []) {
  const set = new Set(skip);
  return (title: string, fn: () => Promise<void>, timeout?: number) => (set.has(title) ? it.skip : it)(title, fn, timeout);
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
