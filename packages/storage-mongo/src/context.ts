/**
 * The store's options, and what every protocol step of one store shares (`StoreCtx`): the client
 * and its per-client state, error mapping, the collections of a namespace, index creation,
 * server detection (transactions, FerretDB) and the background housekeeping.
 */
import type { Collection, MongoClient } from 'mongodb';
import {
  StorageError,
  ValidationError,
  assertNamespace,
  isFieldPath,
  physicalName,
  redactUri,
  silentLogger,
  type Logger,
  type Namespace,
} from '@chronos-db/core';
import { acquireClient, type SharedClientOptions } from './client-pool.js';
import { clientState, type ClientState } from './client-state.js';
import type { StoredErasure, StoredHead, StoredPending, StoredVersion } from './docs.js';
import { makeRedactor, toStorageError } from './errors.js';
import { recordNamespace } from './namespaces.js';

export type CommitStep = 'checked' | 'version' | 'head';

export interface MongoMetadataStoreOptions extends SharedClientOptions {
  /** Connection string. The client is shared per URI in this process (see getSharedClient). */
  uri?: string;
  /** A ready client (tests, routers). Never closed by this store. Create it with `monitorCommands: true` for command counts. */
  client?: MongoClient;
  /** Database of the counter totals (CounterStore). Default: the scope's dbName. */
  dbName?: string;
  /**
   * Opt-in. Default (or `enabled: false`): no transactions anywhere; the commit point is the
   * version insert (the protocol proven on FerretDB). `enabled: true`: steps 1-3 of a commit run
   * in one transaction; the server must offer them (replica set or mongos, asked once per client
   * with `hello`), else the first commit is a ValidationError. `enabled: true, autoDetect: true`:
   * transactions where the server offers them, the insert protocol elsewhere. `autoDetect`
   * without `enabled: true` is refused.
   */
  transactions?: { enabled?: boolean; autoDetect?: boolean };
  /**
   * Which query branches to run: `'auto'` (default) detects FerretDB (`buildInfo`) and then
   * uses `_id` seeks on hot paths; `'mongodb'` forces the MongoDB queries and `'ferretdb'` the
   * seeks, whatever the server (both are valid everywhere; tests run each branch on FerretDB).
   * Workarounds of FerretDB bugs follow the detected server, not this option.
   */
  dialect?: 'auto' | 'mongodb' | 'ferretdb';
  /**
   * Whether this store honours erasure tombstones (admin hardDelete). Default true: every commit
   * looks for a tombstone after it lands (one more round trip) and `erasedIds` lets reads check.
   * `false` (initChronos passes `hardDeleteEnabled === true`): no tombstone look on commits and
   * head repairs, no `erasedIds`, and `beginErasure` is refused. Every process sharing the data
   * must agree: a process with `false` would not see another's erasure.
   */
  erasure?: boolean;
  logger?: Logger;
  /** Deadline of `ping()`. Default 3000 ms. */
  pingTimeoutMS?: number;
  /**
   * Test-only: awaited after each step of a non-transactional commit, to
   * simulate a crash (SIGKILL in a child process) or a slow writer between steps.
   */
  onCommitStep?: (step: CommitStep, info: { ns: Namespace; itemId: string; ov: number; cv: number }) => void | Promise<void>;
}

/** The two collections of a namespace. */
export interface Cols {
  key: string;
  /** Key of one record (or one version id) of this namespace in the per-process maps. */
  itemKey: (id: string) => string;
  name: string;
  head: Collection<StoredHead>;
  ver: Collection<StoredVersion>;
  /** Tombstones and erasure records, `_id` = itemId (lifecycle.ts). */
  erase: Collection<StoredErasure>;
  /** Bulk commits in flight (heads.ts): versions whose heads may lag, one document per batch. */
  pend: Collection<StoredPending>;
}

export interface StoreCtx {
  /** The current client (a shared one is replaced after a failed first connection: read it at each use). */
  readonly client: MongoClient;
  readonly shared: ClientState;
  readonly opts: MongoMetadataStoreOptions;
  /** The URI without secrets, for messages. */
  readonly where: string;
  readonly redact: (s: string) => string;
  readonly log: Logger;
  readonly hook: MongoMetadataStoreOptions['onCommitStep'];
  closed: boolean;
  /** Whether commits use transactions; undefined until detected. */
  txnKnown: boolean | undefined;
  /** Runs driver calls with error mapping (StorageError, secrets redacted); refuses when closed. */
  run<T>(what: string, fn: () => Promise<T>): Promise<T>;
  /** Throws the "closed" StorageError when the store is closed. */
  assertOpen(): void;
  cols(ns: Namespace): Cols;
  /**
   * The namespace's indexes, created once per client per process; with `indexedProps`, also one
   * head index per property (`metaIndexed.<prop>`, `_id`), each created once too.
   */
  ensure(ns: Namespace, indexedProps?: readonly string[]): Promise<void>;
  /** Whether the FerretDB branch runs (hot paths use `_id` seeks): the `dialect` option, or detection. */
  idSeeks(): Promise<boolean>;
  /** Whether the server is FerretDB (`buildInfo`), asked once per client: its bug workarounds depend on it. */
  isFerret(): Promise<boolean>;
  /** Whether commits use transactions (see the `transactions` option); asks the server once per client when enabled. */
  detectTransactions(): Promise<boolean>;
  /** Whether the server offers multi-document transactions and change streams (replica set or mongos), asked once per client. */
  serverHasSessions(): Promise<boolean>;
  /** The branch `idSeeks` chose, once known. */
  dialectKnown: 'mongodb' | 'ferretdb' | undefined;
  /** Whether the server offers transactions, once asked. */
  sessionsKnown: boolean | undefined;
  /** Housekeeping in the background: a failure is logged (debug) and left to a later read to repair. */
  inBackground(what: string, fn: () => Promise<unknown>): void;
  /** Resolves when the background work started so far has finished. */
  settle(): Promise<void>;
  /** Version keys (itemKey of the version id) whose `_h` flag this process is clearing. */
  readonly clearing: Set<string>;
  /** Bulk flag clears go one command at a time per store (see heads.ts). */
  bulkClears: Promise<void>;
  /** `_pending` documents of this process whose heads are written (their delete is in flight). */
  readonly closing: Set<string>;
  /** Per namespace (Cols.key): the last look for interrupted commits of this store (FerretDB; heads.ts). */
  readonly pendingLooks: Map<string, PendingLook>;
}

/** When a store last looked for flagged versions in a namespace, how long it took, whether one runs now. */
export interface PendingLook {
  startedAt: number;
  ms: number;
  running: boolean;
}

type IndexSpec = [Record<string, 1 | -1>, { name: string; unique?: boolean; sparse?: boolean }];

/** The version collection's indexes (ensureBase makes them; checkIndexes looks for them). */
export const VERSION_INDEXES: readonly IndexSpec[] = [
  [
    { itemId: 1, ov: 1 },
    { name: 'itemId_ov_unique', unique: true },
  ],
  [{ cv: 1 }, { name: 'cv_unique', unique: true }],
  [{ itemId: 1, at: -1, ov: -1 }, { name: 'itemId_at' }],
  [{ itemId: 1, cv: -1 }, { name: 'itemId_cv' }],
  [{ requestId: 1 }, { name: 'requestId' }],
  // only versions whose head write is unconfirmed carry _h: queryHeads' repair check reads this index, not the collection
  [{ _h: 1 }, { name: 'pending_h', sparse: true }],
];
/** The head collection's indexes; TTL marking (findHeadsByState) reads state_at_id: the stale heads of one state, in keyset order. */
export const HEAD_INDEXES: readonly IndexSpec[] = [
  [{ deleted: 1, _id: 1 }, { name: 'deleted_id' }],
  [{ state: 1, at: 1, _id: 1 }, { name: 'state_at_id' }],
];
/** The head index of one indexed property (ensureProp). */
export const propIndexName = (prop: string) => `mi_${prop.replace(/\./g, '~')}`;

/** Versions and heads of a namespace: their indexes, created once per client per process (a cached promise). */
function ensureBase(ctx: StoreCtx, ns: Namespace, c: Cols, map: Map<string, Promise<void>>): Promise<void> {
  let p = map.get(c.key);
  if (!p) {
    p = ctx.run('createIndexes', async () => {
      // One createIndex per index: FerretDB 1.24 closes the connection (a server-side
      // panic) when a multi-index createIndexes names indexes that already exist,
      // which is the case for every process after the first.
      for (const [key, options] of VERSION_INDEXES) await c.ver.createIndex(key, options);
      for (const [key, options] of HEAD_INDEXES) await c.head.createIndex(key, options);
      // listNamespaces reads the namespace's parts back from here (the physical name cannot always be split)
      await recordNamespace(ctx, ns, physicalName(ns));
    });
    map.set(c.key, p);
    p.catch(() => map.delete(c.key));
  }
  return p;
}

/**
 * A head index on one indexed property (collectionMaps.*.indexedProps), with `_id` after it:
 * a filter on the property reads the index, and pages come out in keyset (`_id`) order.
 */
function ensureProp(ctx: StoreCtx, c: Cols, map: Map<string, Promise<void>>, prop: string): Promise<void> {
  const k = `${c.key}\u0000prop\u0000${prop}`;
  let p = map.get(k);
  if (!p) {
    p = ctx.run('createIndexes', async () => {
      await c.head.createIndex({ [`metaIndexed.${prop}`]: 1, _id: 1 }, { name: propIndexName(prop) });
    });
    map.set(k, p);
    p.catch(() => map.delete(k));
  }
  return p;
}

export function createStoreCtx(opts: MongoMetadataStoreOptions): StoreCtx {
  if (!opts || (!opts.client && !opts.uri)) throw new ValidationError('createMongoMetadataStore needs a uri or a client');
  if (opts.dbName !== undefined && !/^[A-Za-z0-9_-]{1,63}$/.test(opts.dbName)) throw new ValidationError('Invalid counters dbName');
  if (opts.dialect !== undefined && opts.dialect !== 'auto' && opts.dialect !== 'mongodb' && opts.dialect !== 'ferretdb')
    throw new ValidationError("dialect must be 'auto', 'mongodb' or 'ferretdb'");
  const t = opts.transactions;
  if (t !== undefined) {
    if (!t || typeof t !== 'object') throw new ValidationError('transactions must be { enabled?, autoDetect? }');
    for (const k of Object.keys(t)) if (k !== 'enabled' && k !== 'autoDetect') throw new ValidationError(`Unknown transactions option '${k.slice(0, 40)}'`);
    if (t.enabled !== undefined && typeof t.enabled !== 'boolean') throw new ValidationError('transactions.enabled must be a boolean');
    if (t.autoDetect !== undefined && typeof t.autoDetect !== 'boolean') throw new ValidationError('transactions.autoDetect must be a boolean');
    if (t.autoDetect === true && t.enabled !== true)
      throw new ValidationError('transactions.autoDetect applies only with enabled: true (transactions are opt-in)');
  }
  const uri = opts.uri;
  const handle = opts.client ? undefined : acquireClient(uri!, opts);
  const client = opts.client ?? handle!.client;
  const redact = makeRedactor(uri);
  const where = uri ? redact(redactUri(uri)) : `mongodb://${client.options.hosts.map((h) => h.toString()).join(',')}/`;
  const log = opts.logger ?? silentLogger;
  const shared = clientState(client);
  const background = new Set<Promise<void>>();

  const ctx: StoreCtx = {
    get client() {
      return handle ? handle.client : client;
    },
    shared,
    opts,
    where,
    redact,
    log,
    hook: opts.onCommitStep,
    closed: false,
    txnKnown: undefined,
    dialectKnown: undefined,
    sessionsKnown: undefined,
    clearing: new Set<string>(),
    bulkClears: Promise.resolve(),
    closing: new Set<string>(),
    pendingLooks: new Map(),

    assertOpen() {
      if (ctx.closed) throw new StorageError(`MongoDB metadata store for ${where} is closed`);
    },

    async run<T>(what: string, fn: () => Promise<T>): Promise<T> {
      ctx.assertOpen();
      try {
        return await fn();
      } catch (e) {
        throw toStorageError(e, what, where, redact);
      }
    },

    cols(ns) {
      assertNamespace(ns);
      const db = ctx.client.db(ns.dbName);
      const name = physicalName(ns);
      return {
        key: `${ns.dbName}\u0000${name}`,
        itemKey: (id) => `${ns.dbName}\u0000${name}\u0000${id}`,
        name: `${ns.dbName}.${name}`,
        head: db.collection<StoredHead>(`${name}_head`),
        ver: db.collection<StoredVersion>(`${name}_ver`),
        erase: db.collection<StoredErasure>(`${name}_erasures`),
        pend: db.collection<StoredPending>(`${name}_pending`),
      };
    },

    ensure(ns, indexedProps) {
      const c = ctx.cols(ns);
      const map = shared.indexes;
      const base = ensureBase(ctx, ns, c, map);
      if (!indexedProps?.length) return base;
      if (!Array.isArray(indexedProps)) throw new ValidationError('indexedProps must be an array of property names');
      return Promise.all([base, ...indexedProps.filter((p) => isFieldPath(p)).map((prop) => ensureProp(ctx, c, map, prop))]).then(() => {});
    },

    idSeeks() {
      if (opts.dialect === 'mongodb' || opts.dialect === 'ferretdb') {
        ctx.dialectKnown = opts.dialect;
        return Promise.resolve(opts.dialect === 'ferretdb');
      }
      return ctx.isFerret().then((f) => {
        ctx.dialectKnown = f ? 'ferretdb' : 'mongodb';
        return f;
      });
    },

    isFerret() {
      let p = shared.ferret;
      if (!p) {
        p = ctx.client
          .db('admin')
          .command({ buildInfo: 1 })
          .then((bi) => typeof bi.ferretdbVersion === 'string')
          .catch(() => {
            shared.ferret = undefined;
            return false;
          });
        shared.ferret = p;
      }
      return p;
    },

    async detectTransactions() {
      const t = opts.transactions;
      if (t?.enabled !== true) return (ctx.txnKnown = false);
      const offered = await ctx.serverHasSessions();
      if (!offered && t.autoDetect !== true) {
        throw new ValidationError(
          `transactions.enabled is true but ${where} offers no multi-document transactions (it is not a replica set or mongos); remove it, or add autoDetect: true to use them only where offered`,
        );
      }
      return (ctx.txnKnown = offered);
    },

    serverHasSessions() {
      let p = shared.txn;
      if (!p) {
        const mine = ctx.run('hello', async () => {
          const hello = await ctx.client.db('admin').command({ hello: 1 });
          // A replica set names itself (setName), a mongos answers msg 'isdbgrid'; both need sessions.
          const topologyOk = typeof hello.setName === 'string' || hello.msg === 'isdbgrid';
          const sessions = typeof hello.logicalSessionTimeoutMinutes === 'number';
          return topologyOk && sessions;
        });
        shared.txn = p = mine;
        mine.catch(() => {
          if (shared.txn === mine) shared.txn = undefined;
        });
      }
      return p.then((v) => (ctx.sessionsKnown = v));
    },

    inBackground(what, fn) {
      const p: Promise<void> = fn()
        .then(
          () => {},
          (e) => log.debug(`${what} failed (housekeeping; a later read repairs)`, { error: redact(String((e as Error)?.message ?? e)) }),
        )
        .finally(() => background.delete(p));
      background.add(p);
    },

    async settle() {
      while (background.size) await Promise.allSettled([...background]);
    },
  };
  return ctx;
}
