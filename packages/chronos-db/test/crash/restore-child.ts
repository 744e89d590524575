/** Runs restoreCollection in a separate process, printing progress, until the parent kills it (T9). */
import { CollectionEngine } from '@chronos-db/core';
import { makeStores, type StoreSpec } from './stores.js';

async function main() {
  const job = JSON.parse(process.env.RESTORE_JOB!) as { spec: StoreSpec; ns: { dbName: string; collection: string }; cv: number };
  const { meta, blobs } = makeStores(job.spec);
  const engine = new CollectionEngine({ ns: job.ns, meta, blobs });
  await engine.restoreCollection({ cv: job.cv }, { pageSize: 100, parallel: 4, onProgress: (p) => console.log(`progress ${p.scanned} ${p.restored}`) });
  console.log('FINISHED');
}

main().catch((e) => {
  console.error(e);
  process.exit(2);
});
