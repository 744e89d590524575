/**
 * The MetadataStore (and CounterStore) on the official MongoDB driver: the store object.
 * It validates input, picks the commit path and delegates each protocol step:
 *   context.ts    options, per-store context (client, errors, indexes, detection, background work)
 *   client-state.ts what the process knows per client (one object per MongoClient)
 *   commit.ts     commit paths (protocol steps 1-4; the version insert is the commit point)
 *   heads.ts      head writes and repair (steps 3-4, lagging heads, pending `_h` flags)
 *   seeks.ts      FerretDB `_id` seeks (heads, as-of versions)
 *   queries.ts    reads and metadata queries
 *   versions.ts   cv allocation and small version reads
 *   history.ts    one record's versions in keyset pages (listVersions)
 *   changes.ts    the change feed (changesAfter): cv order, gaps sealed, never skipped
 *   counters.ts   counter totals (CounterStore)
 *
 * Layout per namespace, in database `ns.dbName`:
 *   `<physicalName(ns)>_ver`   one immutable document per version; unique on (itemId, ov) and on cv.
 *                              THE SOURCE OF TRUTH: inserting a version document is the commit.
 *   `<physicalName(ns)>_head`  one document per record: the latest version + createdAt, state,
 *                              shadow. Derived from `_ver`; readers reconcile it (heads.ts).
 *   `<physicalName(ns)>_pending` one document per bulk commit in flight: the versions whose heads
 *                              may lag (commitManyPlain; readers repair them, heads.ts).
 *   `chronos_namespaces`      one document per namespace ensured (its parts: listNamespaces).
 * Counter totals: `cnt_events` / `cnt_snap` in the configured `dbName` (or the scope's dbName).
 */
import type { MongoClient } from 'mongodb';
import {
  StorageError,
  ValidationError,
  type CommitManyResult,
  type CounterRecount,
  type CounterScope,
  type CounterStore,
  type CounterTotals,
  type MetadataCapabilities,
  type MetadataStore,
} from '@chronos-db/core';
import { commandCount, releaseClient } from './client-pool.js';
import { STATES, asResult, commitManyPlain, commitPlain, commitTxn, validateCommit } from './commit.js';
import { createStoreCtx, type MongoMetadataStoreOptions } from './context.js';
import { createCounterOps } from './counters.js';
import { toVersion } from './docs.js';
import { forgetGuess, repairHead } from './heads.js';
import { findVersions } from './gc-lookup.js';
import { deleteVersions } from './prune.js';
import { changesAfter, closeChangeSignals, openChangeSignal } from './changes.js';
import { listVersions } from './history.js';
import { checkItem, findByRequestId, findByRequestIds, findHeadsByState, getHead, getVersion, queryHeads, scanHeads } from './queries.js';
import { latestVersion, maxCv } from './versions.js';
import { createLifecycleOps } from './lifecycle.js';
import { listNamespaces } from './namespaces.js';
import { checkIndexes } from './index-check.js';

export type { CommitStep, MongoMetadataStoreOptions } from './context.js';

export interface MongoStoreStats {
  /** Commands the underlying client has sent (counted per client, shared by the stores on it). */
  commands: number;
  /** Whether commits use transactions; undefined until detected (first commit, detect() or detectTransactions()). */
  transactions: boolean | undefined;
  /** The query branch in use ('ferretdb': `_id` seeks); undefined until detected. */
  dialect: 'mongodb' | 'ferretdb' | undefined;
}

export interface MongoCapabilities extends MetadataCapabilities {
  /** The server offers sessions (replica set or mongos), so change streams could run. Informational: chronos-db polls. */
  changeStream: boolean;
  /** The query branch: forced by the `dialect` option, else detected. */
  dialect: 'mongodb' | 'ferretdb';
}

export interface MongoMetadataStore extends MetadataStore, CounterStore {
  /** The port's flags plus `changeStream` (see MongoCapabilities); `false` for what is not detected yet. */
  readonly capabilities: Omit<MongoCapabilities, 'dialect'>;
  readonly client: MongoClient;
  /**
   * `capabilities` as detected: whether commits use transactions (opt-in, see the option),
   * whether the server offers change streams (replica set or mongos), the query branch. The
   * `capabilities` getter is accurate once this (or a first commit and read) has run; before,
   * it reports what is known (false where not yet detected).
   */
  detect(): Promise<MongoCapabilities>;
  /** Whether commits use transactions (asks the server once per client when `transactions.enabled`). */
  detectTransactions(): Promise<boolean>;
  stats(): MongoStoreStats;
  /** Resolves when the background `_h` clears started so far have finished (tests, shutdown). */
  settle(): Promise<void>;
  recountCounters(scope: CounterScope, source: CounterRecount): Promise<CounterTotals>;
}

export function createMongoMetadataStore(opts: MongoMetadataStoreOptions): MongoMetadataStore {
  const ctx = createStoreCtx(opts);
  const { run } = ctx;
  const ownsShared = !opts.client;
  const counters = createCounterOps(
    (s) => ctx.client.db(opts.dbName ?? s.dbName),
    (what, fn) => run(what, fn),
  );

  const life = createLifecycleOps(ctx);
  const store: MongoMetadataStore = {
    get client() {
      return ctx.client;
    },
    get capabilities(): Omit<MongoCapabilities, 'dialect'> {
      return { transactions: ctx.txnKnown ?? false, changeStream: ctx.sessionsKnown ?? false };
    },
    async detect() {
      const [transactions, sessions, ferret] = await Promise.all([ctx.detectTransactions(), ctx.serverHasSessions(), ctx.idSeeks()]);
      return { transactions, changeStream: sessions, dialect: ferret ? 'ferretdb' : 'mongodb' };
    },
    detectTransactions: () => ctx.detectTransactions(),
    stats() {
      return { commands: commandCount(ctx.client), transactions: ctx.txnKnown, dialect: ctx.dialectKnown };
    },

    async ensureNamespace(ns, o) {
      await ctx.ensure(ns, o?.indexedProps);
    },

    listNamespaces: (q) => listNamespaces(ctx, q),

    checkIndexes: (ns, o) => run('listIndexes', () => checkIndexes(ctx.cols(ns), o?.indexedProps)),

    async commit(input) {
      validateCommit(input);
      const c = ctx.cols(input.ns);
      await ctx.ensure(input.ns);
      const txn = await ctx.detectTransactions();
      return run('commit', () => (txn ? commitTxn(ctx, c, input) : commitPlain(ctx, c, input)));
    },

    async commitMany(inputs) {
      if (!Array.isArray(inputs)) throw new ValidationError('commitMany needs an array of commits');
      if (inputs.length === 0) return [];
      for (const input of inputs) validateCommit(input);
      const ns = inputs[0]!.ns;
      const c = ctx.cols(ns);
      const seen = new Set<string>();
      for (const input of inputs) {
        if (ctx.cols(input.ns).key !== c.key) throw new ValidationError('commitMany takes commits of one namespace');
        if (seen.has(input.version.itemId)) throw new ValidationError(`commitMany takes one commit per record ('${input.version.itemId}' twice)`);
        seen.add(input.version.itemId);
      }
      await ctx.ensure(ns);
      const txn = await ctx.detectTransactions();
      return run('commit', async () => {
        if (!txn) return commitManyPlain(ctx, c, inputs);
        const out: CommitManyResult[] = [];
        for (const input of inputs) out.push(await asResult(() => commitTxn(ctx, c, input)));
        return out;
      });
    },

    getHead: (ns, itemId, o) => getHead(ctx, ns, itemId, o),
    getVersion: (ns, itemId, sel) => getVersion(ctx, ns, itemId, sel),
    findVersions: (ns, refs) => findVersions(ctx, ns, refs),
    deleteVersions: (ns, refs) => deleteVersions(ctx, ns, refs),
    listVersions: (ns, itemId, o) => listVersions(ctx, ns, itemId, o),
    findByRequestId: (ns, requestId) => findByRequestId(ctx, ns, requestId),
    findByRequestIds: (ns, requestIds) => findByRequestIds(ctx, ns, requestIds),
    queryHeads: (ns, q) => queryHeads(ctx, ns, q),
    scanHeads: (ns, q) => scanHeads(ctx, ns, q),
    findHeadsByState: (ns, q) => findHeadsByState(ctx, ns, q),
    changesAfter: (ns, q) => changesAfter(ctx, ns, q),
    openChangeSignal: (ns, listener) => openChangeSignal(ctx, ns, listener),

    async currentCv(ns) {
      const c = ctx.cols(ns);
      return run('current cv', () => maxCv(c));
    },

    async setState(ns, itemId, state) {
      const c = checkItem(ctx, ns, itemId);
      if (!STATES.has(state)) throw new ValidationError(`Invalid state ${JSON.stringify(state)}`);
      return run('set state', async () => {
        if ((await c.head.updateOne({ _id: itemId }, { $set: { state } })).matchedCount === 1) return true;
        // no head: either no record, or a create interrupted before its head write
        const latest = await latestVersion(c, itemId);
        if (!latest) return false;
        await repairHead(ctx, c, latest, null);
        return (await c.head.updateOne({ _id: itemId }, { $set: { state } })).matchedCount === 1;
      });
    },

    async hardDelete(ns, itemId) {
      const c = checkItem(ctx, ns, itemId);
      return run('hard delete', async () => {
        const vs = await c.ver.find({ itemId }).sort({ ov: 1 }).toArray();
        // The head first, then the versions (the truth): an interrupted hardDelete leaves versions
        // without a head, which readers rebuild, so the record is simply still there until a rerun.
        // (Versions first would leave a head without versions, on which a write trusting the head,
        // getHead forWrite + prev, could commit a version N + 1 with no chain under it.)
        forgetGuess(ctx, c, itemId);
        await c.head.deleteOne({ _id: itemId });
        await c.ver.deleteMany({ itemId });
        return vs.map((v) => toVersion(v));
      });
    },

    beginErasure: (ns, input) => life.beginErasure(ns, input),
    finishErasure: (ns, itemId, input) => life.finishErasure(ns, itemId, input),
    ...(opts.erasure === false ? {} : { erasedIds: life.erasedIds }),
    listErasures: (ns, q) => life.listErasures(ns, q),
    clearShadow: (ns, itemId, ov) => life.clearShadow(ns, itemId, ov),
    getLease: (dbName, name) => life.getLease(dbName, name),
    putLease: (dbName, lease) => life.putLease(dbName, lease),

    async ping() {
      const ms = opts.pingTimeoutMS ?? 3000;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new StorageError(`MongoDB ping to ${ctx.where} timed out after ${ms} ms`)), ms);
        timer.unref?.();
      });
      try {
        await Promise.race([run('ping', async () => void (await ctx.client.db('admin').command({ ping: 1 }))), timeout]);
      } finally {
        if (timer) clearTimeout(timer);
      }
    },

    settle: () => ctx.settle(),

    async close() {
      if (ctx.closed) return;
      await ctx.settle();
      await closeChangeSignals(ctx);
      ctx.closed = true;
      if (ownsShared && opts.uri)
        await releaseClient(opts.uri).catch((e) =>
          ctx.log.warn('closing the MongoDB client failed', { error: ctx.redact(String((e as Error)?.message ?? e)) }),
        );
    },

    incrementCounters: (scope, inc) => counters.increment(scope, inc),
    getCounters: (scope) => counters.get(scope),
    resetCounters: (scope) => counters.reset(scope),
    recountCounters: (scope, source) => counters.recount(scope, source),
  };
  return store;
}
