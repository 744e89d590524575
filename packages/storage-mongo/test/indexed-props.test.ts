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
    client.on('commandStarted', (e) => {
      if (e.commandName === 'createIndexes')
        created.push(`${String(e.command.createIndexes)}:${(e.command.indexes as Array<{ name: string }>).map((i) => i.name).join(',')}`);
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
      const head = client.db(ns.dbName).collection(`${physicalName(ns)}_head`);
      const byName = new Map((await head.listIndexes().toArray()).map((i) => [i.name as string, i.key as Record<string, number>]));
      expect(byName.get('mi_status')).toEqual({ 'metaIndexed.status': 1, _id: 1 });
      expect(byName.get('mi_owner~name')).toEqual({ 'metaIndexed.owner.name': 1, _id: 1 });
      expect(byName.get('mi_email')).toEqual({ 'metaIndexed.email': 1, _id: 1 });
      const propIndexCommands = () => created.filter((c) => c.includes(':mi_')).length;
      expect(propIndexCommands()).toBe(3);
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
