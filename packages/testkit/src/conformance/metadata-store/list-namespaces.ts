/** listNamespaces (optional): the namespaces a store holds, for maintenance without a context. */
import type { Namespace } from '@chronos-db/core';
import { expect } from '../../assert.js';
import { expectCode, VALIDATION } from '../helpers.js';
import { freshNs } from '../helpers.js';
import type { MetaSuite } from './context.js';

const key = (n: Namespace) => `${n.dbName}/${n.tenant ?? ''}/${n.collection}`;
const keys = (ns: Namespace[]) => ns.map(key).sort();

export function listNamespacesTests(s: MetaSuite): void {
  const { t, store, ns, create, opts } = s;
  const why = 'listNamespaces not offered (option listNamespaces: false)';
  t.describe('listNamespaces', () => {
    t.itIf(
      !!opts.listNamespaces,
      why,
      'lists every namespace ensured or written, tenants and collections with "__" told apart, each once; dbNames narrows it',
      async () => {
        const list = store.listNamespaces!.bind(store);
        const a = await ns();
        const db = a.dbName;
        const b = await ns({ dbName: db, tenant: true });
        // a collection name with '__' under a tenant: the store must not split it at the wrong '__'
        const c = await ns({ dbName: db, tenant: 'tn__x', collection: `c${a.collection.slice(1)}__y` });
        const other = await ns(); // another database; ensured, never written
        await create(a, 'A');
        await create(b, 'B');
        await create(c, 'C');
        expect(keys(await list({ dbNames: [db] }))).toEqual(keys([a, b, c]));
        expect(keys(await list({ dbNames: [db, other.dbName, db] }))).toEqual(keys([a, b, c, other]));
        expect(await list({ dbNames: [] })).toEqual([]);
        expect(await list({ dbNames: [freshNs().dbName] })).toEqual([]);
        // without dbNames: every database the store sees (other suites' too), so a superset
        const all = new Set((await list()).map(key));
        for (const n of [a, b, c, other]) expect(all.has(key(n))).toBe(true);
      },
    );

    t.itIf(!!opts.listNamespaces, why, 'refuses an invalid dbName with a ValidationError', async () => {
      await expectCode(store.listNamespaces!({ dbNames: ['bad name!'] }), VALIDATION);
      await expectCode(store.listNamespaces!({ dbNames: ['admin'] }), VALIDATION);
    });
  });
}
