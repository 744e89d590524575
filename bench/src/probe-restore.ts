/** Dev aid: seeds N records, updates half, restores the collection to the seeded cv (scanHeads + commitMany), printing progress. */
import { type CollectionEngine, mapLimit } from '@chronos-db/core';
import { openRemote, remoteEnvFromProcess, payload } from './index.js';

const n = Number(process.argv[2] ?? 300);
const pageSize = Number(process.argv[3] ?? 100);
const env = remoteEnvFromProcess();
if ('missing' in env) throw new Error(`missing ${env.missing.join(', ')}`);
const s = await openRemote(env);
const e = s.ours.engine('r', { indexedProps: ['grp', 'n'] });
const ids = await mapLimit(
  Array.from({ length: n }, (_, i) => i),
  16,
  async (i) => (await e.create(payload(i, 256))).id,
);
const cv = await s.ours.meta.currentCv(e.ns);
await mapLimit(
  ids.filter((_, i) => i % 2 === 0),
  16,
  (id) => e.update(id, payload(1, 256)),
);
console.log('seeded', n, 'cv', cv);
const hb = setInterval(() => console.log('  ...waiting'), 5000);
const t0 = Date.now();
const r = await (e as CollectionEngine).restoreCollection({ cv }, { pageSize, parallel: 4, onProgress: (p) => console.log('progress', JSON.stringify(p)) });
clearInterval(hb);
console.log('restored', JSON.stringify(r), Date.now() - t0, 'ms');
await s.close();
