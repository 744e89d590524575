/**
 * `listNamespaces`: the namespaces a server holds, for maintenance without a context.
 *
 * A namespace's collections are named `<physicalName(ns)>_ver` / `_head`, and
 * `<tenant>__<collection>` cannot always be split back (a collection may contain `__` too).
 * So `ensureNamespace` records each namespace's parts in `chronos_namespaces` of its database
 * (`_id` = physicalName, once per client per process, with the indexes), and this reads them
 * back, keeping those whose `_ver` collection exists. A `_ver` collection with no record
 * (written before the record existed) is a tenant-less collection when its name has no `__`;
 * otherwise it is ambiguous and left out, with a warning naming it.
 */
import { assertCollection, assertDbName, type Namespace } from '@chronos-db/core';
import type { StoreCtx } from './context.js';
import type { StoredNamespace } from './docs.js';

export const NAMESPACES = 'chronos_namespaces';
const SYSTEM_DBS = new Set(['admin', 'local', 'config']);
const VALID_DB = /^[A-Za-z0-9_-]{1,63}$/;

/** Records a namespace's parts (idempotent; a duplicate is the same record). */
export async function recordNamespace(ctx: StoreCtx, ns: Namespace, name: string): Promise<void> {
  const doc: Omit<StoredNamespace, '_id'> = { collection: ns.collection, ...(ns.tenant !== undefined ? { tenant: ns.tenant } : {}) };
  await ctx.client.db(ns.dbName).collection<StoredNamespace>(NAMESPACES).updateOne({ _id: name }, { $setOnInsert: doc }, { upsert: true });
}

const validCollection = (name: string): boolean => {
  try {
    assertCollection(name);
    return true;
  } catch {
    return false;
  }
};

export async function listNamespaces(ctx: StoreCtx, q?: { dbNames?: readonly string[] }): Promise<Namespace[]> {
  if (q?.dbNames !== undefined) for (const d of q.dbNames) assertDbName(d);
  return ctx.run('list namespaces', async () => {
    const dbNames =
      q?.dbNames !== undefined
        ? [...new Set(q.dbNames)]
        : (await ctx.client.db('admin').admin().listDatabases({ nameOnly: true })).databases
            .map((d) => d.name)
            .filter((n) => VALID_DB.test(n) && !SYSTEM_DBS.has(n));
    const out: Namespace[] = [];
    for (const dbName of dbNames) {
      const db = ctx.client.db(dbName);
      const names = new Set((await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name));
      const phys = [...names].filter((n) => n.endsWith('_ver')).map((n) => n.slice(0, -4));
      if (!phys.length) continue;
      const recorded = new Map<string, StoredNamespace>();
      if (names.has(NAMESPACES)) for (const d of await db.collection<StoredNamespace>(NAMESPACES).find({}).toArray()) recorded.set(d._id, d);
      for (const p of phys.sort()) {
        const r = recorded.get(p);
        if (r) out.push({ dbName, collection: r.collection, ...(r.tenant !== undefined ? { tenant: r.tenant } : {}) });
        else if (!p.includes('__') && validCollection(p)) out.push({ dbName, collection: p });
        else if (validCollection(p.split('__').pop() ?? ''))
          ctx.log.warn('listNamespaces: a namespace without a record is ambiguous (tenant__collection); it is left out until a process ensures it', {
            dbName,
            name: p,
          });
      }
    }
    return out;
  });
}
