/**
 * createMany in a separate process that SIGKILLs itself right after the
 * commit of the batch that reaches half of the items, before any result is
 * reported (committed, unanswered: a rerun must not write them twice).
 */
import { CollectionEngine, type CommitInput, type MetadataStore } from '@chronos-db/core';
import { makeStores, type StoreSpec } from '../crash/stores.js';
import { bulkItems } from './items.js';

interface Job {
  spec: StoreSpec;
  ns: { dbName: string; collection: string };
  n: number;
  tag: string;
  batchSize: number;
}

async function main() {
  const job = JSON.parse(process.env.BULK_JOB!) as Job;
  const { meta, blobs } = makeStores(job.spec);
  let committed = 0;
  const killing: MetadataStore = Object.create(meta) as MetadataStore;
  const kill = async () => {
    if (committed >= job.n / 2) {
      process.kill(process.pid, 'SIGKILL');
      await new Promise(() => {});
    }
  };
  killing.commitMany = async (inputs: CommitInput[]) => {
    const r = await meta.commitMany!(inputs);
    committed += inputs.length;
    await kill();
    return r;
  };
  killing.commit = async (input: CommitInput) => {
    const r = await meta.commit(input);
    committed++;
    await kill();
    return r;
  };
  const engine = new CollectionEngine({ ns: job.ns, meta: killing, blobs });
  await engine.createMany(bulkItems(job.n, job.tag), { batchSize: job.batchSize });
  process.stdout.write('finished without being killed\n');
  process.exit(3);
}

main().catch((e) => {
  process.stdout.write(`child failed: ${String(e?.stack ?? e)}\n`);
  process.exit(2);
});
