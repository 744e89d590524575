/**
 * Runs restoreCollection in a separate process, printing progress, until the parent kills it (T9).
 * Once `slowAfter` records are scanned, every commit waits a little first, so the parent's
 * SIGKILL (sent when it reads that progress line) lands while the restore is still committing,
 * however fast the rest would have gone.
 */
import { CollectionEngine, type MetadataStore } from '@chronos-db/core';
import { makeStores, type StoreSpec } from './stores.js';

async function main() {
  const job = JSON.parse(process.env.RESTORE_JOB!) as {
    spec: StoreSpec;
    ns: { dbName: string; collection: string };
    cv: number;
    slowAfter?: number;
    slowMs?: number;
  };
  const { meta, blobs } = makeStores(job.spec);
  let scanned = 0;
  const pause = () => (scanned >= (job.slowAfter ?? Infinity) ? new Promise((r) => setTimeout(r, job.slowMs ?? 20)) : undefined);
  const slowed: MetadataStore = Object.create(meta) as MetadataStore;
  slowed.commit = async (input) => {
    await pause();
    return meta.commit(input);
  };
  if (meta.commitMany) {
    const many = meta.commitMany.bind(meta);
    slowed.commitMany = async (inputs) => {
      await pause();
      return many(inputs);
    };
  }
  const engine = new CollectionEngine({ ns: job.ns, meta: slowed, blobs });
  await engine.restoreCollection(
    { cv: job.cv },
    {
      pageSize: 100,
      parallel: 4,
      onProgress: (p) => {
        scanned = p.scanned;
        console.log(`progress ${p.scanned} ${p.restored}`);
      },
    },
  );
  console.log('FINISHED');
}

main().catch((e) => {
  console.error(e);
  process.exit(2);
});
