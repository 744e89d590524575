/**
 * Runs one write in a separate process and SIGKILLs itself at a chosen point:
 *   t1: after the payload PUT, before the commit
 *   t2: after the commit, before the reply
 */
import { CollectionEngine, type CommitInput, type MetadataStore } from '@chronos-db/core';
import { makeStores, type StoreSpec } from './stores.js';

interface Job {
  mode: 't1' | 't2';
  spec: StoreSpec;
  ns: { dbName: string; collection: string };
  id: string;
  data: Record<string, unknown>;
  expectedOv: number;
  requestId?: string;
}

async function main() {
  const job = JSON.parse(process.env.CRASH_JOB!) as Job;
  const { meta, blobs } = makeStores(job.spec);
  const killing: MetadataStore = Object.create(meta) as MetadataStore;
  killing.commit = async (input: CommitInput) => {
    if (job.mode === 't1') {
      process.kill(process.pid, 'SIGKILL');
      await new Promise(() => {});
    }
    const r = await meta.commit(input);
    process.kill(process.pid, 'SIGKILL');
    await new Promise(() => {});
    return r;
  };
  const engine = new CollectionEngine({ ns: job.ns, meta: killing, blobs });
  await engine.update(job.id, job.data, job.expectedOv, 'crash', 'test', job.requestId ? { requestId: job.requestId } : {});
  console.log('NOT KILLED');
  process.exit(3);
}

main().catch((e) => {
  console.error(e);
  process.exit(2);
});
