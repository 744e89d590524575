import fc from 'fast-check';
import { RouteError, ValidationError } from '@chronos-db/core';
import { hashedBackend, resolveContext, routingKey, type ContextInput } from '@chronos-db/router';
import { SPACE, conn, shuffle, topo } from './helpers';

const SPACE2 = { ...SPACE, endpoint: 'https://nyc3.digitaloceanspaces.com', region: 'nyc3', jsonBucket: 'nyc-json' };
const cfg = {
  databases: {
    metadata: { generic: conn('meta-gen') },
    runtime: {
      generic: conn('rt-gen'),
      domains: [conn('rt-sales', { extIdentifier: 'sales' })],
      tenants: [conn('rt-a', { extIdentifier: 'tenant-a' }), conn('rt-b', { extIdentifier: 'tenant-b', spacesConn: 1 })],
    },
  },
  spacesConns: [SPACE, SPACE2],
};
// Every connection pairs explicitly or by default; give the defaults explicitly for two spacesConns.
for (const c of [cfg.databases.metadata.generic, cfg.databases.runtime.generic, cfg.databases.runtime.domains[0]!, cfg.databases.runtime.tenants[0]!])
  c.spacesConn ??= 0;
const t = topo(cfg);
const resolve = (ctx: unknown) => resolveContext(t, ctx as ContextInput);

describe('resolveContext', () => {
  it("form 1: by key, in the connection's database", () => {
    const r = resolve({ key: 'rt-b', collection: 'orders' });
    expect(r.form).toBe('key');
    expect(r.backend).toMatchObject({ key: 'rt-b', kind: 'mongo', type: 'runtime', tier: 'tenant', extIdentifier: 'tenant-b', dbName: 'db_rt_b' });
    expect(r.spacesConnIndex).toBe(1);
    expect(r.ns).toEqual({ dbName: 'db_rt_b', collection: 'orders' });
    expect(resolve({ key: 'rt-a', collection: 'orders', tenantId: 'x1' }).ns).toEqual({ dbName: 'db_rt_a', collection: 'orders', tenant: 'x1' });
  });

  it("form 2: by databaseType + tier (+ extIdentifier), in the connection's database", () => {
    expect(resolve({ databaseType: 'runtime', tier: 'generic', collection: 'c' })).toMatchObject({
      form: 'tier',
      backend: { key: 'rt-gen' },
      ns: { dbName: 'db_rt_gen', collection: 'c' },
    });
    expect(resolve({ databaseType: 'metadata', tier: 'generic', collection: 'c' }).backend.key).toBe('meta-gen');
    expect(resolve({ databaseType: 'runtime', tier: 'domain', extIdentifier: 'sales', collection: 'c' }).backend.key).toBe('rt-sales');
    const r = resolve({ databaseType: 'runtime', tier: 'tenant', extIdentifier: 'tenant-b', collection: 'c' });
    expect([r.backend.key, r.spacesConnIndex, r.ns.dbName]).toEqual(['rt-b', 1, 'db_rt_b']);
  });

  it("form 3: hashed, in the context's database, tenantId as ns.tenant", () => {
    const r = resolve({ dbName: 'shop', collection: 'orders', tenantId: 'acme' });
    expect(r.form).toBe('hash');
    expect(r.ns).toEqual({ dbName: 'shop', collection: 'orders', tenant: 'acme' });
    expect(t.routing.nodes).toContain(r.backend.key);
    expect(r.spacesConnIndex).toBe(r.backend.spacesConnIndex);
    expect(routingKey(t, r.ns)).toBe('shop|orders|acme');
    // Same context, same place, every time.
    for (let i = 0; i < 5; i++) expect(resolve({ dbName: 'shop', collection: 'orders', tenantId: 'acme' }).backend.key).toBe(r.backend.key);
  });

  it('unknown key, type, tier or extIdentifier is a RouteError, never a fallback', () => {
    const bad: unknown[] = [
      { key: 'nope', collection: 'c' },
      { databaseType: 'runtime', tier: 'tenant', extIdentifier: 'tenant-zzz', collection: 'c' },
      { databaseType: 'runtime', tier: 'domain', extIdentifier: 'tenant-a', collection: 'c' }, // exists, but as a tenant
      { databaseType: 'knowledge', tier: 'generic', collection: 'c' }, // no such generic
      { databaseType: 'events', tier: 'generic', collection: 'c' },
      { databaseType: 'runtime', tier: 'tenants', extIdentifier: 'tenant-a', collection: 'c' },
      { databaseType: 'runtime', tier: 'tenant', collection: 'c' }, // missing extIdentifier
      { databaseType: 'runtime', tier: 'generic', extIdentifier: 'tenant-a', collection: 'c' },
      { databaseType: 'runtime', collection: 'c' },
      { tier: 'generic', collection: 'c' },
      { collection: 'c' },
      { key: 'rt-a', dbName: 'x', collection: 'c' }, // two forms at once
      { key: 'rt-a', databaseType: 'runtime', tier: 'generic', collection: 'c' },
    ];
    for (const ctx of bad) expect([ctx, caught(ctx)]).toEqual([ctx, expect.any(RouteError)]);
  });

  it('bad names are rejected before any I/O (RELIABILITY bad input 1 and 3)', () => {
    const bad: unknown[] = [
      { key: 'a/../b', collection: 'c' },
      { key: '*', collection: 'c' },
      { key: '', collection: 'c' },
      { key: 'rt-a', collection: '../x' },
      { key: 'rt-a', collection: 'a/b' },
      { key: 'rt-a', collection: '' },
      { key: 'rt-a', collection: '$x' },
      { key: 'rt-a', collection: 'system.users' },
      { key: 'rt-a', collection: 'a\u0000b' },
      { key: 'rt-a', collection: 'x'.repeat(300) },
      { key: 'rt-a', collection: 'c', tenantId: 'a/../b' },
      { key: 'rt-a', collection: 'c', tenantId: '*' },
      { key: 'rt-a', collection: 'c', tenantId: '' },
      { databaseType: 'runtime', tier: 'tenant', extIdentifier: 'a/../b', collection: 'c' },
      { databaseType: 'runtime', tier: 'tenant', extIdentifier: '*', collection: 'c' },
      { databaseType: 'runtime', tier: 'tenant', extIdentifier: '', collection: 'c' },
      { dbName: 'a/../b', collection: 'c' },
      { dbName: '*', collection: 'c' },
      { dbName: '', collection: 'c' },
      { dbName: 'admin', collection: 'c' },
      { dbName: 'shop', collection: 'c', tenantId: 'a/../b' },
      { dbName: 'shop', collection: 'c', tenantId: 42 },
      { key: 7, collection: 'c' },
    ];
    for (const ctx of bad) {
      const e = caught(ctx);
      expect([ctx, e instanceof ValidationError || e instanceof RouteError]).toEqual([ctx, true]);
    }
    expect(() => resolve(null)).toThrow(ValidationError);
    expect(() => resolve('rt-a')).toThrow(ValidationError);
  });

  it('never echoes a URI passed by mistake as a key', () => {
    const e = caught({ key: 'mongodb://u:hunter2@h/db', collection: 'c' });
    expect(e.message).not.toContain('hunter2');
  });

  it('the hashed form gives the same backend whatever the order of backends in the config (I12)', () => {
    const tenants = Array.from({ length: 6 }, (_, i) => conn(`t-${i}`, { extIdentifier: `e${i}` }));
    const domains = Array.from({ length: 3 }, (_, i) => conn(`d-${i}`, { extIdentifier: `e${i}` }));
    const ctxs = Array.from({ length: 300 }, (_, i) => ({ dbName: `db${i % 7}`, collection: `c${i}`, ...(i % 3 ? { tenantId: `t${i % 11}` } : {}) }));
    for (const hashAlgo of ['rendezvous', 'jump'] as const) {
      const base = topo({ databases: { runtime: { tenants, domains }, knowledge: { generic: conn('k-gen') } }, spacesConns: [SPACE], routing: { hashAlgo } });
      const want = ctxs.map((c) => resolveContext(base, c).backend.key);
      expect(new Set(want).size).toBeGreaterThan(5);
      fc.assert(
        fc.property(fc.nat(), fc.boolean(), (seed, swapTypes) => {
          const databases = swapTypes
            ? { knowledge: { generic: conn('k-gen') }, runtime: { domains: shuffle(domains, seed + 1), tenants: shuffle(tenants, seed) } }
            : { runtime: { tenants: shuffle(tenants, seed), domains: shuffle(domains, seed + 1) }, knowledge: { generic: conn('k-gen') } };
          const other = topo({ databases, spacesConns: [SPACE], routing: { hashAlgo } });
          expect(ctxs.map((c) => resolveContext(other, c).backend.key)).toEqual(want);
        }),
        { numRuns: 20 },
      );
    }
  });

  it('T10 routing part: a fourth backend takes about 1/4 of hashed contexts, and only moves contexts to itself', () => {
    const three = [conn('b1'), conn('b2'), conn('b3')].map((c, i) => ({ ...c, extIdentifier: `x${i}` }));
    const before = topo({ databases: { runtime: { tenants: three } }, spacesConns: [SPACE] });
    const after = topo({ databases: { runtime: { tenants: [...three, conn('b4', { extIdentifier: 'x3' })] } }, spacesConns: [SPACE] });
    let moved = 0;
    const N = 20000;
    for (let i = 0; i < N; i++) {
      const ns = { dbName: `db${i % 13}`, collection: `c${i}` };
      const a = hashedBackend(before, ns).key;
      const b = hashedBackend(after, ns).key;
      if (a !== b) {
        moved++;
        expect(b).toBe('b4');
      }
    }
    expect(Math.abs(moved / N - 0.25)).toBeLessThan(0.05);
  });

  it('chooseKey restricts hashed contexts to a type and chooses the hashed fields', () => {
    const t2 = topo({ ...cfg, routing: { hashAlgo: 'rendezvous', chooseKey: 'metadata|tenantId' } });
    expect(t2.routing.nodes).toEqual(['meta-gen']);
    for (let i = 0; i < 20; i++) expect(resolveContext(t2, { dbName: `db${i}`, collection: 'c' }).backend.key).toBe('meta-gen');
    expect(routingKey(t2, { dbName: 'd', collection: 'c', tenant: 'acme' })).toBe('acme');
  });

  it('the embedded default resolves the hashed form, its key and runtime generic to the local backend', () => {
    const e = topo({ localStorage: { enabled: true, basePath: '/tmp/x' } });
    expect(resolveContext(e, { dbName: 'shop', collection: 'c', tenantId: 'a' })).toEqual({
      form: 'hash',
      backend: expect.objectContaining({ kind: 'local', key: 'local' }),
      spacesConnIndex: 'local',
      ns: { dbName: 'shop', collection: 'c', tenant: 'a' },
    });
    expect(resolveContext(e, { key: 'local', collection: 'c' }).ns).toEqual({ dbName: 'chronos', collection: 'c' });
    expect(() => resolveContext(e, { databaseType: 'metadata', tier: 'generic', collection: 'c' })).toThrow(RouteError);
  });
});

function caught(ctx: unknown): Error {
  try {
    resolve(ctx);
  } catch (e) {
    return e as Error;
  }
  throw new Error(`expected ${JSON.stringify(ctx)} to be rejected`);
}
