/**
 * collectionMaps.*.indexedProps get real head indexes (issue 9 item 11): one index per property
 * (`metaIndexed.<prop>`, `_id`), created once per namespace per process (client), like the
 * namespace's other indexes; filters, smartInsert lookups and keyset pages can read them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { CollectionEngine, physicalName, type Namespace } from '@chronos-db/core';
import { createLocalBlobStore } from '@chronos-db/storage-local';
import { createMongoMetadataStore } from '@chronos-db/storage-mongo';
import { describeMongo, MONGO_URL, rand } from './helpers/env';

describeMongo('storage-mongo indexedProps: head indexes', () => {
  it('exist after first use, with itemId (_id) after the property, and are created once per namespace per process', async () => {
    const basePath = mkdtempSync(join(tmpdir(), 'chronos-mongo-idx-'));
    const client = new MongoClient(MONGO_URL!, { monitorCommands: true });
    const created: string[] = [];
    const headFinds: Array<Record<string, unknown>> = [];
    client.on('commandStarted', (e) => {
      if (e.commandName === 'createIndexes')
        created.push(`${String(e.command.createIndexes)}:${(e.command.indexes as Array<{ name: string }>).map((i) => i.name).join(',')}`);
      if (e.commandName === 'find' && String(e.command.find).endsWith('_head')) headFinds.push((e.command.filter ?? {}) as Record<string, unknown>);
    });
    const meta = createMongoMetadataStore({ client });
    const blobs = createLocalBlobStore({ basePath });
    const ns: Namespace = { dbName: `idx_${rand(8)}`, collection: 'people', tenant: 't1' };
    const map = { indexedProps: ['status', 'owner.name', 'email'] };
    try {
      const a = new CollectionEngine({ ns, meta, blobs, map });
      await a.create({ status: 'new', owner: { name: 'ann' }, email: 'a@x' });
      await a.smartInsert({ status: 'new', email: 'b@x' }, { uniqueKeys: ['email'] });
      expect((await a.listByMeta({ filter: { status: 'new' } })).items).toHaveLength(2);
      await a.listByMeta({ filter: { 'owner.name': 'ann', email: { $in: ['a@x', 'b@x'] } } });
      const head = client.db(ns.dbName).collection(`${physicalName(ns)}_head`);
      const byName = new Map((await head.listIndexes().toArray()).map((i) => [i.name as string, i.key as Record<string, number>]));
      // every indexed property has its index: the property, then _id (keyset order)
      for (const prop of map.indexedProps) expect([prop, byName.get(`mi_${prop.replace(/\./g, '~')}`)]).toEqual([prop, { [`metaIndexed.${prop}`]: 1, _id: 1 }]);
      const propIndexCommands = () => created.filter((c) => c.includes(':mi_')).length;
      expect(propIndexCommands()).toBe(map.indexedProps.length);
      // the head queries of smartInsert and listByMeta select by properties that lead an index
      // (a query may add residual guards, e.g. that `owner` is not an array, beside the indexed condition)
      const leading = new Set([...byName.values()].map((k) => Object.keys(k)[0]));
      const selecting = headFinds
        .map((f) => [...JSON.stringify(f).matchAll(/"(metaIndexed\.[^"]+)":\{"\$(?:eq|in|gt|gte|lt|lte)"/g)].map((m) => m[1]!))
        .filter((fields) => fields.length > 0);
      expect(new Set(selecting.flat())).toEqual(new Set(['metaIndexed.status', 'metaIndexed.email', 'metaIndexed.owner.name']));
      for (const fields of selecting) for (const f of fields) expect([f, leading.has(f)]).toEqual([f, true]);
      // and they cannot filter on anything else: a unique key or filter outside indexedProps is refused
      await expect(a.smartInsert({ status: 'new', phone: '1' }, { uniqueKeys: ['phone'] })).rejects.toMatchObject({ code: 'VALIDATION' });
      await expect(a.listByMeta({ filter: { phone: '1' } })).rejects.toMatchObject({ code: 'VALIDATION' });
      const firstRound = created.length;
      // another engine (and store) on the same client and namespace: nothing is created again
      const meta2 = createMongoMetadataStore({ client });
      const b = new CollectionEngine({ ns, meta: meta2, blobs, map });
      await b.create({ status: 'done', email: 'c@x' });
      await b.smartInsert({ status: 'done', email: 'c@x' }, { uniqueKeys: ['email'] });
      await meta.ensureNamespace(ns, map);
      expect(created.length).toBe(firstRound);
      await meta2.close();
    } finally {
      await meta.close();
      await blobs.close();
      await client.close();
      rmSync(basePath, { recursive: true, force: true });
    }
  });
});
