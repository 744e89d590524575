/**
 * `chronos.admin`: health, backends, shutdown, bucket checks, TTL state,
 * hard delete and orphan GC. Every result is free of secrets.
 */
import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CollectionEngine, NotFoundError, ValidationError, assertId, type HeadDoc } from '@chronos-db/core';
import { describeBackends, type ContextInput } from '@chronos-db/router';
import * as spaces from '@chronos-db/admin';
import type { Runtime } from './chronos.js';

export interface ComponentHealth {
  name: string;
  ok: boolean;
  latencyMs: number;
  error?: string;
  [k: string]: unknown;
}

export interface HealthReport {
  ok: boolean;
  backends: ComponentHealth[];
  storage: ComponentHealth[];
  counters?: ComponentHealth;
}

export type ChronosAdmin = ReturnType<typeof createAdmin>;

function requireConfirm(opts: { confirm?: boolean; dryRun?: boolean } | undefined, what: string, allowDryRun = true): void {
  if (!opts || (opts.confirm !== true && !(allowDryRun && opts.dryRun === true))) {
    throw new ValidationError(`${what} changes stored data: pass { confirm: true }${allowDryRun ? ' (or { dryRun: true } to only report)' : ''}`);
  }
}

async function timed(name: string, fn: () => Promise<unknown>, redact: (s: string) => string): Promise<ComponentHealth> {
  const t0 = performance.now();
  try {
    const extra = await fn();
    return { name, ok: true, latencyMs: Math.round(performance.now() - t0), ...(extra && typeof extra === 'object' ? extra : {}) };
  } catch (e) {
    return { name, ok: false, latencyMs: Math.round(performance.now() - t0), error: redact((e as Error).message) };
  }
}

export function createAdmin(rt: Runtime, onShutdown: () => void) {
  const { topology, cfg, redact } = rt;
  const localBase = cfg.localStorage?.enabled ? cfg.localStorage.basePath : undefined;

  const engineFor = (ctx: ContextInput) => {
    const r = rt.resolve(ctx);
    return { r, engine: new CollectionEngine({ ns: r.ns, meta: r.meta, blobs: r.blobs, map: cfg.collectionMaps?.[r.ns.collection], operationTimeoutMs: cfg.operationTimeoutMs, logger: rt.log }) };
  };
  const spacesConnOf = (ctx: ContextInput) => {
    const r = rt.resolve(ctx);
    return r.storage === 'local' ? null : topology.spacesConns[r.storage] ?? null;
  };
  const localBuckets = () => (['json', 'content', 'backups'] as const).map((b) => ({ name: b, path: join(localBase ?? '.', b) }));

  return {
    /** Per Mongo backend, storage connection and counters database: ok, latency, error. No secrets. */
    async health(): Promise<HealthReport> {
      const backends = await Promise.all(
        topology.backends.map((b) => timed(b.key, async () => {
          await rt.metaFor(b).ping();
          return { type: b.type, tier: b.tier, dbName: b.dbName };
        }, redact)),
      );
      const refs = new Set(topology.backends.map((b) => b.spacesConnIndex));
      const storage = await Promise.all(
        [...refs].map((ref) => {
          if (ref === 'local') return timed('local', async () => ({ basePath: localBase }), redact);
          const conn = topology.spacesConns[ref]!;
          return timed(`${new URL(conn.endpoint).host}/${conn.jsonBucket}`, async () => {
            const h = await spaces.s3Health(conn);
            if (!h.ok) throw new Error(h.error ?? 'unhealthy');
            return { requestsLastHour: h.requestsLastHour, hourlyLimit: h.hourlyLimit };
          }, redact);
        }),
      );
      const cs = rt.counterStore();
      const counters = cs && cfg.counters ? await timed('counters', async () => (cs as unknown as { ping(): Promise<void> }).ping(), redact) : undefined;
      const ok = backends.every((b) => b.ok) && storage.every((s) => s.ok) && (counters?.ok ?? true);
      return { ok, backends, storage, ...(counters ? { counters } : {}) };
    },

    /** Every configured backend: key, type, tier, dbName, redacted URI. */
    listBackends() {
      return describeBackends(topology);
    },

    /** Closes every client this instance opened. */
    async shutdown(): Promise<void> {
      onShutdown();
      await rt.closeAll();
    },

    async ensureBucketsExist(ctx: ContextInput, opts: { confirm?: boolean; createIfMissing?: boolean; dryRun?: boolean }) {
      requireConfirm(opts, 'ensureBucketsExist');
      const conn = spacesConnOf(ctx);
      if (conn) return spaces.ensureBucketsExist(conn, opts);
      const statuses = [];
      let created = 0;
      for (const b of localBuckets()) {
        const exists = await stat(b.path).then((s) => s.isDirectory(), () => false);
        let made = false;
        if (!exists && opts.createIfMissing && !opts.dryRun) {
          await mkdir(b.path, { recursive: true });
          made = true;
          created++;
        }
        statuses.push({ name: b.name, exists: exists || made, accessible: exists || made, ...(made ? { created: true } : {}) });
      }
      return { bucketsChecked: statuses.length, bucketsCreated: created, bucketStatuses: statuses };
    },

    async testS3Connectivity(ctx: ContextInput): Promise<{ success: boolean; buckets: string[]; error?: string }> {
      const conn = spacesConnOf(ctx);
      if (conn) return spaces.testS3Connectivity(conn);
      return { success: true, buckets: localBuckets().map((b) => b.name) };
    },

    async validateSpacesConfiguration(ctx: ContextInput): Promise<{ valid: boolean; issues: string[]; recommendations: string[] }> {
      const conn = spacesConnOf(ctx);
      if (conn) return spaces.validateSpacesConfiguration(conn);
      return { valid: true, issues: [], recommendations: ['This context stores payloads on the local filesystem (localStorage); configure spacesConns for S3-compatible storage in production.'] };
    },

    /** Marks every record of the context older than ttlHours (and not yet processed) as `processed`. */
    async markItemsAsProcessedByTTL(ctx: ContextInput, ttlHours: number, opts: { confirm?: boolean; dryRun?: boolean }) {
      if (typeof ttlHours !== 'number' || !Number.isFinite(ttlHours) || ttlHours < 0) throw new ValidationError('ttlHours must be a non-negative number');
      requireConfirm(opts, 'markItemsAsProcessedByTTL');
      const r = rt.resolve(ctx);
      const cutoff = Date.now() - ttlHours * 3600_000;
      let scanned = 0;
      let marked = 0;
      let afterId: string | undefined;
      for (;;) {
        const page: HeadDoc[] = await r.meta.queryHeads(r.ns, { limit: 500, includeDeleted: false, ...(afterId ? { afterId } : {}) });
        if (!page.length) break;
        afterId = page[page.length - 1]!.itemId;
        for (const h of page) {
          scanned++;
          if (h.state === 'processed' || h.createdAt > cutoff) continue;
          marked++;
          if (!opts.dryRun) await r.meta.setState(r.ns, h.itemId, 'processed');
        }
        if (page.length < 500) break;
      }
      return { scanned, marked, dryRun: !!opts.dryRun };
    },

    async markItemAsProcessed(ctx: ContextInput, id: string, opts: { confirm?: boolean }) {
      assertId(id);
      requireConfirm(opts, 'markItemAsProcessed', false);
      const r = rt.resolve(ctx);
      const ok = await r.meta.setState(r.ns, id, 'processed');
      if (!ok) throw new NotFoundError(`Record '${id}' not found`, { id });
      return { id, state: 'processed' as const };
    },

    /** Removes every version, payload, blob and pointer of one record. Needs `hardDeleteEnabled`. */
    async hardDelete(ctx: ContextInput, id: string, opts: { confirm?: boolean }) {
      assertId(id);
      if (!cfg.hardDeleteEnabled) throw new ValidationError('hardDelete is disabled: set hardDeleteEnabled: true in the config');
      requireConfirm(opts, 'hardDelete', false);
      const r = rt.resolve(ctx);
      const versions = await r.meta.hardDelete(r.ns, id);
      if (!versions.length) throw new NotFoundError(`Record '${id}' not found`, { id });
      const keys = new Set<string>();
      const blobKeys = new Set<string>();
      for (const v of versions) {
        keys.add(v.jsonKey);
        for (const b of Object.values(v.blobs ?? {})) {
          blobKeys.add(b.key);
          if (b.textKey) blobKeys.add(b.textKey);
        }
      }
      for (const k of keys) await r.blobs.delete('json', k);
      for (const k of blobKeys) await r.blobs.delete('content', k);
      return { id, versionsDeleted: versions.length, objectsDeleted: keys.size + blobKeys.size };
    },

    /** Deletes unreferenced payload objects older than graceMs (orphans of failed or lost writes). */
    async gc(ctx: ContextInput, opts: { graceMs?: number; dryRun?: boolean; confirm?: boolean } = {}) {
      requireConfirm(opts, 'gc');
      return engineFor(ctx).engine.collectGarbage(opts);
    },
  };
}
