/** Dev aid: prints the Mongo commands (with their filters) of one create, update, getLatest, getVersion and getAsOf. */
import type { MongoClient } from 'mongodb';
import { createMongoMetadataStore } from '@chronos-db/storage-mongo';
import { openRemote, remoteEnvFromProcess, payload } from './index.js';

const env = remoteEnvFromProcess();
if ('missing' in env) throw new Error(`missing ${env.missing.join(', ')}`);
const s = await openRemote(env);
const client: MongoClient = s.ours.meta.client;
let on = false;
client.on('commandStarted', (e) => {
  if (!on) return;
  const c = e.command as Record<string, unknown>;
  const body = JSON.stringify(c.filter ?? c.updates ?? c.documents ?? c.deletes ?? '', (_k, v) =>
    typeof v === 'string' && v.length > 40 ? `${v.slice(0, 40)}…` : v,
  ).slice(0, 260);
  console.log(`  ${e.commandName} ${String(c[e.commandName])} ${body}`);
});
const e = s.ours.engine('probe', { indexedProps: ['grp', 'n'] });
const { id } = await e.create(payload(0, 1024));
await e.update(id, payload(1, 1024));
for (const [name, fn] of [
  ['create', () => e.create(payload(2, 1024))],
  ['update', () => e.update(id, payload(3, 1024))],
  ['getLatest', () => e.getLatest(id)],
  ['getVersion', () => e.getVersion(id, 1)],
  ['getAsOf', () => e.getAsOf(id, Date.now() - 1)],
  ['listByMeta', () => e.listByMeta({ filter: { grp: 'g' }, limit: 2 })],
] as const) {
  console.log(name);
  on = true;
  await (fn as () => Promise<unknown>)();
  on = false;
}
await s.close();
void createMongoMetadataStore;
