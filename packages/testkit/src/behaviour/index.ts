/**
 * The engine behaviour suite: the whole versioning engine over any pair of
 * adapters (MetadataStore + BlobStore), one file per concern. Adapter authors call
 *
 *   runEngineBehaviour({ describe, it, beforeAll, afterAll }, 'my adapters', factory);
 *
 * It checks the invariants of RELIABILITY.md that do not need a process
 * crash (I1-I10, T5, T6 with injected faults, T7, T8) and that bad input writes
 * nothing to either store.
 */
import { lateBound, registrar, type TestRunner } from '../runner.js';
import { asOfReadTests } from './as-of-reads.js';
import { badInputTests } from './bad-input.js';
import { concurrentUpdateTests } from './concurrent-updates.js';
import { behaviourSuite, type BehaviourOptions, type BehaviourStores } from './context.js';
import { counterTests } from './counters.js';
import { devShadowTests } from './dev-shadow.js';
import { enrichAndSmartInsertTests } from './enrich-and-smart-insert.js';
import { externalizationTests } from './externalization.js';
import { historyTests } from './history.js';
import { historyCallTests } from './history-calls.js';
import { idempotencyTests } from './idempotency.js';
import { listByMetaTests } from './list-by-meta.js';
import { modelWithFaultsTests } from './model-with-faults.js';
import { namespaceIsolationTests } from './namespace-isolation.js';
import { restoreTests } from './restore.js';
import { checkSkipList } from '../conformance/helpers.js';

export type { BehaviourOptions, BehaviourStores } from './context.js';
export { storePair } from './context.js';

export function runEngineBehaviour(runner: TestRunner, name: string, factory: () => Promise<BehaviourStores>, opts: BehaviourOptions = {}): void {
  const t = registrar(runner, opts.skip);
  t.describe(`engine behaviour: ${name}`, () => {
    const stores = lateBound<BehaviourStores>('pair of stores');
    let made: BehaviourStores | undefined;
    t.beforeAll(async () => {
      made = await factory();
      stores.set(made);
    });
    t.afterAll(async () => {
      await made?.teardown?.();
    });
    const b = behaviourSuite(t, stores.value, opts);
    historyTests(b);
    historyCallTests(b);
    asOfReadTests(b);
    concurrentUpdateTests(b);
    enrichAndSmartInsertTests(b);
    listByMetaTests(b);
    restoreTests(b);
    externalizationTests(b);
    idempotencyTests(b);
    counterTests(b);
    devShadowTests(b);
    badInputTests(b);
    namespaceIsolationTests(b);
    modelWithFaultsTests(b);
    checkSkipList(t);
  });
}

export { FaultyBlobStore, FaultyMetadataStore, InjectedFault } from './faults.js';
export { snapshotStores, assertNoDanglingPointers, type StoreSnapshot } from './oracle.js';
