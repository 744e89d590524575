/**
 * The fallback queue on a MongoDB (or FerretDB) of its own: a QueueStore
 * (one file of ~550 lines on purpose: the claim, release, end and retry inserts
 * and the unique indexes that decide them are one protocol, read together)
 * whose every state change commits by an insert that a unique index can
 * refuse, never by a conditional update (FerretDB applies updates as
 * read-compute-replace without a lock, so a findOneAndUpdate compare-and-set
 * can let two claimants win; see the README).
 *
 * Collections (in `dbName`):
 * - `<prefix>_ops`: one document per live op `{ _id: opId, gen, orderKey, keySeq, requestId, body, enqueuedAt }`,
 *   inserted once per generation, never updated; unique on (orderKey, keySeq) and requestId.
 * - `<prefix>_claims`: the leases, `_id: "<opId>:<gen>:<attempt>"`. Claiming attempt k+1 is
 *   the insert of that id: of two claimants one gets a duplicate key and backs off. Only the
 *   holder ever updates its own claim document (release: `notBefore`, `error`).
 * - `deadLetterCollection`: the end of each generation, `_id: "<opId>:<gen>"`, `kind`
 *   `dead` (with the op), `done` or `cancelled` (small tombstones): one insert decides it, so
 *   an op is live or dead, never both; the op and claim documents left behind are garbage
 *   that readers ignore and clean up.
 * - retryDeadLetter inserts generation gen+1 of the op, then removes the dead document; a
 *   dead document with a newer live generation is not listed.
 */
import type { Collection, MongoClient } from 'mongodb';
import {
  NotFoundError,
  QueueClaimedError,
  StorageError,
  ValidationError,
  assertDeadLetterBody,
  assertOpId,
  assertOrderKeys,
  assertQueueOpInput,
  boundedQueueError,
  claimLimit,
  isChronosError,
  newOpId,
  queuePage,
  type ClaimOptions,
  type ClaimedOp,
  type DeadLetterOp,
  type QueueBody,
  type QueueErrorInfo,
  type QueueOpInput,
  type QueuePageOptions,
  type QueueStats,
  type QueueStore,
  type QueuedOp,
} from '@chronos-db/core';
import { acquireClient, releaseClient, type SharedClient } from './client-pool.js';
import { isDuplicateKey, makeRedactor, toStorageError } from './errors.js';

export interface MongoQueueStoreOptions {
  /** The queue's own server (not a backend's: it must stay up when they are down). */
  uri?: string;
  /** Or an existing client (not closed by `close()`). */
  client?: MongoClient;
  dbName: string;
  /** Where dead letters (and the done/cancelled tombstones) live. Default `chronos_dead_letters`. */
  deadLetterCollection?: string;
  /** Prefix of the ops and claims collections. Default `chronos_queue`. */
  collectionPrefix?: string;
  serverSelectionTimeoutMS?: number;
  connectTimeoutMS?: number;
  /** How long one read on a socket may wait for the queue's server (see SharedClientOptions). */
  socketTimeoutMS?: number;
  clock?: () => number;
}

interface OpDoc {
  _id: string;
  gen: number;
  orderKey: string;
  keySeq: number;
  requestId: string;
  body: Record<string, unknown>;
  enqueuedAt: number;
  lastError?: QueueErrorInfo;
}
interface ClaimDoc {
  _id: string;
  opId: string;
  gen: number;
  attempt: number;
  owner: string;
  expiresAt: number;
  released?: { notBefore: number; error: QueueErrorInfo };
}
interface EndDoc {
  _id: string;
  opId: string;
  gen: number;
  kind: 'dead' | 'done' | 'cancelled';
  at: number;
  orderKey?: string;
  requestId?: string;
  body?: Record<string, unknown>;
  attempts?: number;
  enqueuedAt?: number;
  lastError?: QueueErrorInfo;
}

const NAME_RE = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
const endId = (o: { _id: string; gen: number }) => `${o._id}:${o.gen}`;
const claimId = (opId: string, gen: number, attempt: number) => `${opId}:${gen}:${attempt}`;

export class MongoQueueStore implements QueueStore {
  /** The shared client (replaced after a failed first connection), unless a client was given. */
  private readonly shared: SharedClient | undefined;
  private readonly prefix: string;
  private readonly dead: string;
  private readonly clock: () => number;
  private readonly redact: (s: string) => string;
  private readonly where: string;
  private ready: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly opts: MongoQueueStoreOptions) {
    if (!opts || (!opts.uri && !opts.client)) throw new ValidationError('createMongoQueueStore needs { uri | client, dbName }');
    if (typeof opts.dbName !== 'string' || !/^[A-Za-z0-9_-]{1,63}$/.test(opts.dbName)) throw new ValidationError('dbName must be 1-63 letters, digits, _ or -');
    const dead = opts.deadLetterCollection ?? 'chronos_dead_letters';
    const prefix = opts.collectionPrefix ?? 'chronos_queue';
    if (!NAME_RE.test(dead) || !NAME_RE.test(prefix))
      throw new ValidationError('deadLetterCollection and collectionPrefix must be 1-64 letters, digits, _ or -');
    this.redact = makeRedactor(opts.uri);
    this.where = `queue database '${opts.dbName}'`;
    this.prefix = prefix;
    this.dead = dead;
    this.shared = opts.client
      ? undefined
      : acquireClient(opts.uri!, {
          ...(opts.serverSelectionTimeoutMS !== undefined ? { serverSelectionTimeoutMS: opts.serverSelectionTimeoutMS } : {}),
          ...(opts.connectTimeoutMS !== undefined ? { connectTimeoutMS: opts.connectTimeoutMS } : {}),
          ...(opts.socketTimeoutMS !== undefined ? { socketTimeoutMS: opts.socketTimeoutMS } : {}),
        });
    this.clock = opts.clock ?? Date.now;
  }

  // The collections on the current client (read at each use: a shared client can be replaced).
  private get ops(): Collection<OpDoc> {
    return this.client().db(this.opts.dbName).collection<OpDoc>(`${this.prefix}_ops`);
  }

  private get claims(): Collection<ClaimDoc> {
    return this.client().db(this.opts.dbName).collection<ClaimDoc>(`${this.prefix}_claims`);
  }

  private get ends(): Collection<EndDoc> {
    return this.client().db(this.opts.dbName).collection<EndDoc>(this.dead);
  }

  private client(): MongoClient {
    return this.opts.client ?? this.shared!.client;
  }

  private async io<T>(what: string, fn: () => Promise<T>): Promise<T> {
    if (this.closed) throw new StorageError('The queue store is closed');
    try {
      await this.ensure();
      return await fn();
    } catch (e) {
      if (isChronosError(e)) throw e;
      throw toStorageError(e, `queue ${what}`, this.where, this.redact);
    }
  }

  private ensure(): Promise<void> {
    this.ready ??= (async () => {
      await this.ops.createIndex({ orderKey: 1, keySeq: 1 }, { unique: true, name: 'order' });
      await this.ops.createIndex({ requestId: 1 }, { unique: true, name: 'request' });
      await this.claims.createIndex({ opId: 1, gen: 1, attempt: 1 }, { name: 'op' });
      await this.ends.createIndex({ kind: 1, opId: 1 }, { name: 'kind' });
    })().catch((e) => {
      this.ready = undefined;
      throw e;
    });
    return this.ready;
  }

  // ------------------------------------------------------------ state of ops

  /** The latest claim of each op generation given. */
  private async latestClaims(docs: OpDoc[]): Promise<Map<string, ClaimDoc>> {
    const out = new Map<string, ClaimDoc>();
    if (!docs.length) return out;
    const found = await this.claims.find({ opId: { $in: docs.map((d) => d._id) } }).toArray();
    const gens = new Map(docs.map((d) => [d._id, d.gen]));
    for (const c of found) {
      if (gens.get(c.opId) !== c.gen) continue;
      const k = endId({ _id: c.opId, gen: c.gen });
      const cur = out.get(k);
      if (!cur || cur.attempt < c.attempt) out.set(k, c);
    }
    return out;
  }

  /** The op documents among `docs` that are still live (no end document); the others are cleaned up. */
  private async live(docs: OpDoc[]): Promise<OpDoc[]> {
    if (!docs.length) return docs;
    const ended = new Set((await this.ends.find({ _id: { $in: docs.map(endId) } }, { projection: { _id: 1 } }).toArray()).map((e) => e._id));
    const out: OpDoc[] = [];
    for (const d of docs) {
      if (ended.has(endId(d))) void this.cleanup(d).catch(() => {});
      else out.push(d);
    }
    return out;
  }

  private async cleanup(d: { _id: string; gen: number }): Promise<void> {
    await this.ops.deleteOne({ _id: d._id, gen: d.gen });
    await this.claims.deleteMany({ opId: d._id, gen: d.gen });
  }

  private toOp(d: OpDoc, c: ClaimDoc | undefined, now: number): QueuedOp {
    const held = !!c && !c.released && c.expiresAt > now;
    const op: QueuedOp = {
      id: d._id,
      orderKey: d.orderKey,
      requestId: d.requestId,
      body: d.body,
      attempts: c?.attempt ?? 0,
      enqueuedAt: d.enqueuedAt,
      notBefore: c?.released ? c.released.notBefore : c ? now : d.enqueuedAt,
      status: held ? 'claimed' : 'pending',
    };
    if (held) op.lease = { owner: c!.owner, expiresAt: c!.expiresAt };
    const err = c?.released?.error ?? d.lastError;
    if (err) op.lastError = err;
    return op;
  }

  /** Inserts an op document at the end of its orderKey's line (the unique (orderKey, keySeq) orders concurrent enqueues). */
  private async insertOp(d: Omit<OpDoc, 'keySeq'>): Promise<OpDoc | { existing: OpDoc }> {
    for (let i = 0; i < 100; i++) {
      const last = await this.ops.find({ orderKey: d.orderKey }).sort({ keySeq: -1 }).limit(1).next();
      const doc: OpDoc = { ...d, keySeq: (last?.keySeq ?? 0) + 1 };
      try {
        await this.ops.insertOne(doc);
        return doc;
      } catch (e) {
        if (!isDuplicateKey(e)) throw e;
        const same = await this.ops.findOne({ requestId: d.requestId });
        if (same && same._id !== d._id) {
          if ((await this.live([same])).length) return { existing: same };
          await this.cleanup(same);
        } else if (same) return same;
      }
    }
    throw new StorageError(`Could not enqueue on ${this.where}: too many concurrent enqueues on one record`);
  }

  // -------------------------------------------------------------------- port

  enqueue(input: QueueOpInput): Promise<QueuedOp> {
    return this.io('enqueue', async () => {
      assertQueueOpInput(input);
      const now = this.clock();
      const r = await this.insertOp({ _id: newOpId(), gen: 1, orderKey: input.orderKey, requestId: input.requestId, body: input.body, enqueuedAt: now });
      if ('existing' in r) {
        const c = (await this.latestClaims([r.existing])).get(endId(r.existing));
        return this.toOp(r.existing, c, now);
      }
      return this.toOp(r, undefined, now);
    });
  }

  claim(o: ClaimOptions): Promise<ClaimedOp[]> {
    return this.io('claim', async () => {
      const limit = claimLimit(o);
      const out: ClaimedOp[] = [];
      let after = '';
      for (let round = 0; round < 20 && out.length < limit; round++) {
        const batch = await this.ops
          .find({ _id: { $gt: after } })
          .sort({ _id: 1 })
          .limit(Math.max(50, limit * 4))
          .toArray();
        if (!batch.length) break;
        after = batch[batch.length - 1]!._id;
        const now = this.clock();
        const docs = await this.live(batch);
        // Per orderKey only the earliest op of the batch can be first in its line.
        const firsts = new Map<string, OpDoc>();
        for (const d of docs) if (!firsts.has(d.orderKey) || firsts.get(d.orderKey)!.keySeq > d.keySeq) firsts.set(d.orderKey, d);
        const candidates = [...firsts.values()].sort((a, b) => (a._id < b._id ? -1 : 1));
        const claims = await this.latestClaims(candidates);
        for (const d of candidates) {
          if (out.length >= limit) break;
          const c = claims.get(endId(d));
          if (c && (c.released ? c.released.notBefore > now : c.expiresAt > now)) continue;
          if (!(await this.isFirstOfKey(d))) continue;
          const attempt = (c?.attempt ?? 0) + 1;
          const expiresAt = this.clock() + o.leaseMs;
          try {
            await this.claims.insertOne({ _id: claimId(d._id, d.gen, attempt), opId: d._id, gen: d.gen, attempt, owner: o.owner, expiresAt });
          } catch (e) {
            if (isDuplicateKey(e)) continue; // another claimant took this attempt
            throw e;
          }
          // The op may have ended (and its claims been cleaned up) since the batch was read:
          // an end document is always written before the claims are removed.
          if (await this.ends.findOne({ _id: endId(d) }, { projection: { _id: 1 } })) {
            await this.claims.deleteOne({ _id: claimId(d._id, d.gen, attempt) }).catch(() => {});
            continue;
          }
          out.push({
            ...this.toOp(d, { _id: '', opId: d._id, gen: d.gen, attempt, owner: o.owner, expiresAt }, now),
            status: 'claimed',
            lease: { owner: o.owner, expiresAt },
          });
        }
      }
      return out;
    });
  }

  /** No live op of the same orderKey was queued before this one. */
  private async isFirstOfKey(d: OpDoc): Promise<boolean> {
    for (;;) {
      const before = await this.ops
        .find({ orderKey: d.orderKey, keySeq: { $lt: d.keySeq } })
        .sort({ keySeq: 1 })
        .limit(1)
        .next();
      if (!before) return true;
      if ((await this.live([before])).length) return false;
      await this.cleanup(before);
    }
  }

  /** The op document, when `op`'s claim is still the latest one and was not released. */
  private async held(op: ClaimedOp): Promise<OpDoc | null> {
    const d = await this.ops.findOne({ _id: op.id });
    if (!d) return null;
    const c = (await this.latestClaims([d])).get(endId(d));
    if (!c || c.attempt !== op.attempts || c.owner !== op.lease.owner || c.released) return null;
    if (!(await this.live([d])).length) return null;
    return d;
  }

  /** Ends the op's generation: the insert is the commit point; false when another end won. */
  private async end(d: OpDoc, doc: Omit<EndDoc, '_id' | 'opId' | 'gen' | 'at'>): Promise<boolean> {
    try {
      await this.ends.insertOne({ _id: endId(d), opId: d._id, gen: d.gen, at: this.clock(), ...doc });
    } catch (e) {
      if (!isDuplicateKey(e)) throw e;
      return false;
    }
    await this.cleanup(d).catch(() => {});
    return true;
  }

  complete(op: ClaimedOp): Promise<boolean> {
    return this.io('complete', async () => {
      const d = await this.held(op);
      return d ? this.end(d, { kind: 'done' }) : false;
    });
  }

  release(op: ClaimedOp, error: QueueErrorInfo, notBefore: number): Promise<boolean> {
    return this.io('release', async () => {
      const d = await this.held(op);
      if (!d) return false;
      // Only the holder writes its own claim document: no concurrent update to lose.
      await this.claims.updateOne(
        { _id: claimId(d._id, d.gen, op.attempts) },
        { $set: { released: { notBefore: Math.floor(notBefore), error: boundedQueueError(error) } } },
      );
      return true;
    });
  }

  deadLetter(op: ClaimedOp, error: QueueErrorInfo, opts?: { body?: QueueBody }): Promise<boolean> {
    return this.io('deadLetter', async () => {
      assertDeadLetterBody(opts?.body);
      const d = await this.held(op);
      if (!d) return false;
      return this.end(d, {
        kind: 'dead',
        orderKey: d.orderKey,
        requestId: d.requestId,
        body: opts?.body ?? d.body,
        attempts: op.attempts,
        enqueuedAt: d.enqueuedAt,
        lastError: boundedQueueError(error),
      });
    });
  }

  /** Live op documents with id > afterId, in id order, until `limit` of them. */
  private async livePage(afterId: string, limit: number): Promise<OpDoc[]> {
    const out: OpDoc[] = [];
    let after = afterId;
    while (out.length < limit) {
      const batch = await this.ops
        .find({ _id: { $gt: after } })
        .sort({ _id: 1 })
        .limit(limit - out.length)
        .toArray();
      if (!batch.length) break;
      after = batch[batch.length - 1]!._id;
      out.push(...(await this.live(batch)));
    }
    return out;
  }

  listPending(opts?: QueuePageOptions): Promise<QueuedOp[]> {
    return this.io('listPending', async () => {
      const p = queuePage(opts);
      const docs = await this.livePage(p.afterId, p.limit);
      const claims = await this.latestClaims(docs);
      const now = this.clock();
      return docs.map((d) => this.toOp(d, claims.get(endId(d)), now));
    });
  }

  /** Dead documents whose op has no newer live generation (retried ones are not dead any more). */
  private async deadPage(afterId: string, limit: number): Promise<EndDoc[]> {
    const out: EndDoc[] = [];
    let after = afterId;
    while (out.length < limit) {
      const batch = await this.ends
        .find({ kind: 'dead', opId: { $gt: after } })
        .sort({ opId: 1 })
        .limit(limit - out.length)
        .toArray();
      if (!batch.length) break;
      after = batch[batch.length - 1]!.opId;
      const newer = await this.ops.find({ _id: { $in: batch.map((b) => b.opId) } }, { projection: { _id: 1, gen: 1 } }).toArray();
      const gen = new Map(newer.map((n) => [n._id, n.gen]));
      out.push(...batch.filter((b) => !((gen.get(b.opId) ?? 0) > b.gen)));
    }
    return out;
  }

  listDead(opts?: QueuePageOptions): Promise<DeadLetterOp[]> {
    return this.io('listDead', async () => {
      const p = queuePage(opts);
      return (await this.deadPage(p.afterId, p.limit)).map((e) => ({
        id: e.opId,
        orderKey: e.orderKey!,
        requestId: e.requestId!,
        body: e.body!,
        attempts: e.attempts!,
        enqueuedAt: e.enqueuedAt!,
        deadAt: e.at,
        lastError: e.lastError!,
      }));
    });
  }

  retryDeadLetter(id: string): Promise<QueuedOp> {
    return this.io('retryDeadLetter', async () => {
      assertOpId(id, 'Dead-letter operation');
      const dead = (await this.ends.find({ opId: id, kind: 'dead' }).sort({ gen: -1 }).limit(1).toArray())[0];
      const current = await this.ops.findOne({ _id: id });
      if (!dead || (current && current.gen > dead.gen)) throw new NotFoundError(`Dead-letter operation '${id}' not found`, { id });
      if (current) await this.cleanup(current); // the dead generation's leftovers
      const r = await this.insertOp({
        _id: id,
        gen: dead.gen + 1,
        orderKey: dead.orderKey!,
        requestId: dead.requestId!,
        body: dead.body!,
        enqueuedAt: dead.enqueuedAt!,
        lastError: dead.lastError!,
      });
      if ('existing' in r) throw new ValidationError(`requestId '${dead.requestId}' is queued again as '${r.existing._id}'; cancel or finish it first`, { id });
      if (r.gen !== dead.gen + 1) throw new NotFoundError(`Dead-letter operation '${id}' not found`, { id });
      await this.ends.deleteOne({ _id: dead._id });
      return this.toOp(r, undefined, this.clock());
    });
  }

  cancel(id: string): Promise<void> {
    return this.io('cancel', async () => {
      assertOpId(id);
      const d = await this.ops.findOne({ _id: id });
      if (!d || !(await this.live([d])).length) throw new NotFoundError(`Queued operation '${id}' not found`, { id });
      const c = (await this.latestClaims([d])).get(endId(d));
      const now = this.clock();
      const claimed = () => new QueueClaimedError(`Queued operation '${id}' is being applied by a worker; it cannot be cancelled`, { id });
      if (c && !c.released && c.expiresAt > now) throw claimed();
      // Take the op the way a worker would (a unique claim), so no worker can start it meanwhile.
      const attempt = (c?.attempt ?? 0) + 1;
      try {
        await this.claims.insertOne({ _id: claimId(d._id, d.gen, attempt), opId: d._id, gen: d.gen, attempt, owner: 'cancel', expiresAt: now + 60_000 });
      } catch (e) {
        if (isDuplicateKey(e)) throw claimed();
        throw e;
      }
      if (!(await this.end(d, { kind: 'cancelled' }))) throw new NotFoundError(`Queued operation '${id}' not found`, { id });
    });
  }

  /** Erasure: the op documents of these orderKeys (live or left behind), their claims, and their dead letters. */
  eraseOrderKeys(orderKeys: readonly string[]): Promise<number> {
    return this.io('eraseOrderKeys', async () => {
      assertOrderKeys(orderKeys);
      if (orderKeys.length === 0) return 0;
      const keys = [...orderKeys];
      const docs = await this.ops.find({ orderKey: { $in: keys } }, { projection: { _id: 1, gen: 1 } }).toArray();
      const live = (await this.live(docs as OpDoc[])).length;
      if (docs.length) await this.ops.deleteMany({ _id: { $in: docs.map((d) => d._id) } });
      if (docs.length) await this.claims.deleteMany({ opId: { $in: docs.map((d) => d._id) } });
      const dead = (await this.ends.deleteMany({ kind: 'dead', orderKey: { $in: keys } })).deletedCount;
      return live + dead;
    });
  }

  pendingFor(orderKey: string): Promise<number> {
    return this.io('pendingFor', async () => {
      if (typeof orderKey !== 'string') throw new ValidationError('orderKey must be a string');
      const docs = await this.ops.find({ orderKey }, { projection: { body: 0 } }).toArray();
      return (await this.live(docs as OpDoc[])).length;
    });
  }

  stats(): Promise<QueueStats> {
    return this.io('stats', async () => {
      let pending = 0;
      let claimed = 0;
      let oldest: number | undefined;
      let after = '';
      const now = this.clock();
      for (;;) {
        const batch = (await this.ops
          .find({ _id: { $gt: after } }, { projection: { body: 0 } })
          .sort({ _id: 1 })
          .limit(500)
          .toArray()) as OpDoc[];
        if (!batch.length) break;
        after = batch[batch.length - 1]!._id;
        const docs = await this.live(batch);
        const claims = await this.latestClaims(docs);
        for (const d of docs) {
          const c = claims.get(endId(d));
          if (c && !c.released && c.expiresAt > now) claimed++;
          else pending++;
          if (oldest === undefined || d.enqueuedAt < oldest) oldest = d.enqueuedAt;
        }
      }
      const dead = (await this.deadPage('', Number.MAX_SAFE_INTEGER)).length;
      return { pending, claimed, dead, ...(oldest !== undefined ? { oldestEnqueuedAt: oldest } : {}) };
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (!this.opts.client && this.opts.uri) await releaseClient(this.opts.uri);
  }
}

export function createMongoQueueStore(opts: MongoQueueStoreOptions): MongoQueueStore {
  return new MongoQueueStore(opts);
}
