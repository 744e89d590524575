import fc from 'fast-check';
import { RouteError, ValidationError, parseConfig, type ChronosConfig } from '@chronos-db/core';
import { buildTopology, hashedBackend, initialPlacement, namespaceOfKey, placementKey, registryLocation, targetBackend } from '@chronos-db/router';

const conn = (key: string, uri = `mongodb://h-${key}:27017/`) => ({ key, mongoUri: uri, dbName: `db_${key}` });
const topo = (cfg: Partial<ChronosConfig>) =>
  buildTopology(parseConfig({ localStorage: { enabled: true, basePath: '/tmp/chronos-placement' }, ...cfg } as ChronosConfig));
const three = { databases: { runtime: { tenants: [conn('s1'), conn('s2'), conn('s3')] } } };
const four = { databases: { runtime: { tenants: [conn('s1'), conn('s2'), conn('s3'), conn('s4')] } } };

describe('placement (pure)', () => {
  it('placementKey and namespaceOfKey round-trip every valid namespace; a malformed key is a ValidationError', () => {
    const name = fc.stringMatching(/^[A-Za-z][A-Za-z0-9_-]{0,20}$/).filter((n) => !n.toLowerCase().startsWith('system'));
    fc.assert(
      fc.property(name, name, fc.option(name, { nil: undefined }), (dbName, collection, tenant) => {
        const ns = { dbName, collection, ...(tenant !== undefined ? { tenant } : {}) };
        expect(namespaceOfKey(placementKey(ns))).toEqual(ns);
      }),
    );
    expect(() => namespaceOfKey('a|b')).toThrow(ValidationError);
    expect(() => namespaceOfKey('a|b|c|d')).toThrow(ValidationError);
    expect(() => placementKey({ dbName: 'a|b', collection: 'c' })).toThrow(ValidationError);
  });

  it('the registry lives in the counters database when configured, else on the first hashing backend in config order; none for the embedded store', () => {
    expect(registryLocation(topo(three), { mongoUri: 'mongodb://c/', dbName: 'cnt' })).toEqual({ mongoUri: 'mongodb://c/', dbName: 'cnt', source: 'counters' });
    expect(registryLocation(topo(three))).toMatchObject({ dbName: 'db_s1', source: 's1' });
    // adding a backend at the end of the list never moves it
    expect(registryLocation(topo(four))).toMatchObject({ source: 's1' });
    // a backend hashed contexts may not use is never the registry
    const kn = {
      databases: { knowledge: { generic: conn('k') }, runtime: { tenants: [conn('s1')] } },
      routing: { hashAlgo: 'rendezvous' as const, chooseKey: 'runtime' },
    };
    expect(registryLocation(topo(kn))).toMatchObject({ source: 's1' });
    expect(registryLocation(topo({ localStorage: { enabled: true, basePath: '/tmp/x' } }))).toBeNull();
  });

  it('a namespace without an entry goes where its data is (probe), else to the hash', () => {
    const t = topo(four);
    const ns = { dbName: 'shop', collection: 'orders', tenant: 'acme' };
    const h = hashedBackend(t, ns).key;
    expect(initialPlacement(t, ns, [])).toEqual({ backend: t.byKey.get(h), origin: 'hash' });
    const other = ['s1', 's2', 's3', 's4'].find((k) => k !== h)!;
    expect(initialPlacement(t, ns, [other]).backend.key).toBe(other);
    expect(initialPlacement(t, ns, [other, h]).backend.key).toBe(h);
  });

  it('targetBackend is the hash without the drained backends; draining every one is a RouteError', () => {
    const t = topo(four);
    for (let i = 0; i < 200; i++) {
      const ns = { dbName: 'shop', collection: 'orders', tenant: `t${i}` };
      expect(targetBackend(t, ns).key).toBe(hashedBackend(t, ns).key);
      const drained = targetBackend(t, ns, ['s2']).key;
      expect(drained).not.toBe('s2');
      // rendezvous: only s2's namespaces change
      if (hashedBackend(t, ns).key !== 's2') expect(drained).toBe(hashedBackend(t, ns).key);
      // the 3-backend topology agrees with 4 minus s4
      expect(targetBackend(t, ns, ['s4']).key).toBe(hashedBackend(topo(three), ns).key);
    }
    expect(() => targetBackend(t, { dbName: 'a', collection: 'b' }, ['s1', 's2', 's3', 's4'])).toThrow(RouteError);
  });
});
