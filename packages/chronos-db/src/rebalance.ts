/**
 * `admin.planRebalance()` and `admin.rebalance()`: moving hashed contexts to
 * where the current backend list (minus the backends being drained) places
 * them, online, one context at a time, with the placement registry
 * (placement.ts) as the only state, so a run killed at any point is finished
 * by the next one.
 *
 * Per context: fence (registry entry 'moving', epoch + 1; writers wait), wait
 * the grace (every write begun under an older lease is over), copy the
 * version documents and heads as they are (same `_id`, `ov`, `cv`, flags;
 * payload objects first when the storage connection differs), verify (counts,
 * and a checksum of every head on both sides), flip (entry 'active' on the
 * destination, `drain` naming the source), and once every flipped context's
 * readers have had a grace, remove the source copy when the destination holds
 * every document of it (or keep it with `keepSource`).
 *
 * Counter totals live in the counters database, shared by every backend:
 * nothing to move. Two backends with the same mongoUri hold the same data
 * for a hashed context (its dbName is the context's): only the entry moves.
 */
import { createHash } from 'node:crypto';
import { ValidationError, assertDbName, keyPrefix, physicalName, type BlobStore, type BucketRole, type Namespace } from '@chronos-db/core';
import { initialPlacement, placementCandidates, placementKey, targetBackend, type MongoBackend, type PlacementEntry } from '@chronos-db/router';
import type { MongoClientLike } from './placement.js';
import type { Runtime } from './runtime.js';

export interface RebalanceContext {
  dbName: string;
  collection: string;
  tenantId?: string;
}

export interface RebalanceMove {
  context: RebalanceContext;
  from: string;
  to: string;
  /** Heads (records) on the source. */
  records: number;
  /** Version documents on the source (burned-cv markers of the change feed included). */
  versions: number;
  /** A move an interrupted run left fenced: this run finishes it. */
  resume?: boolean;
  /**
   * Data found on `from` that the registry has no entry for (written before the registry, or
   * before its first use since): `rebalance` records it where it is (as a first use would), then moves it.
   */
  discovered?: boolean;
}

export interface RebalancePlan {
  /** Where the registry lives: 'counters' or a backend key. */
  registry: string;
  /** Hashed contexts known to the registry. */
  contexts: number;
  /** Hashed contexts found on the backends without a registry entry (see `discovered` moves; those already where the hash puts them stay). */
  unregistered: number;
  moves: RebalanceMove[];
  /** Contexts already moved whose source copy an interrupted run did not remove yet. */
  cleanups: Array<{ context: RebalanceContext; from: string }>;
  /** Contexts whose data is on a backend this config lacks: add it back to move them. */
  unreachable: Array<{ context: RebalanceContext; backend: string }>;
}

export interface RebalancePlanOptions {
  /** Backend keys being removed: their contexts move to the others, nothing moves onto them. */
  drain?: string[];
  /**
   * The databases (hashed contexts' `dbName`) to look for contexts the registry has no entry for,
   * on every backend hashed contexts may use. Default: every dbName the registry knows. Databases
   * of key/tier backends on the same server are never taken for hashed contexts.
   */
  dbNames?: string[];
}

export type RebalancePhase = 'fenced' | 'copied' | 'verified' | 'flipped' | 'failed' | 'removed' | 'kept';

export interface RebalanceProgress {
  phase: RebalancePhase;
  context: RebalanceContext;
  from: string;
  to: string;
  /** Contexts flipped (or failed) so far, of `total`. */
  done: number;
  total: number;
  records?: number;
  versions?: number;
  error?: string;
}

export interface RebalanceOptions extends RebalancePlanOptions {
  /** Required: this call moves stored data. */
  confirm?: boolean;
  onProgress?: (p: RebalanceProgress) => void;
  /** Keep the source copy of every moved context (default: removed once the destination holds all of it). */
  keepSource?: boolean;
  /** Contexts fenced at a time (they share one grace wait). Default 32. */
  batchSize?: number;
  /** Contexts of a batch copied at the same time (each one is still moved on its own). Default 4. */
  concurrency?: number;
}

export interface RebalanceResult {
  moved: number;
  records: number;
  versions: number;
  failed: Array<{ context: RebalanceContext; from: string; to: string; error: string }>;
  sourcesRemoved: number;
  /** Sources kept: `keepSource`, or a source that changed after its move (reported, never dropped). */
  sourcesKept: Array<{ context: RebalanceContext; backend: string; reason: string }>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function inParallel<T>(items: readonly T[], width: number, fn: (x: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}
const BATCH = 1000;
const ROLES: BucketRole[] = ['json', 'content', 'backups'];

const nsOf = (e: Pick<PlacementEntry, 'dbName' | 'collection' | 'tenant'>): Namespace => ({
  dbName: e.dbName,
  collection: e.collection,
  ...(e.tenant !== undefined ? { tenant: e.tenant } : {}),
});
const contextOf = (ns: Namespace): RebalanceContext => ({
  dbName: ns.dbName,
  collection: ns.collection,
  ...(ns.tenant !== undefined ? { tenantId: ns.tenant } : {}),
});

type Doc = Record<string, unknown> & { _id: string };

export function createRebalancer(rt: Runtime) {
  const topology = rt.topology;
  const need = () => {
    rt.assertOpen();
    if (!rt.placement) throw new ValidationError('rebalance needs MongoDB backends: the embedded store has a single backend and nothing to move');
    return rt.placement;
  };
  const checkDrain = (drain: unknown): string[] => {
    if (drain === undefined) return [];
    if (!Array.isArray(drain) || drain.some((k) => typeof k !== 'string' || !topology.byKey.has(k)))
      throw new ValidationError('drain must be an array of configured backend keys');
    return drain as string[];
  };
  const mongo = (key: string): MongoBackend | null => {
    const b = topology.byKey.get(key);
    return b && b.kind === 'mongo' ? b : null;
  };
  const cols = (client: MongoClientLike, ns: Namespace) => {
    const db = client.db(ns.dbName);
    const name = physicalName(ns);
    // `_pending`: storage-mongo's bulk commits in flight (a batch a crash interrupted: heads a reader repairs)
    return { ver: db.collection<Doc>(`${name}_ver`), head: db.collection<Doc>(`${name}_head`), pend: db.collection<Doc>(`${name}_pending`) };
  };

  /**
   * Whether two URIs reach the same server (say `127.0.0.1` and `localhost`): a marker written
   * through one is read back through the other. Copying onto itself and then dropping the
   * "source" would delete the only copy, so such a pair is treated like one server.
   */
  const sameServerCache = new Map<string, Promise<boolean>>();
  /** One check: a marker of its own (concurrent checks share the collection: each removes only its marker). */
  const sameServerNow = async (a: MongoBackend, b: MongoBackend, ns: Namespace): Promise<boolean> => {
    if (a.mongoUri === b.mongoUri) return true;
    const token = `${Date.now().toString(36)}-${createHash('sha256').update(String(Math.random())).digest('hex').slice(0, 16)}`;
    const mark = (c: MongoClientLike) => c.db(ns.dbName).collection<{ _id: string }>('_chronos_rebalance_mark');
    await mark(rt.mongoClient(b.mongoUri)).insertOne({ _id: token });
    try {
      return (await mark(rt.mongoClient(a.mongoUri)).findOne({ _id: token })) !== null;
    } finally {
      await mark(rt.mongoClient(b.mongoUri))
        .deleteOne({ _id: token })
        .catch(() => {});
    }
  };
  const sameServerOf = (a: MongoBackend, b: MongoBackend, ns: Namespace): Promise<boolean> => {
    if (a.mongoUri === b.mongoUri) return Promise.resolve(true);
    const k = `${a.mongoUri}\u0000${b.mongoUri}`;
    let p = sameServerCache.get(k);
    if (!p) {
      p = sameServerNow(a, b, ns);
      sameServerCache.set(k, p);
      p.catch(() => sameServerCache.delete(k));
    }
    return p;
  };

  async function counts(b: MongoBackend, ns: Namespace): Promise<{ records: number; versions: number }> {
    const c = cols(rt.mongoClient(b.mongoUri), ns);
    const [records, versions] = await Promise.all([c.head.countDocuments({}), c.ver.countDocuments({})]);
    return { records, versions };
  }

  const checkDbNames = (d: unknown): string[] | undefined => {
    if (d === undefined) return undefined;
    if (!Array.isArray(d)) throw new ValidationError('dbNames must be an array of database names');
    for (const n of d) assertDbName(n);
    return [...new Set(d as string[])];
  };

  /**
   * Hashed namespaces on the candidate backends with no registry entry, in the databases `dbNames`
   * (one listNamespaces per distinct server), each with the candidates holding it. A server's
   * databases of key/tier backends are left out: their namespaces belong to those contexts.
   */
  async function discover(known: ReadonlySet<string>, dbNames: readonly string[]): Promise<Map<string, { ns: Namespace; found: string[] }>> {
    const out = new Map<string, { ns: Namespace; found: string[] }>();
    if (!dbNames.length) return out;
    const byUri = new Map<string, MongoBackend[]>();
    for (const b of placementCandidates(topology)) byUri.set(b.mongoUri, [...(byUri.get(b.mongoUri) ?? []), b]);
    for (const [uri, bs] of byUri) {
      const own = new Set(topology.backends.filter((b) => b.kind === 'mongo' && b.mongoUri === uri).map((b) => b.dbName));
      const dbs = dbNames.filter((d) => !own.has(d));
      const meta = rt.metaFor(bs[0]!);
      if (!dbs.length || !meta.listNamespaces) continue;
      for (const ns of await meta.listNamespaces({ dbNames: dbs })) {
        const key = placementKey(ns);
        if (known.has(key)) continue;
        const d = out.get(key) ?? { ns, found: [] };
        d.found.push(...bs.map((b) => b.key));
        out.set(key, d);
      }
    }
    return out;
  }

  async function plan(opts: RebalancePlanOptions = {}): Promise<RebalancePlan> {
    const placement = need();
    const drain = checkDrain(opts?.drain);
    const wanted = checkDbNames(opts?.dbNames);
    const out: RebalancePlan = { registry: placement.deps.location.source, contexts: 0, unregistered: 0, moves: [], cleanups: [], unreachable: [] };
    const known = new Set<string>();
    const dbNames = new Set<string>(wanted ?? []);
    for await (const e of placement.registry.list()) {
      known.add(e._id);
      if (!wanted) dbNames.add(e.dbName);
      out.contexts++;
      const ns = nsOf(e);
      const context = contextOf(ns);
      if (e.drain !== undefined && e.state === 'active') out.cleanups.push({ context, from: e.drain });
      const from = mongo(e.backend);
      if (!from) {
        out.unreachable.push({ context, backend: e.backend });
        continue;
      }
      let to: string;
      if (e.state === 'moving' && e.to !== undefined && mongo(e.to) && !drain.includes(e.to)) to = e.to;
      else to = targetBackend(topology, ns, drain).key;
      if (to === e.backend && e.state === 'active') continue;
      out.moves.push({ context, from: e.backend, to, ...(await counts(from, ns)), ...(e.state === 'moving' ? { resume: true } : {}) });
    }
    // data the registry does not know yet: placed where a first use would record it, then moved like the rest
    for (const { ns, found } of (await discover(known, [...dbNames].sort())).values()) {
      out.unregistered++;
      const from = initialPlacement(topology, ns, found).backend;
      const to = targetBackend(topology, ns, drain).key;
      if (from.kind !== 'mongo' || to === from.key) continue;
      out.moves.push({ context: contextOf(ns), from: from.key, to, ...(await counts(from, ns)), discovered: true });
    }
    return out;
  }

  /** Head fingerprint: every head's id, ov, cv, payload hash, deleted flag and state, in id order. */
  async function headsChecksum(client: MongoClientLike, ns: Namespace): Promise<{ n: number; sum: string }> {
    const h = createHash('sha256');
    let n = 0;
    const cursor = cols(client, ns)
      .head.find({}, { projection: { _id: 1, ov: 1, cv: 1, sha256: 1, deleted: 1, state: 1 } })
      .sort({ _id: 1 })
      .batchSize(BATCH);
    for await (const d of cursor) {
      n++;
      h.update(`${d._id}\u0000${String(d.ov)}\u0000${String(d.cv)}\u0000${String(d.sha256)}\u0000${String(d.deleted)}\u0000${String(d.state)}\n`);
    }
    return { n, sum: h.digest('hex') };
  }

  async function insertAll(target: ReturnType<typeof cols>['ver'], docs: Doc[], upsert: boolean): Promise<void> {
    if (!docs.length) return;
    if (upsert) {
      await target.bulkWrite(
        docs.map((d) => ({ replaceOne: { filter: { _id: d._id }, replacement: d, upsert: true } })),
        { ordered: false },
      );
      return;
    }
    try {
      await target.insertMany(docs, { ordered: false });
    } catch (e) {
      // a rerun after a crash: documents already copied are identical (versions never change)
      const errs = (e as { writeErrors?: Array<{ code?: number }> | { code?: number } }).writeErrors;
      const list = Array.isArray(errs) ? errs : errs ? [errs] : [];
      if (!list.length || list.some((w) => w.code !== 11000)) throw e;
    }
  }

  async function copyColl(src: ReturnType<typeof cols>['ver'], dst: ReturnType<typeof cols>['ver'], upsert: boolean): Promise<void> {
    let docs: Doc[] = [];
    for await (const d of src.find({}).batchSize(BATCH)) {
      docs.push(d as Doc);
      if (docs.length >= BATCH) {
        await insertAll(dst, docs, upsert);
        docs = [];
      }
    }
    await insertAll(dst, docs, upsert);
  }

  async function copyBlobs(from: BlobStore, to: BlobStore, prefix: string): Promise<void> {
    for (const role of ROLES) {
      for await (const o of from.list(role, prefix)) {
        if (await to.head(role, o.key)) continue;
        const head = await from.head(role, o.key);
        await to.put(role, o.key, await from.get(role, o.key), head?.contentType ? { contentType: head.contentType } : {});
      }
    }
  }

  /** Copies (idempotently) and verifies one fenced context. */
  async function copyAndVerify(
    from: MongoBackend,
    to: MongoBackend,
    ns: Namespace,
    progress: (phase: RebalancePhase) => void,
  ): Promise<{ records: number; versions: number }> {
    if (from.spacesConnIndex !== to.spacesConnIndex) await copyBlobs(rt.blobsFor(from.spacesConnIndex), rt.blobsFor(to.spacesConnIndex), keyPrefix(ns));
    const srcClient = rt.mongoClient(from.mongoUri);
    const dstClient = rt.mongoClient(to.mongoUri);
    const s = cols(srcClient, ns);
    const d = cols(dstClient, ns);
    // the source's indexes, one createIndex each (a store's per-process "indexes made" cache may predate a drop there)
    for (const [src, dst] of [
      [s.ver, d.ver],
      [s.head, d.head],
    ] as const) {
      const specs = await src
        .listIndexes()
        .toArray()
        .catch(() => []);
      for (const ix of specs as Array<{ name: string; key: Record<string, 1 | -1>; unique?: boolean; sparse?: boolean }>) {
        if (ix.name === '_id_') continue;
        await dst.createIndex(ix.key, { name: ix.name, ...(ix.unique ? { unique: true } : {}), ...(ix.sparse ? { sparse: true } : {}) });
      }
    }
    // the destination store's own setup of the namespace: its indexes and the record of its parts (listNamespaces)
    const indexedProps = rt.cfg.collectionMaps?.[ns.collection]?.indexedProps;
    await rt.metaFor(to).ensureNamespace(ns, indexedProps?.length ? { indexedProps } : undefined);
    for (let attempt = 1; ; attempt++) {
      const fresh = attempt === 1 && (await d.head.countDocuments({}, { limit: 1 })) === 0;
      await copyColl(s.ver, d.ver, false);
      await copyColl(s.head, d.head, !fresh);
      await copyColl(s.pend, d.pend, true);
      progress('copied');
      const [sv, dv, sh, dh] = await Promise.all([
        s.ver.countDocuments({}),
        d.ver.countDocuments({}),
        headsChecksum(srcClient, ns),
        headsChecksum(dstClient, ns),
      ]);
      if (sv === dv && sh.n === dh.n && sh.sum === dh.sum) {
        progress('verified');
        return { records: dh.n, versions: dv };
      }
      if (attempt >= 2)
        throw new Error(
          `verification failed: source ${sh.n} heads / ${sv} versions, destination ${dh.n} heads / ${dv} versions${sh.sum !== dh.sum ? ', head checksums differ' : ''} (the destination held other data of this context?)`,
        );
    }
  }

  /** Whether every document of the source copy is on the destination (by `_id`). */
  async function contained(from: MongoBackend, to: MongoBackend, ns: Namespace): Promise<boolean> {
    const s = cols(rt.mongoClient(from.mongoUri), ns);
    const d = cols(rt.mongoClient(to.mongoUri), ns);
    for (const [src, dst] of [
      [s.ver, d.ver],
      [s.head, d.head],
    ] as const) {
      let ids: string[] = [];
      const check = async () => {
        if (!ids.length) return true;
        const n = await dst.countDocuments({ _id: { $in: ids } });
        const ok = n === ids.length;
        ids = [];
        return ok;
      };
      for await (const x of src.find({}, { projection: { _id: 1 } }).batchSize(BATCH)) {
        ids.push(x._id);
        if (ids.length >= BATCH && !(await check())) return false;
      }
      if (!(await check())) return false;
    }
    return true;
  }

  async function rebalance(opts: RebalanceOptions): Promise<RebalanceResult> {
    if (!opts || typeof opts !== 'object' || opts.confirm !== true)
      throw new ValidationError('rebalance moves stored data: pass { confirm: true } (planRebalance() only reports)');
    const placement = need();
    const drain = checkDrain(opts.drain);
    if (opts.batchSize !== undefined && (!Number.isInteger(opts.batchSize) || opts.batchSize < 1))
      throw new ValidationError('batchSize must be a positive integer');
    if (opts.concurrency !== undefined && (!Number.isInteger(opts.concurrency) || opts.concurrency < 1 || opts.concurrency > 64))
      throw new ValidationError('concurrency must be an integer from 1 to 64');
    if (opts.onProgress !== undefined && typeof opts.onProgress !== 'function') throw new ValidationError('onProgress must be a function');
    const grace = placement.deps.graceMs;
    const reg = placement.registry;
    const result: RebalanceResult = { moved: 0, records: 0, versions: 0, failed: [], sourcesRemoved: 0, sourcesKept: [] };
    const dbNames = checkDbNames(opts.dbNames);
    const p = await plan({ drain, ...(dbNames ? { dbNames } : {}) });
    const total = p.moves.length;
    let done = 0;
    const report = (x: Omit<RebalanceProgress, 'done' | 'total'>) => {
      try {
        opts.onProgress?.({ ...x, done, total });
      } catch {
        // a throwing callback never stops a move half-way
      }
    };
    // sources of flipped contexts, removed once their readers' leases are over
    const toClean: Array<{ key: string; ns: Namespace; from: string; to: string; flippedAt: number }> = [];
    for (const c of p.cleanups) {
      const ns = { dbName: c.context.dbName, collection: c.context.collection, ...(c.context.tenantId !== undefined ? { tenant: c.context.tenantId } : {}) };
      const e = await reg.get(placementKey(ns));
      if (e && e.drain !== undefined) toClean.push({ key: e._id, ns, from: e.drain, to: e.backend, flippedAt: 0 });
    }

    const size = opts.batchSize ?? 32;
    const concurrency = opts.concurrency ?? 4;
    for (let i = 0; i < p.moves.length; i += size) {
      const fenced: Array<{ m: RebalanceMove; ns: Namespace; key: string; entry: PlacementEntry }> = [];
      for (const m of p.moves.slice(i, i + size)) {
        const ns: Namespace = {
          dbName: m.context.dbName,
          collection: m.context.collection,
          ...(m.context.tenantId !== undefined ? { tenant: m.context.tenantId } : {}),
        };
        const key = placementKey(ns);
        if (m.discovered) await placement.backendFor(ns, 'read'); // its entry, as a first use makes it (probe, insert if absent)
        const e = await reg.get(key);
        if (!e || e.backend !== m.from) continue; // moved by someone else since the plan
        const entry = await reg.cas(key, e.epoch, { state: 'moving', to: m.to });
        if (!entry) continue;
        fenced.push({ m, ns, key, entry });
        report({ phase: 'fenced', context: m.context, from: m.from, to: m.to });
      }
      if (!fenced.length) continue;
      await sleep(grace); // every write begun under a lease read before the fence has finished
      await inParallel(fenced, concurrency, async (f) => {
        const { m, ns, key } = f;
        const from = mongo(m.from)!;
        const to = mongo(m.to)!;
        try {
          const sameServer = await sameServerOf(from, to, ns);
          let n: { records: number; versions: number };
          if (!sameServer) n = await copyAndVerify(from, to, ns, (phase) => report({ phase, context: m.context, from: m.from, to: m.to }));
          else {
            if (from.spacesConnIndex !== to.spacesConnIndex) await copyBlobs(rt.blobsFor(from.spacesConnIndex), rt.blobsFor(to.spacesConnIndex), keyPrefix(ns));
            n = await counts(to, ns);
          }
          const flipped = await reg.cas(
            key,
            f.entry.epoch,
            { backend: m.to, state: 'active', origin: 'move', ...(sameServer ? {} : { drain: m.from }) },
            sameServer ? ['to', 'drain'] : ['to'],
          );
          if (!flipped) throw new Error('the registry entry changed during the move (another rebalance?)');
          done++;
          result.moved++;
          result.records += n.records;
          result.versions += n.versions;
          report({ phase: 'flipped', context: m.context, from: m.from, to: m.to, ...n });
          if (!sameServer) toClean.push({ key, ns, from: m.from, to: m.to, flippedAt: Date.now() });
        } catch (e) {
          done++;
          const error = rt.redactor.text(String((e as Error)?.message ?? e));
          result.failed.push({ context: m.context, from: m.from, to: m.to, error });
          // back to the source, which still holds everything (writes were fenced)
          await reg.cas(key, f.entry.epoch, { state: 'active' }, ['to']).catch(() => null);
          report({ phase: 'failed', context: m.context, from: m.from, to: m.to, error });
        }
      });
    }

    if (toClean.length) {
      const last = Math.max(...toClean.map((c) => c.flippedAt));
      const wait = last + grace - Date.now();
      if (wait > 0) await sleep(wait); // readers holding a lease on the source are done
    }
    for (const c of toClean) {
      const e = await reg.get(c.key);
      if (!e || e.drain !== c.from || e.backend !== c.to) continue;
      const from = mongo(c.from);
      const to = mongo(c.to);
      const context = contextOf(c.ns);
      let phase: RebalancePhase = 'kept';
      if (!from || !to) result.sourcesKept.push({ context, backend: c.from, reason: 'backend not in this config' });
      else if (opts.keepSource) result.sourcesKept.push({ context, backend: c.from, reason: 'keepSource' });
      else if (!(await contained(from, to, c.ns)))
        result.sourcesKept.push({ context, backend: c.from, reason: 'the source holds documents the destination lacks' });
      // checked again right before the drop, uncached: dropping a "source" that is the destination would delete the only copy
      else if (await sameServerNow(from, to, c.ns)) result.sourcesKept.push({ context, backend: c.from, reason: 'source and destination are one server' });
      else {
        const s = cols(rt.mongoClient(from.mongoUri), c.ns);
        await s.ver.drop().catch((err: { codeName?: string }) => {
          if (err?.codeName !== 'NamespaceNotFound') throw err;
        });
        await s.head.drop().catch((err: { codeName?: string }) => {
          if (err?.codeName !== 'NamespaceNotFound') throw err;
        });
        await s.pend.drop().catch((err: { codeName?: string }) => {
          if (err?.codeName !== 'NamespaceNotFound') throw err;
        });
        result.sourcesRemoved++;
        phase = 'removed';
      }
      if (phase === 'removed' || opts.keepSource) await reg.cas(c.key, e.epoch, {}, ['drain']);
      report({ phase, context, from: c.from, to: c.to });
    }
    return result;
  }

  return { planRebalance: plan, rebalance };
}
