/**
 * The MetadataStore contract (core/src/ports.ts), executable, one file per group of port
 * methods. Call it from a test file of your adapter with your runner's functions:
 *
 *   import { describe, it, beforeAll, afterAll } from '@jest/globals';
 *   runMetadataStoreConformance({ describe, it, beforeAll, afterAll }, 'sqlite', async () => ({ store, teardown }));
 *
 * One store is made per suite; every test works in namespaces of its own (random dbName /
 * collection / tenant), so nothing needs cleaning between tests.
 */
import type { MetadataStore } from '@chronos-db/core';
import { registrar, type TestRunner } from '../../runner.js';
import { checkSkipList, setUpStore, type StoreFactory } from '../helpers.js';
import { basicsTests } from './basics.js';
import { changesAfterTests } from './changes-after.js';
import { deleteVersionsTests } from './delete-versions.js';
import { commitConflictTests } from './commit-conflicts.js';
import { commitManyTests } from './commit-many.js';
import { commitRaceTests } from './commit-races.js';
import { commitTests } from './commit.js';
import { metaSuite, type MetadataStoreOptions } from './context.js';
import { currentCvTests } from './current-cv.js';
import { declarationTests } from './declarations.js';
import { findByRequestIdTests } from './find-by-request-id.js';
import { getVersionTests } from './get-version.js';
import { hardDeleteTests } from './hard-delete.js';
import { headsByStateTests } from './heads-by-state.js';
import { lifecycleTests } from './lifecycle.js';
import { listNamespacesTests } from './list-namespaces.js';
import { listVersionsTests } from './list-versions.js';
import { namespaceIsolationTests } from './namespace-isolation.js';
import { queryHeadsFilterTests } from './query-heads-filters.js';
import { queryHeadsPagingTests } from './query-heads-paging.js';
import { scanHeadsTests } from './scan-heads.js';
import { setStateTests } from './set-state.js';

export type MetadataStoreFactory = StoreFactory<MetadataStore>;
export type { MetadataStoreOptions } from './context.js';

export function runMetadataStoreConformance(runner: TestRunner, name: string, factory: MetadataStoreFactory, opts: MetadataStoreOptions = {}): void {
  const t = registrar(runner, opts.skip);
  const branch = opts.transactions === undefined ? '' : opts.transactions ? ' (commits in transactions)' : ' (commits without transactions)';
  t.describe(`MetadataStore conformance: ${name}${branch}`, () => {
    const s = metaSuite(t, setUpStore(t, 'MetadataStore', factory), opts);
    basicsTests(s);
    commitTests(s);
    commitConflictTests(s);
    commitRaceTests(s);
    commitManyTests(s);
    scanHeadsTests(s);
    getVersionTests(s);
    listVersionsTests(s);
    changesAfterTests(s);
    deleteVersionsTests(s);
    findByRequestIdTests(s);
    queryHeadsFilterTests(s);
    queryHeadsPagingTests(s);
    currentCvTests(s);
    setStateTests(s);
    headsByStateTests(s);
    hardDeleteTests(s);
    lifecycleTests(s);
    listNamespacesTests(s);
    namespaceIsolationTests(s);
    declarationTests(s);
    checkSkipList(t);
  });
}
