/**
 * The MetadataStore (and CounterStore) on the official MongoDB driver.
 *
 * Layout per namespace, in database `ns.dbName`:
 *   `<physicalName(ns)>_ver`   one immutable document per version; unique on (itemId, ov) and on cv.
 *                              THE SOURCE OF TRUTH: inserting a version document is the commit.
 *   `<physicalName(ns)>_head`  one document per record: the latest version + createdAt, state,
 *                              shadow. Derived from `_ver`; readers reconcile it (see below).
 * Counter totals: `cnt_events` / `cnt_snap` in the configured `dbName` (or the scope's dbName).
 *
 * Why the commit point is an insert and not a compare-and-set update: FerretDB 1.24
 * (SQLite) applies update / findAndModify as "select, compute, replace by _id" without a
 * lock, so two concurrent `updateOne({ _id, ov: n })` can both match (we measured 4 winners
 * of 16) and concurrent `$inc`s lose increments. A unique-index violation on insert is the
 * one atomic conditional write that FerretDB and every MongoDB share, so the protocol rests
 * on it:
 *   1. update only: read version `expectedOv` (must exist, else OptimisticLockError);
 *   2. insert version `ov` with cv = next cv (process-local hint, at least previous cv + 1).
 *      Duplicate key: if (itemId, ov) exists a concurrent writer won -> OptimisticLockError;
 *      otherwise the cv was taken by another process -> re-read max cv and retry.
 *      COMMIT POINT. A loser leaves nothing; (itemId, ov) unique keeps the chain gapless.
 *      The version is inserted with `_h: true` ("its head write is not confirmed").
 *   3. write the head (upsert where head.ov < ov);
 *   4. clear `_h` on the version, in the background (housekeeping, not part of the commit:
 *      a flag left by a crash only makes the next queryHeads check that head).
 * Create = 3 commands, update = 3 when the caller passes `prev` (the engine does: it read
 * the head it builds on), 4 otherwise; steps 2-3 are the only round trips a commit waits for. A crash between 2 and 4 leaves a committed version whose
 * head may lag: getHead reads the newest version with the head (in parallel) and repairs a
 * lagging head; queryHeads looks for `_h` versions (in parallel with the query) and, when
 * there are any, repairs their heads and queries again, so a filter never judges a stale head.
 * Version reads (by ov, at, cv, requestId, list) read `_ver` only.
 * With transactions (replica set / mongos), steps 1-3 run in one transaction.
 */
import type { ClientSession, Collection, MongoClient, Sort } from 'mongodb';
import {
  OptimisticLockError,
  StorageError,
  TxnError,
  ValidationError,
  assertId,
  assertNamespace,
  assertOv,
  physicalName,
  redactUri,
  silentLogger,
  type CommitInput,
  type CommitManyResult,
  type CommitResult,
  type CounterStore,
  type HeadDoc,
  type ItemState,
  type Logger,
  type MetadataCapabilities,
  type MetadataStore,
  type Namespace,
  type QueryInput,
  type ScanInput,
  type VersionDoc,
  type VersionSelector,
} from '@chronos-db/core';
import { commandCount, getSharedClient, releaseClient, type SharedClientOptions } from './client-pool.js';
import { createCounterOps } from './counters.js';
import { OPTIONAL_VERSION_KEYS, OV_MARK, storedVersionFields, toHead, toVersion, versionId, type StoredHead, type StoredVersion } from './docs.js';
import { duplicateKeyIndexes, isDuplicateKey, lockError, makeRedactor, toStorageError } from './errors.js';
import { compileMongoFilter } from './filter.js';

export type CommitStep = 'checked' | 'version' | 'head';

export interface MongoMetadataStoreOptions extends SharedClientOptions {
  /** Connection string. The client is shared per URI in this process (see getSharedClient). */
  uri?: string;
  /** A ready client (tests, routers). Never closed by this store. Create it with `monitorCommands: true` for command counts. */
  client?: MongoClient;
  /** Database of the counter totals (CounterStore). Default: the scope's dbName. */
  dbName?: string;
  /** `enabled: false` never uses transactions; `autoDetect` (default true) asks the server's hello once per client; `enabled: true, autoDetect: false` forces them. */
  transactions?: { enabled?: boolean; autoDetect?: boolean };
  logger?: Logger;
  /** Deadline of `ping()`. Default 3000 ms. */
  pingTimeoutMS?: number;
  /**
   * Test-only: awaited after each step of a non-transactional commit, to
   * simulate a crash (SIGKILL in a child process) or a slow writer between steps.
   */
  onCommitStep?: (step: CommitStep, info: { ns: Namespace; itemId: string; ov: number; cv: number }) => void | Promise<void>;
}

export interface MongoStoreStats {
  /** Commands the underlying client has sent (counted per client, shared by the stores on it). */
  commands: number;
  /** Whether commits use transactions; undefined until detected (first commit or detectTransactions()). */
  transactions: boolean | undefined;
}

export interface MongoMetadataStore extends MetadataStore, CounterStore {
  readonly client: MongoClient;
  /** Detects (once per client) whether the server offers multi-document transactions. */
  detectTransactions(): Promise<boolean>;
  stats(): MongoStoreStats;
  /** Resolves when the background `_h` clears started so far have finished (tests, shutdown). */
  settle(): Promise<void>;
}

const STATES = new Set<ItemState>(['new-not-synched', 'new', 'processed']);
const MAX_CV_RETRIES = 50;
const MAX_QUERY_REPAIRS = 3;
const MAX_PENDING_REPAIR = 100;
// Statements per bulk update command: FerretDB 1.24 holds an open query per statement until the
// command ends, plus one connection for the write, out of 100 per database: a command of ~100
// statements, or bulk commands side by side, wait forever. 20 per command, and bulk flag clears
// one command at a time per store, keep well clear of it.
const HEAD_BATCH = 20;

// Once per client per process: transaction support, index creation, cv hints.
const txnByClient = new WeakMap<MongoClient, Promise<boolean>>();
const indexesByClient = new WeakMap<MongoClient, Map<string, Promise<void>>>();
const cvHintsByClient = new WeakMap<MongoClient, Map<string, { next: number }>>();
const headWritesByClient = new WeakMap<MongoClient, Map<string, { ov: number; tail: Promise<void>; users: number }>>();
// FerretDB (1.x) pushes down only a filter that is exactly `{ _id: value }`: every other
// query or update scans the whole collection. On it, hot paths use `_id` seeks instead.
const idSeeksByClient = new WeakMap<MongoClient, Promise<boolean>>();
// FerretDB: the newest version this process saw of a record (its ov, at, cv and the record's
// createdAt). getHead sends the check of `ov + 1` with the head read (one round trip when the
// guess holds; a wrong guess costs one more); as-of reads start their search from it. Only a
// hint: every answer is proven by documents read in the same call.
interface Guess { ov: number; at: number; cv: number; createdAt: number }
const ovGuessesByClient = new WeakMap<MongoClient, Map<string, Guess>>();
const MAX_OV_GUESSES = 50_000;

interface Cols {
  key: string;
  /** Key of one record (or one version id) of this namespace in the per-process maps. */
  itemKey: (id: string) => string;
  name: string;
  head: Collection<StoredHead>;
  ver: Collection<StoredVersion>;
}

function perClient<V>(map: WeakMap<MongoClient, Map<string, V>>, client: MongoClient): Map<string, V> {
  let m = map.get(client);
  if (!m) map.set(client, (m = new Map()));
  return m;
}

export function createMongoMetadataStore(opts: MongoMetadataStoreOptions): MongoMetadataStore {
  if (!opts || (!opts.client && !opts.uri)) throw new ValidationError('createMongoMetadataStore needs a uri or a client');
  if (opts.dbName !== undefined && !/^[A-Za-z0-9_-]{1,63}$/.test(opts.dbName)) throw new ValidationError('Invalid counters dbName');
  const uri = opts.uri;
  const ownsShared = !opts.client;
  const client = opts.client ?? getSharedClient(uri!, opts);
  const redact = makeRedactor(uri);
  const where = uri ? redact(redactUri(uri)) : `mongodb://${client.options.hosts.map((h) => h.toString()).join(',')}/`;
  const log = opts.logger ?? silentLogger;
  const hook = opts.onCommitStep;
  let closed = false;
  let txnKnown: boolean | undefined;
  // Background `_h` clears: a failed one only leaves a flag that queryHeads checks later.
  // `clearing`: versions whose head this process wrote and whose flag is being cleared
  // (queryHeads need not repair them).
  const background = new Set<Promise<void>>();
  const clearing = new Set<string>();
  let bulkClears: Promise<void> = Promise.resolve();
  const inBackground = (what: string, fn: () => Promise<unknown>): void => {
    const p: Promise<void> = fn().then(
      () => {},
      (e) => log.debug(`${what} failed (housekeeping; a later read repairs)`, { error: redact(String((e as Error)?.message ?? e)) }),
    ).finally(() => background.delete(p));
    background.add(p);
  };

  const run = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    if (closed) throw new StorageError(`MongoDB metadata store for ${where} is closed`);
    try {
      return await fn();
    } catch (e) {
      throw toStorageError(e, what, where, redact);
    }
  };

  const cols = (ns: Namespace): Cols => {
    assertNamespace(ns);
    const db = client.db(ns.dbName);
    const name = physicalName(ns);
    return {
      key: `${ns.dbName}\u0000${name}`,
      itemKey: (id) => `${ns.dbName}\u0000${name}\u0000${id}`,
      name: `${ns.dbName}.${name}`,
      head: db.collection<StoredHead>(`${name}_head`),
      ver: db.collection<StoredVersion>(`${name}_ver`),
    };
  };

  const ensure = (ns: Namespace): Promise<void> => {
    const c = cols(ns);
    const map = perClient(indexesByClient, client);
    let p = map.get(c.key);
    if (!p) {
      p = run('createIndexes', async () => {
        // One createIndex per index: FerretDB 1.24 closes the connection (a server-side
        // panic) when a multi-index createIndexes names indexes that already exist,
        // which is the case for every process after the first.
        const specs: Array<[Record<string, 1 | -1>, { name: string; unique?: boolean; sparse?: boolean }]> = [
          [{ itemId: 1, ov: 1 }, { name: 'itemId_ov_unique', unique: true }],
          [{ cv: 1 }, { name: 'cv_unique', unique: true }],
          [{ itemId: 1, at: -1, ov: -1 }, { name: 'itemId_at' }],
          [{ itemId: 1, cv: -1 }, { name: 'itemId_cv' }],
          [{ requestId: 1 }, { name: 'requestId' }],
          // only versions whose head write is unconfirmed carry _h: queryHeads' repair check reads this index, not the collection
          [{ _h: 1 }, { name: 'pending_h', sparse: true }],
        ];
        for (const [key, options] of specs) await c.ver.createIndex(key, options);
        await c.head.createIndex({ deleted: 1, _id: 1 }, { name: 'deleted_id' });
      });
      map.set(c.key, p);
      p.catch(() => map.delete(c.key));
    }
    return p;
  };

  const detectTransactions = (): Promise<boolean> => {
    const t = opts.transactions;
    if (t?.enabled === false) return Promise.resolve((txnKnown = false));
    if (t?.enabled === true && t.autoDetect === false) return Promise.resolve((txnKnown = true));
    let p = txnByClient.get(client);
    if (!p) {
      p = run('hello', async () => {
        const hello = await client.db('admin').command({ hello: 1 });
        // A replica set names itself (setName), a mongos answers msg 'isdbgrid'; both need sessions.
        const topologyOk = typeof hello.setName === 'string' || hello.msg === 'isdbgrid';
        const sessions = typeof hello.logicalSessionTimeoutMinutes === 'number';
        return topologyOk && sessions;
      });
      txnByClient.set(client, p);
      const c = client;
      p.catch(() => txnByClient.delete(c));
    }
    return p.then((v) => (txnKnown = v));
  };

  // -------------------------------------------------------------------------
  // cv allocation: a process-local hint, checked by the unique index on cv
  // -------------------------------------------------------------------------

  const maxCv = async (c: Cols, session?: ClientSession): Promise<number> => {
    const d = await c.ver.find({}, { projection: { cv: 1 }, ...(session ? { session } : {}) }).sort({ cv: -1 }).limit(1).next();
    return d && typeof d.cv === 'number' ? d.cv : 0;
  };

  const nextCv = async (c: Cols, floor: number, refresh: boolean, session?: ClientSession): Promise<number> => {
    const hints = perClient(cvHintsByClient, client);
    let h = hints.get(c.key);
    if (!h || refresh) {
      const max = await maxCv(c, session);
      h = hints.get(c.key) ?? { next: 1 };
      h.next = Math.max(h.next, max + 1);
      hints.set(c.key, h);
    }
    const cv = Math.max(h.next, floor);
    h.next = cv + 1;
    return cv;
  };

  // -------------------------------------------------------------------------
  // commit
  // -------------------------------------------------------------------------

  const validateCommit = (input: CommitInput): void => {
    if (!input || typeof input !== 'object' || !input.version || typeof input.version !== 'object') throw new ValidationError('commit needs { ns, version, expectedOv, head }');
    const v = input.version;
    assertNamespace(input.ns);
    assertId(v.itemId);
    if (input.expectedOv === null) {
      if (v.ov !== 0) throw new ValidationError(`A create must be ov 0, got ${JSON.stringify(v.ov)}`);
    } else {
      assertOv(input.expectedOv);
      if (v.ov !== input.expectedOv + 1) throw new ValidationError(`version.ov must be expectedOv + 1 (${input.expectedOv + 1}), got ${JSON.stringify(v.ov)}`);
    }
    if (typeof v.at !== 'number' || !Number.isFinite(v.at)) throw new ValidationError('version.at must be a finite number');
    if (typeof v.jsonKey !== 'string' || v.jsonKey.length === 0) throw new ValidationError('version.jsonKey is required');
    const st = input.head?.state;
    if (st !== undefined && !STATES.has(st)) throw new ValidationError(`Invalid state ${JSON.stringify(st)}`);
  };

  /** Whether the server is FerretDB, asked once per client (buildInfo): see idSeeksByClient. */
  const idSeeks = (): Promise<boolean> => {
    let p = idSeeksByClient.get(client);
    if (!p) {
      p = client
        .db('admin')
        .command({ buildInfo: 1 })
        .then((bi) => typeof bi.ferretdbVersion === 'string')
        .catch(() => {
          idSeeksByClient.delete(client);
          return false;
        });
      idSeeksByClient.set(client, p);
    }
    return p;
  };

  /**
   * Moves the head to `v` where it is behind (upsert; a duplicate key means a
   * newer head is already there). `shadow`: object sets, null clears, undefined keeps.
   */
  const headUpdate = (v: VersionDoc, createdAt: number, headIn: CommitInput['head'], ferret: boolean, inTxn: boolean) => {
    const fields = storedVersionFields(v) as Record<string, unknown>;
    const $set: Record<string, unknown> = { ...fields, createdAt };
    const $unset: Record<string, ''> = {};
    for (const k of OPTIONAL_VERSION_KEYS) if (fields[k] === undefined) $unset[k] = '';
    if (headIn.state !== undefined) $set.state = headIn.state;
    if (headIn.shadow) $set.shadow = headIn.shadow;
    else if (headIn.shadow === null) $unset.shadow = '';
    const update: Record<string, unknown> = { $set };
    if (Object.keys($unset).length) update.$unset = $unset;
    if (headIn.state === undefined) update.$setOnInsert = { state: 'new' };
    // In a transaction the head cannot be ahead of us; outside, never move it backwards.
    // Except on FerretDB, where `{ _id, ov: { $lt } }` scans the whole collection (and its updates
    // are not atomic anyway): there the head is written by `_id` alone. A head that a slow writer
    // moved backwards is a lagging head, which readers and writers repair (getHead, queryHeads).
    if (ferret) {
      // FerretDB 1.24 skips a `$set` of an embedded document whose values equal the old one's
      // under other keys ({ n: 0 } -> { racer: 0 } is "unchanged"). A per-version marker that
      // readers strip (OV_MARK) makes every version's embedded documents differ.
      if ($set.metaIndexed && typeof $set.metaIndexed === 'object') $set.metaIndexed = { ...($set.metaIndexed as object), [OV_MARK]: v.ov };
      if ($set.blobs && typeof $set.blobs === 'object') $set.blobs = { ...($set.blobs as object), [OV_MARK]: v.ov };
    }
    const filter: Record<string, unknown> = inTxn || ferret ? { _id: v.itemId } : { _id: v.itemId, ov: { $lt: v.ov } };
    return { filter, update };
  };

  const writeHead = async (c: Cols, v: VersionDoc, createdAt: number, headIn: CommitInput['head'], session?: ClientSession): Promise<void> => {
    const { filter, update } = headUpdate(v, createdAt, headIn ?? {}, await idSeeks(), !!session);
    const write = async () => {
      try {
        await c.head.updateOne(filter, update, { upsert: true, ...(session ? { session } : {}) });
      } catch (e) {
        if (!isDuplicateKey(e) || session) throw e;
        // a head at or beyond v.ov exists: nothing to do
      }
    };
    if (session) await write();
    else await serialHeadWrite(c, v.itemId, { ov: v.ov, at: v.at, cv: v.cv, createdAt }, write);
  };

  /**
   * Head writes of one record from this process go one at a time, and a write older than one
   * already done is skipped: a slow writer (or a repair that read an older version) can never
   * move a head backwards from inside this process, whatever the server's update atomicity.
   */
  const serialHeadWrite = async (c: Cols, itemId: string, g: Guess, write: () => Promise<void>): Promise<void> => {
    const ov = g.ov;
    const m = perClient(headWritesByClient, client);
    const k = c.itemKey(itemId);
    let e = m.get(k);
    if (!e) m.set(k, (e = { ov: -1, tail: Promise.resolve(), users: 0 }));
    const entry = e;
    entry.users++;
    const mine = entry.tail.then(async () => {
      if (entry.ov >= ov) return;
      await write();
      entry.ov = ov;
      remember(c, itemId, g);
    });
    entry.tail = mine.catch(() => {});
    try {
      await mine;
    } finally {
      if (--entry.users === 0 && m.get(k) === entry) m.delete(k);
    }
  };

  const guessOf = (c: Cols, itemId: string): Guess | undefined => perClient(ovGuessesByClient, client).get(c.itemKey(itemId));
  const remember = (c: Cols, itemId: string, g: Guess): void => {
    const m = perClient(ovGuessesByClient, client);
    const k = c.itemKey(itemId);
    m.delete(k); // re-insert: the Map's order is the eviction order
    if (m.size >= MAX_OV_GUESSES) m.delete(m.keys().next().value as string);
    m.set(k, g);
  };
  const rememberHead = (c: Cols, h: StoredHead): void => {
    remember(c, h._id, { ov: h.ov, at: h.at, cv: h.cv, createdAt: typeof h.createdAt === 'number' ? h.createdAt : h.at });
  };

  /** FerretDB: the head, checked by whether version head.ov + 1 exists (both `_id` seeks); undefined when it lags. */
  const seekHead = async (c: Cols, itemId: string): Promise<StoredHead | null | undefined> => {
    const guess = guessOf(c, itemId);
    let head: StoredHead | null;
    if (guess !== undefined) {
      const [h, next] = await Promise.all([c.head.findOne({ _id: itemId }), hasVersion(c, itemId, guess.ov + 1)]);
      head = h;
      if (h && h.ov === guess.ov) return next ? undefined : h;
    } else head = await c.head.findOne({ _id: itemId });
    if (await hasVersion(c, itemId, head ? head.ov + 1 : 0)) return undefined;
    if (head) rememberHead(c, head);
    return head;
  };

  /** After a duplicate key on the version insert: who took it? */
  const versionExists = async (c: Cols, itemId: string, ov: number): Promise<boolean> => (await c.ver.findOne({ _id: versionId(itemId, ov) }, { projection: { _id: 1 } })) !== null;

  const commitPlain = async (c: Cols, input: CommitInput): Promise<CommitResult> => {
    const { ns, version, expectedOv } = input;
    const itemId = version.itemId;
    let createdAt: number;
    let floor = 1;
    if (expectedOv !== null && input.prev) {
      // the caller read version expectedOv (as the head): no need to read it again
      createdAt = input.prev.createdAt;
      floor = input.prev.cv + 1;
    } else if (expectedOv !== null) {
      const prev = await c.ver.findOne({ _id: versionId(itemId, expectedOv) }, { projection: { cv: 1, _ca: 1, at: 1 } });
      if (!prev) throw lockError(c.name, itemId, expectedOv);
      createdAt = typeof prev._ca === 'number' ? prev._ca : prev.at;
      floor = prev.cv + 1;
    } else {
      createdAt = input.head?.createdAt ?? version.at;
    }
    let cv = await nextCv(c, floor, false);
    if (hook) await hook('checked', { ns, itemId, ov: version.ov, cv });
    for (let attempt = 0; ; attempt++) {
      try {
        await c.ver.insertOne({ _id: versionId(itemId, version.ov), ...storedVersionFields({ ...version, cv } as VersionDoc), _ca: createdAt, _h: true });
        break;
      } catch (e) {
        if (!isDuplicateKey(e)) throw e;
        if (await versionExists(c, itemId, version.ov)) throw lockError(c.name, itemId, expectedOv);
        if (attempt >= MAX_CV_RETRIES) throw new StorageError(`Could not allocate a collection version in ${c.name} after ${MAX_CV_RETRIES} attempts`);
        cv = await nextCv(c, floor, true); // another process took this cv
      }
    }
    if (hook) await hook('version', { ns, itemId, ov: version.ov, cv });
    await writeHead(c, { ...version, cv } as VersionDoc, createdAt, input.head ?? {});
    if (hook) await hook('head', { ns, itemId, ov: version.ov, cv });
    // by _id alone: FerretDB scans the whole collection for any other filter ($unset of a missing field is a no-op)
    clearInBackground(c, [versionId(itemId, version.ov)]);
    return { cv };
  };

  /** One entry of commitMany: what commit returned, or its OptimisticLockError (anything else is thrown). */
  const asResult = async (commitOne: () => Promise<CommitResult>): Promise<CommitManyResult> => {
    try {
      return { ok: true, cv: (await commitOne()).cv };
    } catch (e) {
      if (e instanceof OptimisticLockError) return { ok: false, error: e };
      throw e;
    }
  };

  /**
   * Many records at once, the same protocol in bulk: one insertMany of the versions (`_h: true`,
   * unordered: each refused insert fails only its own entry), the heads of the inserted ones in
   * bulk (HEAD_BATCH statements per command, see there), the `_h` clears in the background. Entries without
   * `prev`, and entries whose cv was taken by another process, go through commitPlain.
   */
  const commitManyPlain = async (c: Cols, inputs: CommitInput[]): Promise<CommitManyResult[]> => {
    const results: CommitManyResult[] = new Array(inputs.length);
    const bulk: Array<{ i: number; cv: number; createdAt: number }> = [];
    const alone: number[] = [];
    for (const [i, input] of inputs.entries()) {
      if (input.expectedOv !== null && !input.prev) alone.push(i);
      else {
        const createdAt = input.expectedOv === null ? (input.head?.createdAt ?? input.version.at) : input.prev!.createdAt;
        bulk.push({ i, cv: await nextCv(c, input.expectedOv === null ? 1 : input.prev!.cv + 1, false), createdAt });
      }
    }
    const docs = bulk.map((b) => {
      const v = inputs[b.i]!.version;
      return { _id: versionId(v.itemId, v.ov), ...storedVersionFields({ ...v, cv: b.cv } as VersionDoc), _ca: b.createdAt, _h: true as const };
    });
    const refused = new Set<number>();
    if (docs.length) {
      try {
        await c.ver.insertMany(docs, { ordered: false });
      } catch (e) {
        const dup = duplicateKeyIndexes(e);
        if (!dup) throw e;
        for (const k of dup) refused.add(k);
      }
    }
    // refused: a concurrent writer took (itemId, ov) -> lock error; else the cv was taken -> one at a time
    await Promise.all([...refused].map(async (k) => {
      const b = bulk[k]!;
      const v = inputs[b.i]!.version;
      if (await versionExists(c, v.itemId, v.ov)) results[b.i] = { ok: false, error: lockError(c.name, v.itemId, inputs[b.i]!.expectedOv) };
      else alone.push(b.i);
    }));
    const landed = bulk.filter((_, k) => !refused.has(k));
    for (const b of landed) results[b.i] = { ok: true, cv: b.cv };
    if (hook) for (const b of landed) await hook('version', { ns: inputs[b.i]!.ns, itemId: inputs[b.i]!.version.itemId, ov: inputs[b.i]!.version.ov, cv: b.cv });
    await writeHeads(c, landed.map((b) => ({ v: { ...inputs[b.i]!.version, cv: b.cv } as VersionDoc, createdAt: b.createdAt, head: inputs[b.i]!.head ?? {} })));
    if (hook) for (const b of landed) await hook('head', { ns: inputs[b.i]!.ns, itemId: inputs[b.i]!.version.itemId, ov: inputs[b.i]!.version.ov, cv: b.cv });
    const ids = landed.map((b) => versionId(inputs[b.i]!.version.itemId, inputs[b.i]!.version.ov));
    clearInBackground(c, ids);
    for (const i of alone) results[i] = await asResult(() => commitPlain(c, inputs[i]!));
    return results;
  };

  /** Clears `_h` on these versions by `_id` (FerretDB scans for any other filter), HEAD_BATCH per command. */
  const clearFlags = async (c: Cols, ids: string[]): Promise<void> => {
    if (ids.length === 1) {
      await c.ver.updateOne({ _id: ids[0]! }, { $unset: { _h: '' } });
      return;
    }
    for (let k = 0; k < ids.length; k += HEAD_BATCH) {
      await c.ver.bulkWrite(ids.slice(k, k + HEAD_BATCH).map((_id) => ({ updateOne: { filter: { _id }, update: { $unset: { _h: '' } } } })), { ordered: false });
    }
  };

  /** After this process wrote their heads: the flags go in the background, known to queryHeads meanwhile. */
  const clearInBackground = (c: Cols, ids: string[]): void => {
    if (!ids.length) return;
    const keys = ids.map(c.itemKey);
    for (const k of keys) clearing.add(k);
    const clear = () => clearFlags(c, ids).finally(() => {
      for (const k of keys) clearing.delete(k);
    });
    if (ids.length === 1) inBackground('clearing the pending flag', clear);
    else {
      const mine = bulkClears.then(clear);
      bulkClears = mine.catch(() => {});
      inBackground('clearing pending flags', () => mine);
    }
  };

  /**
   * The heads of several records in bulk (see writeHead for one). Records with a head write of
   * this process in flight take the one-at-a-time path; the others are held for the batch, so
   * no head write of this process can overtake it and no head moves backwards from here.
   */
  const writeHeads = async (c: Cols, items: Array<{ v: VersionDoc; createdAt: number; head: CommitInput['head'] }>): Promise<void> => {
    const m = perClient(headWritesByClient, client);
    const ferret = await idSeeks();
    const held: Array<{ k: string; entry: { ov: number; tail: Promise<void>; users: number }; item: (typeof items)[number] }> = [];
    const queued: Array<Promise<void>> = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    for (const item of items) {
      const k = c.itemKey(item.v.itemId);
      if (m.has(k)) {
        queued.push(writeHead(c, item.v, item.createdAt, item.head));
        continue;
      }
      const entry = { ov: -1, tail: gate, users: 1 };
      m.set(k, entry);
      held.push({ k, entry, item });
    }
    try {
      const ops = held.map(({ item }) => {
        const { filter, update } = headUpdate(item.v, item.createdAt, item.head, ferret, false);
        return { updateOne: { filter, update, upsert: true } };
      });
      for (let k = 0; k < ops.length; k += HEAD_BATCH) {
        try {
          await c.head.bulkWrite(ops.slice(k, k + HEAD_BATCH) as never, { ordered: false });
        } catch (e) {
          // only duplicate keys: a head at or beyond that ov is already there (MongoDB's `ov < v.ov` upsert)
          if (!duplicateKeyIndexes(e)) throw e;
        }
      }
      for (const { entry, item } of held) {
        entry.ov = item.v.ov;
        remember(c, item.v.itemId, { ov: item.v.ov, at: item.v.at, cv: item.v.cv, createdAt: item.createdAt });
      }
    } finally {
      release();
      for (const { k, entry } of held) if (--entry.users === 0 && m.get(k) === entry) m.delete(k);
    }
    await Promise.all(queued);
  };

  const commitTxn = async (c: Cols, input: CommitInput): Promise<CommitResult> => {
    const { version, expectedOv } = input;
    const itemId = version.itemId;
    let refresh = false;
    for (let attempt = 0; attempt <= MAX_CV_RETRIES; attempt++) {
      const session = client.startSession();
      let cv = 0;
      try {
        await session.withTransaction(async () => {
          let createdAt = input.head?.createdAt ?? version.at;
          let floor = 1;
          if (expectedOv !== null) {
            const prev = await c.ver.findOne({ _id: versionId(itemId, expectedOv) }, { projection: { cv: 1, _ca: 1, at: 1 }, session });
            if (!prev) throw lockError(c.name, itemId, expectedOv);
            createdAt = typeof prev._ca === 'number' ? prev._ca : prev.at;
            floor = prev.cv + 1;
          }
          cv = await nextCv(c, floor, refresh, session);
          await c.ver.insertOne({ _id: versionId(itemId, version.ov), ...storedVersionFields({ ...version, cv } as VersionDoc), _ca: createdAt }, { session });
          await writeHead(c, { ...version, cv } as VersionDoc, createdAt, input.head ?? {}, session);
        });
        return { cv };
      } catch (e) {
        if (e instanceof OptimisticLockError) throw e;
        if (isDuplicateKey(e)) {
          if (await versionExists(c, itemId, version.ov)) throw lockError(c.name, itemId, expectedOv);
          refresh = true;
          continue;
        }
        const labels = (e as { errorLabelSet?: Set<string> }).errorLabelSet;
        if (labels?.has('TransientTransactionError')) {
          throw new TxnError(`Transaction for '${itemId}' in ${c.name} was not committed: ${redact(String((e as Error).message))}`);
        }
        throw e;
      } finally {
        await session.endSession().catch(() => {});
      }
    }
    throw new StorageError(`Could not allocate a collection version in ${c.name}`);
  };

  // -------------------------------------------------------------------------
  // reads
  // -------------------------------------------------------------------------

  const checkItem = (ns: Namespace, itemId: string): Cols => {
    const c = cols(ns);
    assertId(itemId);
    return c;
  };

  const latestVersion = (c: Cols, itemId: string) => c.ver.find({ itemId }).sort({ ov: -1 }).limit(1).next();
  /** Whether version `ov` of a record exists (an `_id` seek). ov is gapless, so `ov = head.ov + 1` missing means the head is current. */
  const hasVersion = async (c: Cols, itemId: string, ov: number) => (await c.ver.findOne({ _id: versionId(itemId, ov) }, { projection: { _id: 1 } })) !== null;

  /**
   * FerretDB: the newest version with `field <= bound`, found with `_id` seeks instead of a query
   * that scans every version of the collection. `at` and `cv` never decrease along a chain and
   * versions are immutable, so two neighbours m, m + 1 read in one round trip with
   * f(m) <= bound < f(m + 1) prove the answer is m, whatever the head says now. The search is
   * bracketed by the newest version this process knows (no head read) or else by the head, and
   * guesses by interpolation (a chain written at a steady pace answers in one round trip), then
   * bisects, so the worst case stays logarithmic. `undefined` when the chain is not plain (a
   * version missing, a lagging head): the caller then asks the query.
   */
  const seekVersion = async (c: Cols, itemId: string, field: 'at' | 'cv', bound: number): Promise<VersionDoc | null | undefined> => {
    const guess = guessOf(c, itemId);
    // Invariant: versions up to lo qualify (lo = -1: none known yet); version hi does not
    // (hiDoc: read in this call; else a guess still to be proven).
    let hi: number;
    let hiF: number;
    let hiDoc: StoredVersion | StoredHead | null = null;
    let createdAt: number;
    if (guess && guess[field] > bound) {
      hi = guess.ov;
      hiF = guess[field];
      createdAt = guess.createdAt;
    } else {
      // the newest known version qualifies, or none is known: the head decides
      const h = guess ? await seekHead(c, itemId) : await c.head.findOne({ _id: itemId });
      if (!h) return undefined;
      if (h[field] <= bound) {
        // it answers if it is current (versions after a lagging head would qualify too); seekHead checked that
        if (!guess && (await hasVersion(c, itemId, h.ov + 1))) return undefined;
        rememberHead(c, h);
        return toVersion(h);
      }
      rememberHead(c, h); // a hint only: a lagging one is proven wrong by the reads that use it
      hi = h.ov;
      hiF = h[field];
      hiDoc = h;
      createdAt = typeof h.createdAt === 'number' ? h.createdAt : h.at;
    }
    let lo = -1;
    let loDoc: StoredVersion | null = null;
    // Estimated field of the virtual version -1, for interpolation only (never trusted as an answer).
    let loF = field === 'at' ? Math.min(createdAt, bound) - 1 : 0;
    const seek = (ov: number) => c.ver.findOne({ _id: versionId(itemId, ov) });
    // The chain's average pace (field units per version): after a first guess that missed, the
    // next one steps from the side that just moved by the remaining distance at that pace (plain
    // interpolation across the new bracket would creep in from the far end).
    const pace = (hiF - loF) / (hi - lo);
    let moved: 'lo' | 'hi' | null = null;
    for (let step = 0; hi - lo > 1 || !hiDoc; step++) {
      if (hi - lo <= 1) {
        // the bracket rests on the guessed hi: read it
        const d = await seek(hi);
        if (!d) return undefined;
        if (d[field] <= bound) return undefined; // the guess was wrong (cannot be, unless the record was rewritten)
        hiDoc = d;
        break;
      }
      let mid = lo + Math.floor((hi - lo) / 2);
      if (step < 4 && pace > 0 && moved === 'lo') mid = lo + Math.floor((bound - loF) / pace);
      else if (step < 4 && pace > 0 && moved === 'hi') mid = hi - Math.ceil((hiF - bound) / pace);
      else if (step < 4 && hiF > loF) mid = lo + Math.round(((bound - loF) / (hiF - loF)) * (hi - lo));
      mid = Math.min(hi - 1, Math.max(lo + 1, mid));
      const readNext = mid + 1 < hi || !hiDoc;
      const [m, n] = await Promise.all([seek(mid), readNext ? seek(mid + 1) : Promise.resolve(null)]);
      if (!m || (readNext && !n)) return undefined;
      if (m[field] > bound) {
        hi = mid;
        hiF = m[field];
        hiDoc = m;
        moved = 'hi';
      } else if (n && n[field] <= bound) {
        lo = mid + 1;
        loDoc = n;
        loF = n[field];
        moved = 'lo';
      } else {
        lo = mid;
        loDoc = m;
        loF = m[field];
        if (n) {
          hi = mid + 1;
          hiF = n[field];
          hiDoc = n;
        }
      }
    }
    return loDoc ? toVersion(loDoc) : null;
  };

  /** A head rebuilt from its newest version (the stored head lags or is missing), written back. */
  const repairHead = async (c: Cols, latest: StoredVersion, head: StoredHead | null, pendingIds?: string[]): Promise<HeadDoc> => {
    const v = toVersion(latest);
    const createdAt = typeof latest._ca === 'number' ? latest._ca : (head?.createdAt ?? latest.at);
    const state = head?.state ?? 'new';
    log.warn('repairing a head that lags behind its newest version (interrupted commit)', { collection: c.name, itemId: v.itemId, headOv: head?.ov ?? null, ov: v.ov });
    // the shadow belonged to an older version: drop it
    await writeHead(c, v, createdAt, { state, shadow: null });
    if (pendingIds) await clearFlags(c, pendingIds);
    else await c.ver.updateMany({ itemId: v.itemId, _h: true, ov: { $lte: v.ov } }, { $unset: { _h: '' } });
    return { ...v, createdAt, state };
  };

  /** The newest version of a record, knowing version `from` exists (FerretDB: `_id` seeks upward, no scan). */
  const newestFrom = async (c: Cols, itemId: string, from: number): Promise<StoredVersion | null> => {
    if (!(await idSeeks())) return latestVersion(c, itemId);
    const first: StoredVersion | null = await c.ver.findOne({ _id: versionId(itemId, from) });
    if (!first) return latestVersion(c, itemId);
    let doc: StoredVersion = first;
    for (;;) {
      const n: StoredVersion | null = await c.ver.findOne({ _id: versionId(itemId, doc.ov + 1) });
      if (!n) return doc;
      doc = n;
    }
  };

  /** Brings the heads of these records up to their newest versions and clears their `_h` flags. */
  /** The metadata query of heads: the filter, deleted ones or not, and an extra condition (keyset). */
  const headQuery = (filter: QueryInput['filter'], includeDeleted: boolean, extra?: Record<string, unknown>): Record<string, unknown> => {
    const parts: Record<string, unknown>[] = [];
    const f = compileMongoFilter(filter);
    if (Object.keys(f).length) parts.push(f);
    if (!includeDeleted) parts.push({ deleted: { $ne: true } });
    if (extra) parts.push(extra);
    return parts.length === 0 ? {} : parts.length === 1 ? parts[0]! : { $and: parts };
  };

  /**
   * Versions whose head write is unconfirmed (interrupted commits), except those whose heads this
   * process wrote (their flag clear is in flight): 'none', 'settle' (only in-flight ones, as many
   * as one look returns: wait for them and look again), or the ones to repair.
   */
  const openPending = async (c: Cols): Promise<'none' | 'settle' | Array<{ _id: string; itemId: string; ov: number }>> => {
    const pending = await c.ver.find({ _h: true }, { projection: { itemId: 1, ov: 1 } }).limit(MAX_PENDING_REPAIR).toArray();
    const open = pending.filter((p) => !clearing.has(c.itemKey(p._id)));
    if (open.length) return open as Array<{ _id: string; itemId: string; ov: number }>;
    return pending.length < MAX_PENDING_REPAIR ? 'none' : 'settle';
  };

  const repairPending = async (c: Cols, pending: Array<{ _id: string; itemId: string; ov: number }>): Promise<void> => {
    const byItem = new Map<string, { ids: string[]; maxOv: number }>();
    for (const p of pending) {
      const e = byItem.get(p.itemId) ?? { ids: [], maxOv: -1 };
      e.ids.push(p._id);
      e.maxOv = Math.max(e.maxOv, p.ov);
      byItem.set(p.itemId, e);
    }
    const items = [...byItem.entries()];
    let next = 0;
    await Promise.all(Array.from({ length: Math.min(8, items.length) }, async () => {
      while (next < items.length) {
        const [id, { ids, maxOv }] = items[next++]!;
        const h = await c.head.findOne({ _id: id });
        // the head already shows these versions (their commits only missed the flag clear)
        if (h && h.ov >= maxOv && !(await hasVersion(c, id, h.ov + 1))) {
          await clearFlags(c, ids);
          continue;
        }
        const latest = await newestFrom(c, id, maxOv);
        if (latest) await repairHead(c, latest, h, ids);
      }
    }));
  };

  const store: MongoMetadataStore = {
    client,
    get capabilities(): MetadataCapabilities {
      return { transactions: txnKnown ?? false, uniqueIndexes: true, changeStream: txnKnown ?? false };
    },
    detectTransactions,
    stats() {
      return { commands: commandCount(client), transactions: txnKnown };
    },

    async ensureNamespace(ns) {
      await ensure(ns);
    },

    async commit(input) {
      validateCommit(input);
      const c = cols(input.ns);
      await ensure(input.ns);
      const txn = await detectTransactions();
      return run('commit', () => (txn ? commitTxn(c, input) : commitPlain(c, input)));
    },

    async commitMany(inputs) {
      if (!Array.isArray(inputs)) throw new ValidationError('commitMany needs an array of commits');
      if (inputs.length === 0) return [];
      for (const input of inputs) validateCommit(input);
      const ns = inputs[0]!.ns;
      const c = cols(ns);
      const seen = new Set<string>();
      for (const input of inputs) {
        if (cols(input.ns).key !== c.key) throw new ValidationError('commitMany takes commits of one namespace');
        if (seen.has(input.version.itemId)) throw new ValidationError(`commitMany takes one commit per record ('${input.version.itemId}' twice)`);
        seen.add(input.version.itemId);
      }
      await ensure(ns);
      const txn = await detectTransactions();
      return run('commit', async () => {
        if (!txn) return commitManyPlain(c, inputs);
        const out: CommitManyResult[] = [];
        for (const input of inputs) out.push(await asResult(() => commitTxn(c, input)));
        return out;
      });
    },

    async getHead(ns, itemId, o) {
      const c = checkItem(ns, itemId);
      return run('find head', async () => {
        if (o?.forWrite) {
          // about to commit head.ov + 1: a lagging head loses that commit on the unique (itemId, ov) index
          const head = await c.head.findOne({ _id: itemId });
          if (head) return toHead(head);
        }
        if (await idSeeks()) {
          // FerretDB: two `_id` seeks (the head, and whether version head.ov + 1 exists) instead of a scan.
          const head = await seekHead(c, itemId);
          if (head !== undefined) return head ? toHead(head) : null;
        }
        const [h, latest] = await Promise.all([c.head.findOne({ _id: itemId }), latestVersion(c, itemId)]);
        if (!latest) return null;
        if (h && h.ov === latest.ov) return toHead(h);
        return repairHead(c, latest, h);
      });
    },

    async getVersion(ns, itemId, sel: VersionSelector) {
      const c = checkItem(ns, itemId);
      if (!sel || typeof sel !== 'object') throw new ValidationError('version selector must be { ov } | { at } | { cv }');
      if ('ov' in sel) {
        assertOv(sel.ov, 'ov');
        return run('find version', async () => {
          const v = await c.ver.findOne({ _id: versionId(itemId, sel.ov) });
          return v && v.itemId === itemId ? toVersion(v) : null;
        });
      }
      const field = 'at' in sel ? 'at' : 'cv' in sel ? 'cv' : null;
      const bound = field === 'at' ? (sel as { at: unknown }).at : field === 'cv' ? (sel as { cv: unknown }).cv : undefined;
      if (!field || typeof bound !== 'number' || Number.isNaN(bound)) throw new ValidationError('version selector must be { ov } | { at } | { cv } with a number');
      const sort: Sort = field === 'at' ? { at: -1, ov: -1 } : { cv: -1 };
      return run('find version', async () => {
        if (await idSeeks()) {
          const found = await seekVersion(c, itemId, field, bound);
          if (found !== undefined) return found;
        }
        const v = await c.ver.find({ itemId, [field]: { $lte: bound } }).sort(sort).limit(1).next();
        return v ? toVersion(v) : null;
      });
    },

    async listVersions(ns, itemId, o = {}) {
      const c = checkItem(ns, itemId);
      const afterOv = o.afterOv ?? -1;
      if (afterOv !== -1) assertOv(afterOv, 'afterOv');
      const limit = o.limit ?? 1000;
      if (!Number.isSafeInteger(limit) || limit < 1) throw new ValidationError('limit must be a positive integer');
      return run('list versions', async () => {
        const vs = await c.ver.find({ itemId, ov: { $gt: afterOv } }).sort({ ov: 1 }).limit(limit).toArray();
        return vs.map((v) => toVersion(v));
      });
    },

    async findByRequestId(ns, requestId) {
      const c = cols(ns);
      if (typeof requestId !== 'string' || requestId.length === 0 || requestId.length > 256) throw new ValidationError('requestId must be a non-empty string of at most 256 characters');
      return run('find requestId', async () => {
        const v = await c.ver.findOne({ requestId });
        return v ? toVersion(v) : null;
      });
    },

    async queryHeads(ns, q: QueryInput) {
      const c = cols(ns);
      if (!q || typeof q !== 'object') throw new ValidationError('query must be an object');
      if (!Number.isSafeInteger(q.limit) || q.limit < 1 || q.limit > 100_000) throw new ValidationError('limit must be an integer from 1 to 100000');
      const dir = q.dir ?? 1;
      if (dir !== 1 && dir !== -1) throw new ValidationError('dir must be 1 or -1');
      if (q.afterId !== undefined) assertId(q.afterId);
      const query = headQuery(q.filter, !!q.includeDeleted, q.afterId !== undefined ? { _id: dir === 1 ? { $gt: q.afterId } : { $lt: q.afterId } } : undefined);
      return run('query heads', async () => {
        for (let round = 0; ; round++) {
          // In parallel: the page, and versions whose head write is unconfirmed (interrupted commits).
          const [docs, pending] = await Promise.all([c.head.find(query).sort({ _id: dir }).limit(q.limit).toArray(), openPending(c)]);
          if (round >= MAX_QUERY_REPAIRS || pending === 'none') return docs.map((d) => toHead(d));
          if (pending === 'settle') await store.settle();
          else await repairPending(c, pending);
        }
      });
    },

    async *scanHeads(ns, q: ScanInput) {
      const c = cols(ns);
      if (!q || typeof q !== 'object') throw new ValidationError('scan must be an object');
      if (!Number.isSafeInteger(q.batchSize) || q.batchSize < 1 || q.batchSize > 100_000) throw new ValidationError('batchSize must be an integer from 1 to 100000');
      const query = headQuery(q.filter, !!q.includeDeleted);
      await ensure(ns);
      await run('scan heads', async () => {
        for (let round = 0; round < MAX_QUERY_REPAIRS; round++) {
          const pending = await openPending(c);
          if (pending === 'none') return;
          if (pending === 'settle') await store.settle();
          else await repairPending(c, pending);
        }
      });
      if (closed) throw new StorageError(`MongoDB metadata store for ${where} is closed`);
      const cursor = c.head.find(query).sort({ _id: 1 }).batchSize(q.batchSize);
      try {
        let batch: HeadDoc[] = [];
        for await (const d of cursor) {
          batch.push(toHead(d));
          if (batch.length >= q.batchSize) {
            yield batch;
            batch = [];
          }
        }
        if (batch.length) yield batch;
      } catch (e) {
        throw toStorageError(e, 'scan heads', where, redact);
      } finally {
        await cursor.close().catch(() => {});
      }
    },

    async currentCv(ns) {
      const c = cols(ns);
      return run('current cv', () => maxCv(c));
    },

    async setState(ns, itemId, state) {
      const c = checkItem(ns, itemId);
      if (!STATES.has(state)) throw new ValidationError(`Invalid state ${JSON.stringify(state)}`);
      return run('set state', async () => {
        if ((await c.head.updateOne({ _id: itemId }, { $set: { state } })).matchedCount === 1) return true;
        // no head: either no record, or a create interrupted before its head write
        const latest = await latestVersion(c, itemId);
        if (!latest) return false;
        await repairHead(c, latest, null);
        return (await c.head.updateOne({ _id: itemId }, { $set: { state } })).matchedCount === 1;
      });
    },

    async hardDelete(ns, itemId) {
      const c = checkItem(ns, itemId);
      return run('hard delete', async () => {
        const vs = await c.ver.find({ itemId }).sort({ ov: 1 }).toArray();
        // The head first, then the versions (the truth): an interrupted hardDelete leaves versions
        // without a head, which readers rebuild, so the record is simply still there until a rerun.
        // (Versions first would leave a head without versions, on which a write trusting the head,
        // getHead forWrite + prev, could commit a version N + 1 with no chain under it.)
        perClient(ovGuessesByClient, client).delete(c.itemKey(itemId));
        await c.head.deleteOne({ _id: itemId });
        await c.ver.deleteMany({ itemId });
        return vs.map((v) => toVersion(v));
      });
    },

    async ping() {
      const ms = opts.pingTimeoutMS ?? 3000;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new StorageError(`MongoDB ping to ${where} timed out after ${ms} ms`)), ms);
        timer.unref?.();
      });
      try {
        await Promise.race([run('ping', async () => void (await client.db('admin').command({ ping: 1 }))), timeout]);
      } finally {
        if (timer) clearTimeout(timer);
      }
    },

    async settle() {
      while (background.size) await Promise.allSettled([...background]);
    },

    async close() {
      if (closed) return;
      await store.settle();
      closed = true;
      if (ownsShared && uri) await releaseClient(uri).catch((e) => log.warn('closing the MongoDB client failed', { error: redact(String((e as Error)?.message ?? e)) }));
    },

    incrementCounters: (scope, inc) => counters.increment(scope, inc),
    getCounters: (scope) => counters.get(scope),
    resetCounters: (scope) => counters.reset(scope),
  };

  const counters = createCounterOps((s) => client.db(opts.dbName ?? s.dbName), run);
  return store;
}
