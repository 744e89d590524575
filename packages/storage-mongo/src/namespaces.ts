/**
 * `listNamespaces`: the namespaces a server holds, for maintenance without a context.
 *
 * A namespace's collections are named `<physicalName(ns)>_ver` / `_head`, and
 * `<tenant>__<collection>` cannot always be split back (a collection may contain `__` too).
 * So `ensureNamespace` records each namespace's parts in `chronos_namespaces` of its database
 * (`_id` = physicalName, once per client per process, with the indexes), and this reads them
 * back, keeping those whose `_ver` collection exists.
 *
 * A `_ver` collection with no record (written before the registry existed) is found once and
 * recorded (a backfill, so the next listing reads the record): a tenant-less collection when its
 * name has no `__`; otherwise its parts are read from the `jsonKey` of one of its versions (or
 * heads), which every write names `<dbName>/[t.<tenant>/]<collection>/...` (core keyPrefix):
 * the parts are kept only when they are valid names and give back the physical name. A name that
 * still cannot be split (no document, or keys of another shape) is left out, with a warning.
 */
import { assertCollection, assertDbName, assertTenant, physicalName, type Namespace } from '@chronos-db/core';
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

/** Whether `assert` accepts a name. */
const passes =
  (assert: (name: unknown) => void) =>
  (name: string): boolean => {
    try {
      assert(name);
      return true;
    } catch {
      return false;
    }
  };
const validCollection = passes(assertCollection);
const validTenant = passes(assertTenant);

/**
 * The namespace of physical name `p` in database `dbName`, from a payload key its documents
 * name (`<dbName>/[t.<tenant>/]<collection>/<id>/...`), or null when the key does not give
 * back `p` with valid parts.
 */
export function namespaceFromKey(dbName: string, p: string, key: unknown): Namespace | null {
  if (typeof key !== 'string' || !key.startsWith(`${dbName}/`)) return null;
  const [a, b] = key.slice(dbName.length + 1).split('/');
  if (a === undefined) return null;
  const ns: Namespace = a.startsWith('t.') && b !== undefined ? { dbName, tenant: a.slice(2), collection: b } : { dbName, collection: a };
  if (!validCollection(ns.collection) || (ns.tenant !== undefined && !validTenant(ns.tenant))) return null;
  return physicalName(ns) === p ? ns : null;
}

/** The namespace of an unrecorded physical name `p` (see the file comment), or null. */
async function unrecorded(ctx: StoreCtx, dbName: string, p: string): Promise<Namespace | null> {
  if (!p.includes('__')) return validCollection(p) ? { dbName, collection: p } : null;
  const db = ctx.client.db(dbName);
  for (const suffix of ['_ver', '_head']) {
    const doc = await db.collection<{ jsonKey?: unknown }>(`${p}${suffix}`).findOne({}, { projection: { jsonKey: 1 } });
    if (doc) return namespaceFromKey(dbName, p, doc.jsonKey);
  }
  return null;
}

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
        if (r) {
          out.push({ dbName, collection: r.collection, ...(r.tenant !== undefined ? { tenant: r.tenant } : {}) });
          continue;
        }
        const ns = await unrecorded(ctx, dbName, p);
        if (ns) {
          // the backfill: recorded once, as ensureNamespace would have
          await recordNamespace(ctx, ns, p);
          out.push(ns);
        } else if (validCollection(p.split('__').pop() ?? ''))
          ctx.log.warn(
            'listNamespaces: a namespace without a record whose documents do not name its parts (tenant__collection) is left out until a process ensures it',
            { dbName, name: p },
          );
      }
    }
    return out;
  });
}
