/**
 * Runs rollup or prune of one namespace in a separate process and SIGKILLs itself midway:
 * rollup right after its first manifest part is written (before the index lists it), prune
 * after removing part of a deleteVersions batch (a prefix of each record's rows, as an
 * interrupted adapter call could leave).
 */
import { pruneNamespace, rollupNamespace, type BlobStore, type MetadataStore, type ResolvedRetention } from '@chronos-db/core';
import { makeStores, type StoreSpec } from './stores.js';

async function main() {
  const job = JSON.parse(process.env.LIFECYCLE_JOB!) as {
    mode: 'rollup' | 'prune';
    spec: StoreSpec;
    ns: { dbName: string; collection: string };
    retention: ResolvedRetention;
    now: number;
  };
  const { meta, blobs } = makeStores(job.spec);
  const die = () => process.kill(process.pid, 'SIGKILL');
  const b: BlobStore = Object.create(blobs) as BlobStore;
  b.put = async (role, key, body, opts) => {
    await blobs.put(role, key, body, opts);
    if (job.mode === 'rollup' && key.includes('/parts/')) die();
  };
  const m: MetadataStore = Object.create(meta) as MetadataStore;
  m.deleteVersions = async (ns, refs) => {
    const n = await meta.deleteVersions!(
      ns,
      refs.filter((r) => r.ov < 5),
    );
    if (job.mode === 'prune') die();
    return n;
  };
  const target = { ns: job.ns, meta: m, blobs: b, retention: job.retention, period: 'daily' as const, now: job.now };
  await (job.mode === 'rollup' ? rollupNamespace(target) : pruneNamespace(target));
  process.stderr.write('the child was not killed\n');
  process.exit(3);
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack}\n`);
  process.exit(2);
});
