/**
 * T9: restoreCollection of 10,000 records, killed (SIGKILL) at half, resumed,
 * with writes during it: the final state equals the state at the target,
 * nothing is applied twice, and memory is bounded by the page size. On the
 * embedded default and on FerretDB + Ceph, both committing pages in bulk
 * through commitMany (SQLite: one transaction per page; 2,000 records on
 * the servers by default).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CollectionEngine, mapLimit, type MetadataStore } from '@chronos-db/core';
import { makeStores, type StoreSpec } from './crash/stores.js';
import { runTsxChild } from './helpers/child.js';
import { describeServers, rnd, serverStoreSpec } from './helpers/servers.js';

const N = Number(process.env.CHRONOS_T9_RECORDS ?? 10_000);
const N_SERVERS = Number(process.env.CHRONOS_T9_SERVER_RECORDS ?? 2_000);

describe(`T9: restoreCollection of ${N} records killed at half and resumed (embedded default, bulk pages)`, () => {
  it('ends at the target state with nothing applied twice', async () => {
    await t9({ kind: 'local', basePath: mkdtempSync(join(tmpdir(), 'chronos-t9-')) }, N, true);
  }, 600_000);
});

describeServers(`T9: restoreCollection of ${N_SERVERS} records killed at half and resumed (FerretDB + Ceph, bulk pages)`, (env) => {
  it('ends at the target state with nothing applied twice', async () => {
    await t9(await serverStoreSpec(env, 't9'), N_SERVERS, true, `t9_${rnd()}`);
  }, 600_000);
});

async function t9(spec: StoreSpec, N: number, bulk: boolean, dbName = 't9'): Promise<void> {
  {
    const { meta, blobs } = makeStores(spec);
    expect(typeof meta.commitMany).toBe(bulk ? 'function' : 'undefined');
    const ns = { dbName, collection: 'items' };
    const engine = new CollectionEngine({ ns, meta, blobs });
    const ids = await mapLimit(
      Array.from({ length: N }, (_, i) => i),
      16,
      async (i) => (await engine.create({ n: i, phase: 'target' })).id,
    );
    const cv = await meta.currentCv(ns);
    // after the target: half the records change, a few are deleted, some are born
    await mapLimit(
      ids.filter((_, i) => i % 2 === 0),
      16,
      (id) => engine.update(id, { phase: 'after' }),
    );
    await mapLimit(
      ids.filter((_, i) => i % 97 === 1),
      8,
      (id) => engine.delete(id),
    );
    const born = await mapLimit(
      Array.from({ length: 50 }, (_, i) => i),
      8,
      async (i) => (await engine.create({ n: N + i, phase: 'born' })).id,
    );

    // the restore runs in a child process and is killed once it has scanned half
    const during = ids.filter((_, i) => i % 501 === 3 && i % 97 !== 1);
    let killedAt = 0;
    let wroteDuring = false;
    const { signal, stderr } = await runTsxChild(
      join(__dirname, 'crash/restore-child.ts'),
      'RESTORE_JOB',
      { spec, ns, cv, slowAfter: N / 2, slowMs: bulk ? 500 : 20 },
      {
        onLine: (line, child) => {
          const m = /^progress (\d+)/.exec(line);
          if (!m) return;
          const scanned = Number(m[1]);
          if (!wroteDuring && scanned >= N / 4) {
            wroteDuring = true;
            void mapLimit(during, 4, (id) => engine.update(id, { phase: 'during' })).catch(() => {});
          }
          if (!killedAt && scanned >= N / 2) {
            killedAt = scanned;
            child.kill('SIGKILL');
          }
        },
      },
    );
    expect({ signal, stderr }).toEqual({ signal: 'SIGKILL', stderr: '' });
    expect(killedAt).toBeGreaterThanOrEqual(N / 2);
    expect(killedAt).toBeLessThan(N + 50);
    // let the writes made during the restore land
    for (const id of during) await engine.update(id, { phase: 'during' });

    // resume: bounded memory means the engine never asks for more than a page
    let maxLimit = 0;
    const watched: MetadataStore = Object.create(meta) as MetadataStore;
    watched.queryHeads = (n, q) => {
      maxLimit = Math.max(maxLimit, q.limit);
      return meta.queryHeads(n, q);
    };
    if (meta.scanHeads) {
      const scan = meta.scanHeads.bind(meta);
      watched.scanHeads = async function* (n, q) {
        for await (const batch of scan(n, q)) {
          maxLimit = Math.max(maxLimit, q.batchSize, batch.length);
          yield batch;
        }
      };
    }
    const resumed = new CollectionEngine({ ns, meta: watched, blobs });
    const r = await resumed.restoreCollection({ cv }, { pageSize: 100, parallel: 4 });
    expect(maxLimit).toBe(100);
    expect(r.scanned).toBe(N + 50);

    // final state equals the state at the target, for every record
    for (const id of [...ids, ...born]) {
      const head = (await meta.getHead(ns, id))!;
      const target = await meta.getVersion(ns, id, { cv });
      if (!target) expect(head.deleted).toBe(true);
      else {
        expect(head.jsonKey).toBe(target.jsonKey);
        expect(head.deleted).toBe(target.deleted);
      }
    }
    // nothing applied twice: records untouched during the restore got at most one restore version
    const duringSet = new Set(during);
    for (const id of ids.filter((_, i) => i % 50 === 0)) {
      const h = (await engine.history(id, { limit: 1000 })).items;
      const restores = h.filter((v) => v.cv > cv && v.reason === 'restoreCollection');
      expect(restores.length).toBeLessThanOrEqual(duringSet.has(id) ? 2 : 1);
    }
    // and running it again changes nothing
    expect((await resumed.restoreCollection({ cv })).restored).toBe(0);
    await meta.close();
    await blobs.close();
  }
}
