/**
 * A writer that leaves a ghost version on MongoDB: it updates a record, and (a fault-injection
 * wrapper around the real driver) holds its version insert until the parent says GO on stdin
 * (the parent erases the record meanwhile), then inserts, writes the head, and SIGKILLs itself
 * at its tombstone look: the first read of the `_erasures` collection after the insert.
 */
import { createInterface } from 'node:readline';
import { createRequire } from 'node:module';
import { initChronos, type ChronosConfig } from 'chronos-db';

const nodeRequire: NodeRequire = typeof __filename === 'string' ? require : createRequire(import.meta.url);
const { Collection } = nodeRequire('mongodb') as typeof import('mongodb');

const die = (): Promise<never> => {
  process.kill(process.pid, 'SIGKILL');
  return new Promise(() => {});
};

async function main() {
  const job = JSON.parse(process.env.GHOST_JOB!) as {
    config: ChronosConfig;
    ctx: { key: string; collection: string };
    id: string;
    data: Record<string, unknown>;
  };
  const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
  let inserted = false;
  const realInsert = Collection.prototype.insertOne;
  Collection.prototype.insertOne = async function (this: InstanceType<typeof Collection>, ...a: unknown[]) {
    if (this.collectionName.endsWith('_ver') && !inserted) {
      process.stdout.write('READY\n');
      await lines.next(); // GO: the erasure has finished
      const out = await (realInsert as (...x: unknown[]) => Promise<unknown>).apply(this, a);
      inserted = true;
      return out;
    }
    return (realInsert as (...x: unknown[]) => Promise<unknown>).apply(this, a);
  } as typeof realInsert;
  const realFindOne = Collection.prototype.findOne;
  Collection.prototype.findOne = function (this: InstanceType<typeof Collection>, ...a: unknown[]) {
    if (inserted && this.collectionName.endsWith('_erasures')) return die();
    return (realFindOne as (...x: unknown[]) => unknown).apply(this, a);
  } as typeof realFindOne;
  const chronos = initChronos(job.config);
  await chronos.with(job.ctx).update(job.id, job.data);
  console.log('NOT KILLED');
  process.exit(3);
}

main().catch((e) => {
  console.error(e);
  process.exit(2);
});
