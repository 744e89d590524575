/**
 * admin.hardDelete in a process of its own that SIGKILLs itself at a chosen step (a
 * fault-injection wrapper around the real embedded adapters' methods):
 *   purge   - during the payload deletes (second purgePrefix call), after the tombstone
 *   meta    - right after the versions and head were deleted
 *   finish  - just before the erasure record is marked done
 */
import { createRequire } from 'node:module';
import { initChronos, type ChronosConfig } from 'chronos-db';

// chronos-db loads its adapters lazily with require: patch those same module instances
const nodeRequire: NodeRequire = typeof __filename === 'string' ? require : createRequire(import.meta.url);
const { SqliteBlobStore, SqliteMetadataStore } = nodeRequire('@chronos-db/storage-local') as typeof import('@chronos-db/storage-local');

const die = (): Promise<never> => {
  process.kill(process.pid, 'SIGKILL');
  return new Promise(() => {});
};

async function main() {
  const job = JSON.parse(process.env.ERASE_JOB!) as {
    config: ChronosConfig;
    ctx: { key: string; collection: string };
    id: string;
    at: 'purge' | 'meta' | 'finish';
  };
  if (job.at === 'purge') {
    const real = SqliteBlobStore.prototype.purgePrefix;
    let calls = 0;
    SqliteBlobStore.prototype.purgePrefix = async function (this: InstanceType<typeof SqliteBlobStore>, ...a: Parameters<typeof real>) {
      if (++calls === 2) return die();
      return real.apply(this, a);
    };
  } else if (job.at === 'meta') {
    const real = SqliteMetadataStore.prototype.hardDelete;
    SqliteMetadataStore.prototype.hardDelete = async function (this: InstanceType<typeof SqliteMetadataStore>, ...a: Parameters<typeof real>) {
      await real.apply(this, a);
      return die();
    };
  } else {
    SqliteMetadataStore.prototype.finishErasure = () => die();
  }
  const chronos = initChronos(job.config);
  await chronos.admin.hardDelete(job.ctx, job.id, { confirm: true, actor: 'dpo', reason: 'crash test' });
  console.log('NOT KILLED');
  process.exit(3);
}

main().catch((e) => {
  console.error(e);
  process.exit(2);
});
