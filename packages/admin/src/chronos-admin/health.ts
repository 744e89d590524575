/**
 * `admin.health()`: every backend probed concurrently with its own deadline
 * (the router's probeBackends), each storage connection through the client
 * the instance already holds (no new S3 client per call), and the counters
 * database. The whole report passes through the instance's redactor.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { ComponentHealth, HealthReport, IndexReport } from '@chronos-db/core';
import type { ContextInput } from '@chronos-db/router';
import { probeBackends } from '@chronos-db/router';
import { s3Health } from '../spaces/health.js';
import type { AdminRuntime } from './runtime.js';

export type { ComponentHealth, HealthReport };

async function timed(name: string, fn: () => Promise<unknown>): Promise<ComponentHealth> {
  const t0 = performance.now();
  try {
    const extra = await fn();
    return { name, ok: true, latencyMs: Math.round(performance.now() - t0), ...(extra && typeof extra === 'object' ? extra : {}) };
  } catch (e) {
    return { name, ok: false, latencyMs: Math.round(performance.now() - t0), error: e instanceof Error ? e.message : String(e) };
  }
}

export async function health(rt: AdminRuntime): Promise<HealthReport> {
  rt.assertOpen();
  const { topology, cfg } = rt;
  const timeoutMs = cfg.operationTimeoutMs ?? 10_000;
  const probes = await probeBackends(topology, (b) => rt.metaFor(b).ping(), { timeoutMs, redactor: rt.redactor });
  const backends: ComponentHealth[] = probes.map((p, i) => {
    const b = topology.backends[i]!; // probeBackends answers in topology order
    return {
      name: p.key,
      ok: p.ok,
      latencyMs: p.latencyMs,
      type: b.type,
      tier: b.tier,
      dbName: b.dbName,
      ...(p.error !== undefined ? { error: p.error } : {}),
    };
  });
  const refs = [...new Set(topology.backends.map((b) => b.spacesConnIndex))];
  const storage = await Promise.all(
    refs.map((ref) => {
      if (ref === 'local') return timed('local', async () => ({ basePath: cfg.localStorage?.basePath }));
      const conn = topology.spacesConns[ref]!;
      return timed(`${new URL(conn.endpoint).host}/${conn.jsonBucket}`, async () => {
        const client = (rt.blobsFor(ref) as { client?: S3Client }).client;
        const h = await s3Health({ ...conn, ...(client ? { client } : {}) });
        if (!h.ok) throw new Error(h.error ?? 'unhealthy');
        return { requestsLastHour: h.requestsLastHour, hourlyLimit: h.hourlyLimit };
      });
    }),
  );
  const cs = cfg.counters ? rt.counterStore() : undefined;
  const counters = cs ? await timed('counters', async () => (cs as unknown as { ping(): Promise<void> }).ping()) : undefined;
  const ok = backends.every((b) => b.ok) && storage.every((s) => s.ok) && (counters?.ok ?? true);
  return rt.redactor.value({ ok, backends, storage, ...(counters ? { counters } : {}) });
}

/**
 * `admin.checkIndexes(ctx)`: the context's indexes as its metadata store lists them, against those
 * a first use makes (with the collection map's indexedProps). Creates nothing: a read through the
 * context would make whatever is missing and hide it.
 */
export async function checkIndexes(rt: AdminRuntime, ctx: ContextInput): Promise<IndexReport> {
  rt.assertOpen();
  const r = await rt.resolvePlaced(ctx);
  if (!r.meta.checkIndexes) return { backend: r.backend.key, checked: false, exists: true, collections: [] };
  const indexedProps = rt.cfg.collectionMaps?.[r.ns.collection]?.indexedProps;
  const found = await r.meta.checkIndexes(r.ns, { indexedProps });
  return rt.redactor.value({ backend: r.backend.key, checked: true, ...found });
}

/**
 * `admin.listCollections(ctx)`: the collections of a context's database (hashed: `dbName`; or a
 * backend `key`) and tenant that its stores hold, written by any process (`listNamespaces`;
 * a store without it gives the contexts bound in this process). Sorted; creates nothing.
 */
export async function listCollections(rt: AdminRuntime, ctx: { dbName?: string; key?: string; tenantId?: string }): Promise<string[]> {
  rt.assertOpen();
  const all = await rt.allNamespaces();
  const mine = all.filter((r) => r.ns.tenant === ctx.tenantId && (ctx.key !== undefined ? r.backend.key === ctx.key : r.ns.dbName === ctx.dbName));
  return [...new Set(mine.map((r) => r.ns.collection))].sort();
}
