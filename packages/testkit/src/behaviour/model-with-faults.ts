/** T6: a fast-check model-based run with injected crashes (before put, after put, after commit) never diverges from the model (I1, I3, I8). */
import fc from 'fast-check';
import { CollectionEngine, NotFoundError, OptimisticLockError } from '@chronos-db/core';
import { expect } from '../assert.js';
import { rnd } from './context.js';
import { FaultyBlobStore, FaultyMetadataStore, InjectedFault } from './faults.js';
import { assertNoDanglingPointers } from './oracle.js';
import type { BehaviourSuite } from './context.js';
import { allVersions } from './all-versions.js';

export function modelWithFaultsTests(b: BehaviourSuite): void {
  const { t, stores, opts } = b;
  t.describe('model with faults', () => {
    t.it('T6: a model-based run with injected crashes never diverges from the model', async () => {
      const runs = opts.modelRuns ?? (process.env.CI === 'true' ? 200 : 60);
      const ns = { dbName: `bk_${rnd()}`, collection: 'model' };
      await fc.assert(
        fc.asyncProperty(
          fc.array(
            fc.record({
              kind: fc.constantFrom('create', 'update', 'delete', 'restore', 'read'),
              target: fc.nat(4),
              value: fc.integer({ min: 0, max: 1000 }),
              crash: fc.constantFrom('none', 'none', 'none', 'before-put', 'after-put', 'after-commit'),
              stale: fc.boolean(),
            }),
            { minLength: 1, maxLength: 12 },
          ),
          async (cmds) => {
            const fb = new FaultyBlobStore(stores.blobs);
            const fm = new FaultyMetadataStore(stores.meta);
            const e = new CollectionEngine({ ns: { ...ns, collection: `m${rnd()}` }, meta: fm, blobs: fb });
            type MV = { value: number; deleted: boolean };
            const model = new Map<string, MV[]>();
            const ids: string[] = [];
            for (const cmd of cmds) {
              const id = ids.length ? ids[cmd.target % ids.length]! : undefined;
              const chain = id ? model.get(id)! : undefined;
              const head = chain?.[chain.length - 1];
              if (cmd.crash === 'before-put') fb.failNext('put', 1);
              if (cmd.crash === 'after-put') fm.failNext('commit', 1);
              if (cmd.crash === 'after-commit') fm.failAfterNext('commit', 1);
              let outcome = 'ok' as 'ok' | 'fail' | 'ambiguous';
              const run = async (f: () => Promise<unknown>) => {
                try {
                  return await f();
                } catch (err) {
                  if (err instanceof InjectedFault) {
                    outcome = err.afterEffect ? 'ambiguous' : 'fail';
                    return undefined;
                  }
                  if (err instanceof OptimisticLockError || err instanceof NotFoundError) {
                    outcome = 'fail';
                    return undefined;
                  }
                  throw err;
                }
              };
              if (cmd.kind === 'create' || !id) {
                const r = (await run(() => e.create({ value: cmd.value }))) as { id: string } | undefined;
                const newId = r?.id ?? fm.lastCommittedId();
                if (outcome !== 'fail' && newId && !model.has(newId)) {
                  ids.push(newId);
                  model.set(newId, [{ value: cmd.value, deleted: false }]);
                }
              } else if (cmd.kind === 'update') {
                const expected = cmd.stale ? chain!.length - 2 : chain!.length - 1;
                await run(() => e.update(id, { value: cmd.value }, Math.max(expected, 0)));
                const applies = !head!.deleted && (!cmd.stale || chain!.length === 1);
                if (outcome !== 'fail' && applies) chain!.push({ value: cmd.value, deleted: false });
              } else if (cmd.kind === 'delete') {
                await run(() => e.delete(id));
                if (outcome !== 'fail' && !head!.deleted) chain!.push({ value: head!.value, deleted: true });
              } else if (cmd.kind === 'restore') {
                const ov = cmd.value % chain!.length;
                await run(() => e.restoreObject(id, { ov }));
                if (outcome !== 'fail') chain!.push({ ...chain![ov]! });
              } else {
                fb.clear();
                fm.clear();
              }
              fb.clear();
              fm.clear();
              // after every step: the store agrees with the model
              for (const [mid, mchain] of model) {
                const hist = await allVersions(e, mid);
                expect(hist.map((h) => h.ov)).toEqual(mchain.map((_, i) => i)); // I3 gapless
                const last = mchain[mchain.length - 1]!;
                const latest = await e.getLatest(mid, { includeDeleted: true });
                expect(latest!.value).toBe(last.value);
                expect(!!latest!._system.deleted).toBe(last.deleted);
                for (let i = 1; i < hist.length; i++) expect(hist[i]!.at.getTime()).toBeGreaterThanOrEqual(hist[i - 1]!.at.getTime()); // I8
                const asOf = await e.getAsOf(mid, hist[hist.length - 1]!.at, { includeDeleted: true });
                expect(asOf!.value).toBe(last.value);
              }
              await assertNoDanglingPointers(stores, e.ns, [...model.keys()]); // I1
            }
          },
        ),
        { numRuns: runs },
      );
    });
  });
}
