/**
 * Dev aid: what one listAsOf page costs on the remote stores at 10 and at 1,000 versions per
 * record: Mongo commands by kind (command monitoring), process CPU per page, wall time.
 * Seeded like the bench (history.ts seedChains): records created through the engine, chains extended raw.
 * `tsx bench/src/probe-as-of.ts [records=50] [hiDepth=1000] [pages=5]`
 */
import type { Document, MongoClient } from 'mongodb';
import { physicalName } from '@chronos-db/core';
import { seedChains } from './history.js';
import { openRemote, remoteEnvFromProcess } from './index.js';

const [records, hi, pages] = [Number(process.argv[2] ?? 50), Number(process.argv[3] ?? 1000), Number(process.argv[4] ?? 5)];
const env = remoteEnvFromProcess();
if ('missing' in env) throw new Error(`missing ${env.missing.join(', ')}`);
const s = await openRemote(env);
const client: MongoClient = s.ours.meta.client;
const db = s.raw.mongo.db(s.dbName);
let on = false;
const kinds = new Map<string, number>();
client.on('commandStarted', (e) => {
  if (!on) return;
  const c = e.command as Record<string, unknown>;
  const f = JSON.stringify(c.filter ?? c.updates ?? '');
  const shape = `${e.commandName} ${String(c[e.commandName]).replace(/^.*_/, '_')} ${f.replace(/"[^"]*"/g, (m) => (m.length > 12 ? '"…"' : m)).slice(0, 80)}`;
  kinds.set(shape, (kinds.get(shape) ?? 0) + 1);
});
try {
  for (const depth of [10, hi]) {
    const { coll, midCv } = await seedChains(s, `probe_d${depth}`, records, depth);
    const e = s.ours.engine(coll, { indexedProps: ['grp', 'n'] });
    const ver = db.collection<Document>(`${physicalName(e.ns)}_ver`);
    await e.listAsOf({ cv: midCv }, { limit: records }); // warm
    kinds.clear();
    on = true;
    const cpu0 = process.cpuUsage();
    const w0 = performance.now();
    for (let p = 0; p < pages; p++) {
      const r = await e.listAsOf({ cv: midCv }, { limit: records });
      if (r.items.length !== records) throw new Error(`${r.items.length} items`);
    }
    const wall = (performance.now() - w0) / pages;
    const cpu = process.cpuUsage(cpu0);
    on = false;
    const total = [...kinds.values()].reduce((a, b) => a + b, 0);
    console.log(
      `depth ${depth}: ${records} records, ${records * (depth + 1)} versions; per page: ${(total / pages).toFixed(1)} Mongo commands, CPU ${((cpu.user + cpu.system) / 1000 / pages).toFixed(1)} ms, wall ${wall.toFixed(1)} ms`,
    );
    for (const [k, n] of [...kinds.entries()].sort((a, b) => b[1] - a[1])) console.log(`   ${(n / pages).toFixed(1)}  ${k}`);
    const t = performance.now();
    await ver.find({ _h: true }).limit(100).toArray();
    console.log(`   raw find({ _h: true }) on the versions: ${(performance.now() - t).toFixed(1)} ms`);
  }
} finally {
  await s.close();
}
