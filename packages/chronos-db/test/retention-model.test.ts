/**
 * Model-based (fast-check): random writes, clock steps, rollups and prunes on one namespace,
 * with retention by count and by age at once. After every step, every `getVersion`, `getAsOf`
 * (at each version's time, just before it, and now) and every `history` page (both orders,
 * small pages) equals the model's answer, whether the row is in the index or in a manifest.
 * Sized for CI; CHRONOS_LIFECYCLE_MODEL_RUNS sets the number of runs (full size: 100).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { CollectionEngine, pruneNamespace, rollupNamespace, type BlobStore, type MetadataStore } from '@chronos-db/core';
import { makeStores, type StoreSpec } from './crash/stores.js';
import { describeServers, rnd, serverStoreSpec } from './helpers/servers.js';

type Cmd = { k: 'write'; i: number } | { k: 'step'; ms: number } | { k: 'rollup' } | { k: 'prune' };

const HOUR = 3_600_000;
const IDS = ['ida', 'idb', 'idc'];
const retention = { maxVersions: 3, maxAgeMs: 24 * HOUR };
const RUNS = Number(process.env.CHRONOS_LIFECYCLE_MODEL_RUNS ?? 0);

const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  { arbitrary: fc.record({ k: fc.constant('write' as const), i: fc.integer({ min: 0, max: IDS.length - 1 }) }), weight: 5 },
  { arbitrary: fc.record({ k: fc.constant('step' as const), ms: fc.integer({ min: 1, max: 40 * HOUR }) }), weight: 2 },
  { arbitrary: fc.constant({ k: 'rollup' as const }), weight: 1 },
  { arbitrary: fc.constant({ k: 'prune' as const }), weight: 1 },
);

function modelScenarios(name: string, spec: () => Promise<StoreSpec>, runs: number, maxCmds: number) {
  describe(`retention model (fast-check): ${name}`, () => {
    jest.setTimeout(900_000);
    let meta: MetadataStore;
    let blobs: BlobStore;
    beforeAll(async () => {
      ({ meta, blobs } = makeStores(await spec()));
    });
    afterAll(async () => {
      await meta?.close();
      await blobs?.close();
    });

    it(`after every step, getVersion / getAsOf / history equal the model (${runs} runs of up to ${maxCmds} steps)`, async () => {
      let pruned = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(cmd, { minLength: 4, maxLength: maxCmds }), async (random) => {
          // every run ends by making something due and pruning it (few runs still prove something)
          const cmds: Cmd[] = [...random, ...Array.from({ length: 5 }, () => ({ k: 'write' as const, i: 0 })), { k: 'rollup' }, { k: 'prune' }];
          const ns = { dbName: `lm_${rnd()}`, collection: 'items' };
          let now = Date.parse('2026-05-01T00:00:00Z');
          const engine = new CollectionEngine({ ns, meta, blobs, clock: () => now });
          const model = new Map<string, Array<{ at: number; k: number }>>();
          let k = 0;
          const target = () => ({ ns, meta, blobs, retention, period: 'daily' as const, now });
          for (const c of cmds) {
            if (c.k === 'write') {
              const id = IDS[c.i]!;
              k++;
              if (model.has(id)) await engine.update(id, { k });
              else await engine.create({ k }, undefined, undefined, { id });
              model.set(id, [...(model.get(id) ?? []), { at: now, k }]);
            } else if (c.k === 'step') now += c.ms;
            else if (c.k === 'rollup') await rollupNamespace(target());
            else pruned += (await pruneNamespace(target())).rows;
            for (const [id, vs] of model) {
              for (const [ov, v] of vs.entries()) expect([id, ov, (await engine.getVersion(id, ov))?.k]).toEqual([id, ov, v.k]);
              for (const t of [...vs.map((v) => v.at), ...vs.map((v) => v.at - 1), now]) {
                let want: number | undefined;
                for (const v of vs) if (v.at <= t) want = v.k;
                expect([id, t, (await engine.getAsOf(id, t))?.k]).toEqual([id, t, want]);
              }
              for (const dir of ['asc', 'desc'] as const) {
                const ovs: number[] = [];
                let pageToken: string | undefined;
                do {
                  const p = await engine.history(id, { dir, limit: 2, ...(pageToken ? { pageToken } : {}) });
                  ovs.push(...p.items.map((e) => e.ov));
                  pageToken = p.pageToken;
                } while (pageToken);
                const all = vs.map((_, ov) => ov);
                expect(ovs).toEqual(dir === 'asc' ? all : all.reverse());
              }
            }
          }
        }),
        { numRuns: runs },
      );
      // the runs did prune something, or they proved little
      expect(pruned).toBeGreaterThan(0);
    });
  });
}

modelScenarios('embedded store', async () => ({ kind: 'local', basePath: mkdtempSync(join(tmpdir(), 'chronos-lc-model-')) }), RUNS || 20, 24);

describeServers('retention model on FerretDB + Ceph', (env) => {
  modelScenarios('FerretDB + Ceph', () => serverStoreSpec(env, 'lcm'), RUNS || 2, 10);
});
