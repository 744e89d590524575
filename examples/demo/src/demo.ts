/**
 * chronos-db on the embedded default: metadata in SQLite and payloads on the
 * filesystem under ./data/demo-<time>, no server at all.
 *
 *   pnpm demo
 */
import { rm } from 'node:fs/promises';
import { initChronos, OptimisticLockError } from 'chronos-db';

const basePath = process.env.CHRONOS_DEMO_PATH ?? `./data/demo-${Date.now()}`;
const line = (title: string) => console.log(`\n== ${title} ${'='.repeat(Math.max(0, 66 - title.length))}`);
const show = (label: string, v: unknown) => console.log(`${label.padEnd(28)} ${JSON.stringify(v)}`);
const pause = () => new Promise((r) => setTimeout(r, 15));

async function main() {
  const chronos = initChronos({
    localStorage: { enabled: true, basePath },
    collectionMaps: { users: { indexedProps: ['email', 'plan'] } },
    counterRules: { rules: [{ name: 'pro', on: ['CREATE', 'UPDATE'], when: { plan: 'pro' } }] },
  });
  const users = chronos.with({ dbName: 'myapp', collection: 'users' });

  line('create');
  const { id, ov } = await users.create({ email: 'a@example.com', plan: 'free' }, 'signup', 'new user');
  show('created', { id, ov });
  const bob = await users.create({ email: 'b@example.com', plan: 'pro' }, 'signup', 'new user');
  const carol = await users.create({ email: 'c@example.com', plan: 'free' }, 'signup', 'new user');
  show('two more', [bob.id, carol.id]);
  await pause();
  const before = new Date();
  const cvBefore = (await users.getLatest(carol.id, { includeMeta: true }))!._meta!.cv as number;
  await pause();

  line('update, enrich, delete');
  const up = await users.update(id, { email: 'a@example.com', plan: 'pro' }, 0, 'billing', 'upgrade');
  show('updated', up);
  try {
    await users.update(id, { email: 'stale@example.com', plan: 'free' }, 0);
  } catch (e) {
    if (e instanceof OptimisticLockError) show('stale expectedOv refused', e.message);
    else throw e;
  }
  const en = await users.enrich(id, { profile: { city: 'Berlin' }, tags: ['early'] }, { functionId: 'geo@1' });
  show('enriched', en);
  await users.enrich(id, { tags: ['vip', 'early'] }, { functionId: 'crm@2' });
  show('latest', await users.getLatest(id));
  const del = await users.delete(carol.id, undefined, 'support', 'account closed');
  show('deleted carol', del);
  show('carol latest', await users.getLatest(carol.id));

  line('history of one record');
  for (const h of (await users.history(id, { dir: 'asc' })).items)
    console.log(`  v${h.ov}  cv=${h.cv}  ${h.op.padEnd(7)} by ${h.actor ?? '-'}  ${h.reason ?? ''}`);

  line('time travel');
  show('version 0', await users.getVersion(id, 0));
  show(`as of ${before.toISOString()}`, await users.getAsOf(id, before));
  const page = await users.listByMeta({ filter: { plan: 'pro' }, limit: 10 });
  show(
    'plan = pro now',
    page.items.map((u) => u.email),
  );

  line('restore');
  const ro = await users.restoreObject(id, { ov: 0 }, { actor: 'ops', reason: 'undo upgrade' });
  show('restoreObject to v0', ro);
  show('latest after restore', await users.getLatest(id));
  const rc = await users.restoreCollection(
    { cv: cvBefore },
    {
      reason: 'back to the morning',
      onProgress: (p) => console.log(`  progress: scanned ${p.scanned}, planned ${p.planned}, restored ${p.restored}`),
    },
  );
  show('restoreCollection', rc);
  show('carol is back', await users.getLatest(carol.id));
  show(
    'history kept',
    (await users.history(carol.id, { dir: 'asc' })).items.map((h) => `v${h.ov}:${h.op}`),
  );

  line('counters');
  show('totals', await chronos.counters.getTotals({ dbName: 'myapp', collection: 'users' }));
  show('health', (await chronos.admin.health()).ok);

  await chronos.admin.shutdown();
  if (!process.env.CHRONOS_DEMO_PATH) await rm(basePath, { recursive: true, force: true });
  console.log('\nDone.');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
