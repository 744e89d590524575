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
const { Collection } = nodeRequire('mongodb') as typeof import('mongodb');
const { S3Client } = nodeRequire('@aws-sdk/client-s3') as typeof import('@aws-sdk/client-s3');

/** The same kill points on MongoDB + S3: the driver calls the adapters make at those steps. */
function patchServers(at: 'purge' | 'meta' | 'finish'): void {
  if (at === 'purge') {
    const real = S3Client.prototype.send;
    let deletes = 0;
    S3Client.prototype.send = function (this: InstanceType<typeof S3Client>, command: { constructor: { name: string } }, ...rest: unknown[]) {
      if (command.constructor.name === 'DeleteObjectCommand' && ++deletes === 3) return die();
      return (real as (...a: unknown[]) => unknown).call(this, command, ...rest);
    } as typeof real;
  } else if (at === 'meta') {
    const real = Collection.prototype.deleteMany;
    Collection.prototype.deleteMany = async function (this: InstanceType<typeof Collection>, ...a: unknown[]) {
      const out = await (real as (...x: unknown[]) => Promise<unknown>).apply(this, a);
      if (this.collectionName.endsWith('_ver')) return die();
      return out;
    } as typeof real;
  } else {
    const real = Collection.prototype.updateOne;
    Collection.prototype.updateOne = function (this: InstanceType<typeof Collection>, ...a: unknown[]) {
      if (this.collectionName.endsWith('_erasures')) return die();
      return (real as (...x: unknown[]) => unknown).apply(this, a);
    } as typeof real;
  }
}

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
    servers?: boolean;
  };
  if (job.servers) patchServers(job.at);
  else if (job.at === 'purge') {
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
