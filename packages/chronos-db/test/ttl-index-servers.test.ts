/**
 * TTL marking on FerretDB reads the stale heads, not the collection (issue 9 item 11 / TTL):
 * `admin.markItemsAsProcessedByTTL` goes through `findHeadsByState`, one range of the heads
 * index `state_at_id` per state. Proven by command monitoring on the instance's own MongoClient
 * (every document the heads collection returns is counted from the replies' batches) while a
 * small stale subset of a larger collection is marked, and by listIndexes.
 */
import type { CommandStartedEvent, CommandSucceededEvent } from 'mongodb';
import { physicalName, type Namespace } from '@chronos-db/core';
import { createMongoMetadataStore } from '@chronos-db/storage-mongo';
import { mkVersion } from '@chronos-db/testkit';
import { initChronos } from 'chronos-db';
import { buckets, createBuckets, describeServers, rnd } from './helpers/servers.js';

const FRESH = 240;
const STALE = 12;

describeServers('TTL marking on FerretDB', (env) => {
  it(`marks ${STALE} stale records of ${FRESH + STALE} reading only the stale heads, through the state_at_id index`, async () => {
    const r = rnd();
    const names = buckets('ttl');
    await createBuckets(env, names);
    const dbName = `ttl_${r}`;
    const chronos = initChronos({
      databases: { runtime: { generic: { key: 'rt', mongoUri: env.mongoUrl, dbName } } },
      spacesConns: [{ endpoint: env.s3Endpoint, region: 'us-east-1', accessKey: env.accessKey, secretKey: env.secretKey, forcePathStyle: true, ...names }],
    });
    // The same URI gives the same shared client as the instance's: the test watches its commands.
    const store = createMongoMetadataStore({ uri: env.mongoUrl });
    const ctx = { key: 'rt', collection: 'users' };
    const ns: Namespace = { dbName, collection: 'users' };
    const headCol = `${physicalName(ns)}_head`;
    try {
      const users = chronos.with(ctx);
      const created = await users.create({ email: 'via-api@example.com' });
      // the rest seeded straight into the metadata store (TTL marking reads heads only): fresh ones now, stale ones 3 days ago
      const now = Date.now();
      const old = now - 72 * 3600_000;
      const ids = Array.from({ length: FRESH + STALE }, (_, i) => `r${String(i).padStart(4, '0')}`);
      const staleIds = new Set(ids.filter((_, i) => i % Math.floor((FRESH + STALE) / STALE) === 0).slice(0, STALE));
      expect(staleIds.size).toBe(STALE);
      for (let i = 0; i < ids.length; i += 60) {
        const inputs = ids.slice(i, i + 60).map((id) => {
          const at = staleIds.has(id) ? old : now;
          return { ns, version: mkVersion(ns, id, 0, { at }), expectedOv: null, head: { createdAt: at, state: 'new' as const } };
        });
        const res = await store.commitMany!(inputs);
        expect(res.every((x) => x.ok)).toBe(true);
      }
      await store.settle(); // the commits' pending-head flags cleared: no repair reads below

      const started = new Map<number, string>();
      let headDocs = 0;
      const headFilters: unknown[] = [];
      const onStart = (e: CommandStartedEvent) => {
        const coll =
          e.commandName === 'find'
            ? e.command.find
            : e.commandName === 'getMore'
              ? e.command.collection
              : e.commandName === 'aggregate'
                ? e.command.aggregate
                : undefined;
        if (coll === headCol) {
          started.set(e.requestId, e.commandName);
          if (e.commandName !== 'getMore') headFilters.push(e.command.filter ?? e.command.pipeline);
        }
      };
      const onOk = (e: CommandSucceededEvent) => {
        if (!started.has(e.requestId)) return;
        const cursor = (e.reply as { cursor?: { firstBatch?: unknown[]; nextBatch?: unknown[] } }).cursor;
        headDocs += (cursor?.firstBatch ?? cursor?.nextBatch ?? []).length;
      };
      const client = store.client;
      client.on('commandStarted', onStart);
      client.on('commandSucceeded', onOk);
      let dry: unknown;
      let done: unknown;
      let dryDocs = 0;
      try {
        dry = await chronos.admin.markItemsAsProcessedByTTL(ctx, 24, { dryRun: true });
        dryDocs = headDocs;
        done = await chronos.admin.markItemsAsProcessedByTTL(ctx, 24, { confirm: true });
      } finally {
        client.off('commandStarted', onStart);
        client.off('commandSucceeded', onOk);
      }
      expect(dry).toEqual({ scanned: STALE, marked: STALE, dryRun: true });
      expect(done).toEqual({ scanned: STALE, marked: STALE, dryRun: false });
      // only the stale heads came back (once per run), never the collection (the old scan returned all of them)
      expect(headFilters.length).toBeGreaterThan(0);
      expect(dryDocs).toBe(STALE);
      expect(headDocs).toBe(2 * STALE);
      for (const f of headFilters) expect(JSON.stringify(f)).toContain('"state"');

      const indexes = await client.db(dbName).collection(headCol).listIndexes().toArray();
      expect(indexes.find((i) => i.name === 'state_at_id')?.key).toEqual({ state: 1, at: 1, _id: 1 });

      const heads = await store.queryHeads(ns, { limit: 1000 });
      expect(heads).toHaveLength(ids.length + 1);
      for (const h of heads)
        expect([h.itemId, h.state]).toEqual([
          h.itemId,
          staleIds.has(h.itemId) ? 'processed' : h.itemId === created.id ? expect.not.stringMatching(/^processed$/) : 'new',
        ]);
    } finally {
      await store.close();
      await chronos.admin.shutdown();
    }
  });
});
