/** Dev aid: per-command durations of updates at depth 1 and depth N (FerretDB cost by command). */
import type { MongoClient } from 'mongodb';
import { openRemote, remoteEnvFromProcess, payload } from './index.js';

const depth = Number(process.argv[2] ?? 1000);
const env = remoteEnvFromProcess();
if ('missing' in env) throw new Error(`missing ${env.missing.join(', ')}`);
const s = await openRemote(env);
const client: MongoClient = s.ours.meta.client;
const stats = new Map<string, number[]>();
const started = new Map<number, string>();
let on = false;
client.on('commandStarted', (e) => {
  if (on) started.set(e.requestId, `${e.commandName} ${String((e.command as Record<string, unknown>)[e.commandName])}`);
});
client.on('commandSucceeded', (e) => {
  const k = started.get(e.requestId);
  if (!k) return;
  started.delete(e.requestId);
  (stats.get(k) ?? stats.set(k, []).get(k)!).push(e.duration);
});
const e = s.ours.engine('probe', { indexedProps: ['grp', 'n'] });
for (const d of [1, depth]) {
  const { id } = await e.create(payload(0, 1024));
  for (let i = 1; i < d; i++) await e.update(id, payload(i, 1024));
  stats.clear();
  on = true;
  const t0 = performance.now();
  for (let i = 0; i < 30; i++) await e.update(id, payload(i, 1024));
  const dt = (performance.now() - t0) / 30;
  on = false;
  console.log(`depth ${d}: ${dt.toFixed(1)} ms per update`);
  for (const [k, v] of stats) console.log(`  ${k}: n=${v.length} mean ${(v.reduce((a, b) => a + b, 0) / v.length).toFixed(1)} ms`);
}
await s.close();
