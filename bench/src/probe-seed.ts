/** Dev aid: seeds N records 16 at a time through the engine (the bench's list/restore setup), printing progress; for FerretDB stalls. */
import type { MongoClient } from 'mongodb';
import { openRemote, remoteEnvFromProcess, payload } from './index.js';

const n = Number(process.argv[2] ?? 1200);
const env = remoteEnvFromProcess();
if ('missing' in env) throw new Error(`missing ${env.missing.join(', ')}`);
const s = await openRemote(env);
const client: MongoClient = s.ours.meta.client;
const open = new Map<number, string>();
client.on('commandStarted', (e) =>
  open.set(
    e.requestId,
    `${e.commandName} ${JSON.stringify((e.command as Record<string, unknown>).filter ?? (e.command as Record<string, unknown>).updates ?? '').slice(0, 120)}`,
  ),
);
client.on('commandSucceeded', (e) => open.delete(e.requestId));
client.on('commandFailed', (e) => open.delete(e.requestId));
const counts = new Map<string, number>();
client.on('commandStarted', (e) => counts.set(e.commandName, (counts.get(e.commandName) ?? 0) + 1));
const e = s.ours.engine('bulk', { indexedProps: ['grp', 'n'] });
let done = 0;
const timer = setInterval(() => {
  console.log(`done ${done}/${n}; in flight: ${open.size}; commands ${JSON.stringify(Object.fromEntries(counts))}`);
  if (open.size) for (const v of [...open.values()].slice(0, 5)) console.log(`   ${v}`);
}, 3000);
const idx = Array.from({ length: n }, (_, i) => i);
let next = 0;
await Promise.all(
  Array.from({ length: 16 }, async () => {
    while (next < idx.length) {
      const i = next++;
      await e.create(payload(i, 1024, i % 10 === 9 ? 'h' : 'g'));
      done++;
    }
  }),
);
clearInterval(timer);
console.log(`seeded ${done}`);
await s.close();
