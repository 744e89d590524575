/**
 * The versioning engine for one bound context (one namespace on one pair of
 * stores). Every public method validates all of its input before the first
 * I/O, writes payloads before any pointer names them, and commits through the
 * MetadataStore's compare-and-set.
 */
import { NotFoundError, OptimisticLockError, StorageError, ValidationError, IntegrityError } from '../errors.js';
import { compileFilter, matchFilter, type FilterNode } from '../filter.js';
import { assertId, assertNamespace, assertOv, assertPropPath, jsonKey, keyPrefix, newAttempt, newId, parseJsonKey } from '../names.js';
import type {
  BlobRef,
  BlobStore,
  CounterStore,
  HeadDoc,
  MetadataStore,
  Namespace,
  Op,
  VersionDoc,
  VersionSelector,
} from '../ports.js';
import type { CollectionMap, CounterRule, DevShadowConfig } from '../config.js';
import { silentLogger, type Logger } from '../logger.js';
import { deepMerge } from './merge.js';
import { planExternalization, renderBlobs, type PendingBlob } from './externalize.js';
import { assertJsonPayload, canonicalJson, checkSize, cloneJson, DEFAULT_MAX_PAYLOAD_BYTES, isPlainObject, sha256 } from './payload.js';
import { mapLimit } from './concurrency.js';

export interface EngineOptions {
  ns: Namespace;
  meta: MetadataStore;
  blobs: BlobStore;
  counters?: CounterStore | undefined;
  map?: CollectionMap | undefined;
  counterRules?: CounterRule[] | undefined;
  devShadow?: DevShadowConfig | undefined;
  maxPayloadBytes?: number | undefined;
  logger?: Logger | undefined;
  /** Clock in epoch ms (tests inject skewed clocks). */
  clock?: (() => number) | undefined;
}

export interface WriteOptions {
  /** Idempotency key: a retried write with the same key yields at most one version. */
  requestId?: string;
}
export interface CreateOptions extends WriteOptions {
  /** Use this id instead of a generated one. */
  id?: string;
  functionId?: string;
}
export interface EnrichOptions extends WriteOptions {
  expectedOv?: number;
  functionId?: string;
  actor?: string;
  reason?: string;
}
export interface SmartInsertOptions extends WriteOptions {
  uniqueKeys: string[];
  actor?: string;
  reason?: string;
  functionId?: string;
}
export interface ReadOptions {
  presign?: boolean;
  ttlSeconds?: number;
  projection?: string[];
  includeDeleted?: boolean;
  includeMeta?: boolean;
}
export interface ListOptions {
  filter?: Record<string, unknown>;
  limit?: number;
  afterId?: string;
  pageToken?: string;
  sort?: { id?: 1 | -1 } | 'asc' | 'desc';
}
export interface RestoreObjectOptions extends WriteOptions {
  actor?: string;
  reason?: string;
  expectedHeadOv?: number;
}
export interface RestoreProgress {
  scanned: number;
  planned: number;
  restored: number;
}
export interface RestoreCollectionOptions {
  actor?: string;
  reason?: string;
  pageSize?: number;
  parallel?: number;
  dryRun?: boolean;
  onProgress?: (p: RestoreProgress) => void;
}
export interface HistoryEntry {
  ov: number;
  cv: number;
  op: Op;
  at: Date;
  actor?: string;
  reason?: string;
  deleted: boolean;
  size: number;
}

export type ChronosRecord = Record<string, unknown> & { id: string; _system: Record<string, unknown>; _meta?: Record<string, unknown> };

const REQUEST_ID_RE = /^[A-Za-z0-9_.:-]{1,128}$/;
/** Rebuild-and-retry bound for writes without an explicit expectedOv (last writer wins). */
const MAX_RETRIES = 50;
const backoff = (attempt: number) => new Promise((r) => setTimeout(r, Math.random() * Math.min(50, 2 * (attempt + 1))));
const MAX_PRESIGN_TTL = 7 * 24 * 3600;

function optString(v: unknown, name: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || v.length > 1024) throw new ValidationError(`${name} must be a string of at most 1024 characters`);
  return v;
}

function toTime(at: unknown): number {
  const t = at instanceof Date ? at.getTime() : typeof at === 'string' ? Date.parse(at) : typeof at === 'number' ? at : NaN;
  if (!Number.isFinite(t)) throw new ValidationError('at must be a Date, an ISO date string or epoch milliseconds');
  return t;
}

function assertTtl(ttl: unknown): asserts ttl is number {
  if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 1 || ttl > MAX_PRESIGN_TTL) {
    throw new ValidationError(`presign TTL must be an integer number of seconds from 1 to ${MAX_PRESIGN_TTL} (7 days)`);
  }
}

const iso = (ms: number) => new Date(ms).toISOString();

interface Built {
  version: Omit<VersionDoc, 'cv'>;
  json: Uint8Array;
  pending: PendingBlob[];
  shadow: { json: string; expiresAt: number } | null;
}

export class CollectionEngine {
  readonly ns: Namespace;
  private readonly meta: MetadataStore;
  private readonly blobs: BlobStore;
  private readonly counters: CounterStore | undefined;
  private readonly map: CollectionMap | undefined;
  private readonly rules: CounterRule[];
  private readonly devShadow: DevShadowConfig | undefined;
  private readonly maxBytes: number;
  private readonly log: Logger;
  private readonly clock: () => number;
  private ready: Promise<void> | undefined;

  constructor(opts: EngineOptions) {
    assertNamespace(opts.ns);
    this.ns = { ...opts.ns };
    this.meta = opts.meta;
    this.blobs = opts.blobs;
    this.counters = opts.counters;
    this.map = opts.map;
    this.rules = opts.counterRules ?? [];
    this.devShadow = opts.devShadow?.enabled ? opts.devShadow : undefined;
    this.maxBytes = opts.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
    this.log = opts.logger ?? silentLogger;
    this.clock = opts.clock ?? Date.now;
  }

  private ensure(): Promise<void> {
    if (!this.ready) {
      this.ready = this.meta.ensureNamespace(this.ns).catch((e) => {
        this.ready = undefined;
        throw e;
      });
    }
    return this.ready;
  }

  // ---------------------------------------------------------------- writes

  async create(data: unknown, actor?: string, reason?: string, opts: CreateOptions = {}): Promise<{ id: string; ov: 0; cv: number; createdAt: Date }> {
    const input = this.checkData(data);
    actor = optString(actor, 'actor');
    reason = optString(reason, 'reason');
    const requestId = this.checkRequestId(opts.requestId);
    const functionId = optString(opts.functionId, 'functionId');
    if (opts.id !== undefined) assertId(opts.id);
    const requestHash = requestId ? sha256(canonicalJson({ op: 'CREATE', id: opts.id, data: input })) : undefined;
    const id = opts.id ?? (requestId ? this.derivedId('req', requestId) : newId());
    await this.ensure();
    if (requestId) {
      const prior = await this.replay(requestId, requestHash!);
      if (prior) return { id: prior.itemId, ov: 0, cv: prior.cv, createdAt: new Date(prior.at) };
    }
    const at = this.clock();
    const built = this.build({ id, ov: 0, op: 'CREATE', at, createdAt: at, doc: input, actor, reason, requestId, requestHash, functionIds: functionId ? [functionId] : undefined });
    try {
      const { cv } = await this.commitBuilt(built, null, at);
      await this.count('CREATE', built, input);
      return { id, ov: 0, cv, createdAt: new Date(at) };
    } catch (e) {
      if (e instanceof OptimisticLockError && requestId) {
        const prior = await this.replay(requestId, requestHash!);
        if (prior) return { id: prior.itemId, ov: 0, cv: prior.cv, createdAt: new Date(prior.at) };
      }
      if (e instanceof OptimisticLockError) throw new OptimisticLockError(`Record '${id}' already exists`, { id });
      throw e;
    }
  }

  async update(id: string, data: unknown, expectedOv?: number, actor?: string, reason?: string, opts: WriteOptions = {}): Promise<{ id: string; ov: number; cv: number; updatedAt: Date }> {
    assertId(id);
    const input = this.checkData(data);
    if (expectedOv !== undefined && expectedOv !== null) assertOv(expectedOv);
    actor = optString(actor, 'actor');
    reason = optString(reason, 'reason');
    const requestId = this.checkRequestId(opts.requestId);
    const requestHash = requestId ? sha256(canonicalJson({ op: 'UPDATE', id, expectedOv, data: input })) : undefined;
    const r = await this.writeLoop(id, expectedOv ?? undefined, requestId, requestHash, async (head, at) => {
      if (head.deleted) throw new NotFoundError(`Record '${id}' not found`, { id });
      return this.build({
        id, ov: head.ov + 1, op: 'UPDATE', at, createdAt: head.createdAt, doc: input, actor, reason, requestId, requestHash,
        functionIds: head.functionIds, previousBlobs: head.blobs,
      });
    }, 'UPDATE', input);
    return { id, ov: r.ov, cv: r.cv, updatedAt: new Date(r.at) };
  }

  async delete(id: string, expectedOv?: number, actor?: string, reason?: string, opts: WriteOptions = {}): Promise<{ id: string; ov: number; cv: number; deletedAt: Date }> {
    assertId(id);
    if (expectedOv !== undefined && expectedOv !== null) assertOv(expectedOv);
    actor = optString(actor, 'actor');
    reason = optString(reason, 'reason');
    const requestId = this.checkRequestId(opts.requestId);
    const requestHash = requestId ? sha256(canonicalJson({ op: 'DELETE', id, expectedOv })) : undefined;
    const r = await this.writeLoop(id, expectedOv ?? undefined, requestId, requestHash, async (head, at) => {
      if (head.deleted) throw new NotFoundError(`Record '${id}' not found`, { id });
      return this.pointerVersion(head, head, 'DELETE', at, true, actor, reason, requestId, requestHash);
    }, 'DELETE');
    return { id, ov: r.ov, cv: r.cv, deletedAt: new Date(r.at) };
  }

  async enrich(id: string, patch: unknown, opts: EnrichOptions = {}): Promise<{ id: string; ov: number; cv: number }> {
    assertId(id);
    const patches = Array.isArray(patch) ? patch : [patch];
    if (patches.length === 0) throw new ValidationError('enrich needs at least one patch');
    const checked = patches.map((p, i) => this.checkData(p, `patch[${i}]`));
    if (opts.expectedOv !== undefined) assertOv(opts.expectedOv);
    const actor = optString(opts.actor, 'actor');
    const reason = optString(opts.reason, 'reason');
    const functionId = optString(opts.functionId, 'functionId');
    const requestId = this.checkRequestId(opts.requestId);
    const requestHash = requestId ? sha256(canonicalJson({ op: 'ENRICH', id, expectedOv: opts.expectedOv, patches: checked, functionId })) : undefined;
    let merged: Record<string, unknown> = {};
    const r = await this.writeLoop(id, opts.expectedOv, requestId, requestHash, async (head, at) => {
      if (head.deleted) throw new NotFoundError(`Record '${id}' not found`, { id });
      const current = await this.loadStored(head);
      delete current._system;
      merged = checked.reduce((acc, p) => deepMerge(acc, p), current);
      checkSize(Buffer.byteLength(JSON.stringify(merged)), this.maxBytes);
      const functionIds = functionId ? Array.from(new Set([...(head.functionIds ?? []), functionId])) : head.functionIds;
      return this.build({
        id, ov: head.ov + 1, op: 'ENRICH', at, createdAt: head.createdAt, doc: merged, actor, reason, requestId, requestHash,
        functionIds, previousBlobs: head.blobs,
      });
    }, 'UPDATE', () => merged);
    return { id, ov: r.ov, cv: r.cv };
  }

  async smartInsert(data: unknown, opts: SmartInsertOptions): Promise<{ id: string; ov: number; cv: number; created: boolean }> {
    const input = this.checkData(data);
    if (!opts || !Array.isArray(opts.uniqueKeys) || opts.uniqueKeys.length === 0) throw new ValidationError('smartInsert needs uniqueKeys: a non-empty array of property names');
    const filter: Record<string, unknown> = {};
    for (const k of opts.uniqueKeys) {
      assertPropPath(k);
      const v = input[k];
      if (v === undefined || (v !== null && typeof v === 'object')) throw new ValidationError(`smartInsert: data.${k} must be a scalar value (it is a unique key)`);
      filter[k] = v;
    }
    const compiled = this.compile(filter);
    const { actor, reason, functionId } = opts;
    const id = this.derivedId('uk', canonicalJson(filter));
    for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
      await this.ensure();
      const found = await this.meta.queryHeads(this.ns, { filter: compiled, limit: 1 });
      const match = found[0];
      if (match) {
        try {
          const r = await this.enrich(match.itemId, input, { ...(functionId ? { functionId } : {}), ...(actor ? { actor } : {}), ...(reason ? { reason } : {}) });
          return { ...r, created: false };
        } catch (e) {
          if (e instanceof OptimisticLockError || e instanceof NotFoundError) continue;
          throw e;
        }
      }
      const head = await this.meta.getHead(this.ns, id);
      try {
        if (head && head.deleted) {
          const r = await this.update(id, input, head.ov, actor, reason);
          return { id, ov: r.ov, cv: r.cv, created: true };
        }
        if (head) continue; // the deterministic record exists but its keys changed: query again
        const r = await this.create(input, actor, reason, { id, ...(functionId ? { functionId } : {}) });
        return { id, ov: r.ov, cv: r.cv, created: true };
      } catch (e) {
        if (e instanceof OptimisticLockError || e instanceof NotFoundError) {
          await backoff(attempt);
          continue;
        }
        throw e;
      }
    }
    throw new OptimisticLockError('smartInsert lost too many races; try again');
  }

  async restoreObject(id: string, target: { ov: number } | { at: Date | string | number }, opts: RestoreObjectOptions = {}): Promise<{ id: string; newOv: number; newCv: number }> {
    assertId(id);
    const sel = this.selector(target);
    if (opts.expectedHeadOv !== undefined) assertOv(opts.expectedHeadOv, 'expectedHeadOv');
    const actor = optString(opts.actor, 'actor');
    const reason = optString(opts.reason, 'reason');
    const requestId = this.checkRequestId(opts.requestId);
    const requestHash = requestId ? sha256(canonicalJson({ op: 'RESTORE', id, sel, expectedHeadOv: opts.expectedHeadOv })) : undefined;
    await this.ensure();
    const tv = await this.meta.getVersion(this.ns, id, sel);
    if (!tv || tv.itemId !== id) throw new NotFoundError(`Record '${id}' has no version matching ${JSON.stringify(target)}`, { id });
    const r = await this.writeLoop(id, opts.expectedHeadOv, requestId, requestHash, async (head, at) =>
      this.pointerVersion(head, tv, 'RESTORE', at, tv.deleted, actor, reason, requestId, requestHash), 'UPDATE');
    return { id, newOv: r.ov, newCv: r.cv };
  }

  async restoreCollection(target: { cv: number } | { at: Date | string | number }, opts: RestoreCollectionOptions = {}): Promise<{ target: { cv: number } | { at: Date }; planned: number; restored: number; scanned: number }> {
    const sel = this.selector(target);
    const pageSize = opts.pageSize ?? 200;
    const parallel = opts.parallel ?? 4;
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 5000) throw new ValidationError('pageSize must be an integer from 1 to 5000');
    if (!Number.isInteger(parallel) || parallel < 1 || parallel > 64) throw new ValidationError('parallel must be an integer from 1 to 64');
    const actor = optString(opts.actor, 'actor');
    const reason = optString(opts.reason, 'reason') ?? 'restoreCollection';
    await this.ensure();
    const progress: RestoreProgress = { scanned: 0, planned: 0, restored: 0 };
    const pages = this.meta.scanHeads ? this.meta.scanHeads(this.ns, { includeDeleted: true, batchSize: pageSize }) : this.headPages(pageSize);
    for await (const heads of pages) {
      if (heads.length === 0) continue;
      if (this.meta.commitMany && !opts.dryRun) {
        // Plan the page (one target lookup per record), then commit it in bulk; a record that
        // changed meanwhile (OptimisticLockError) is redone on its own from its new head.
        const plans = await mapLimit(heads, parallel, async (h) => ({ h, built: await this.planRestore(h, sel, actor, reason) }));
        progress.scanned += heads.length;
        const todo = plans.filter((p): p is { h: HeadDoc; built: Built } => p.built !== null);
        const results = await this.meta.commitMany(todo.map(({ h, built }) => ({
          ns: this.ns, version: built.version, expectedOv: h.ov, head: { shadow: built.shadow }, prev: { cv: h.cv, createdAt: h.createdAt },
        })));
        const redo: HeadDoc[] = [];
        const landed: Built[] = [];
        for (const [k, r] of results.entries()) {
          const { h, built } = todo[k]!;
          if (r.ok) {
            progress.planned++;
            progress.restored++;
            landed.push(built);
          } else if (r.error instanceof OptimisticLockError) redo.push(h);
          else throw r.error;
        }
        await mapLimit(landed, parallel, (built) => this.count(built.version.op, built));
        await mapLimit(redo, parallel, async (h) => {
          const fresh = await this.meta.getHead(this.ns, h.itemId);
          if (fresh && (await this.restoreOne(fresh, sel, false, actor, reason))) {
            progress.planned++;
            progress.restored++;
          }
        });
      } else {
        await mapLimit(heads, parallel, async (h) => {
          progress.scanned++;
          const applied = await this.restoreOne(h, sel, !!opts.dryRun, actor, reason);
          if (applied) {
            progress.planned++;
            if (!opts.dryRun) progress.restored++;
          }
        });
      }
      opts.onProgress?.({ ...progress });
    }
    const shownTarget = 'cv' in sel ? { cv: sel.cv } : { at: new Date((sel as { at: number }).at) };
    return { target: shownTarget, planned: progress.planned, restored: progress.restored, scanned: progress.scanned };
  }

  /** Every head (deleted ones too) in itemId order, a page at a time, by keyset queries. */
  private async *headPages(pageSize: number): AsyncGenerator<HeadDoc[]> {
    let afterId: string | undefined;
    for (;;) {
      const heads = await this.meta.queryHeads(this.ns, { limit: pageSize, includeDeleted: true, ...(afterId ? { afterId } : {}) });
      if (heads.length === 0) return;
      yield heads;
      if (heads.length < pageSize) return;
      afterId = heads[heads.length - 1]!.itemId;
    }
  }

  /** The version that brings a record from `head` to its state at `sel`, or null when it is there already. */
  private async planRestore(head: HeadDoc, sel: VersionSelector, actor: string | undefined, reason: string): Promise<Built | null> {
    const tv = await this.meta.getVersion(this.ns, head.itemId, sel);
    const at = Math.max(this.clock(), head.at);
    if (!tv) return head.deleted ? null : this.pointerVersion(head, head, 'DELETE', at, true, actor, reason);
    if (head.jsonKey === tv.jsonKey && head.deleted === tv.deleted && head.sha256 === tv.sha256) return null;
    return this.pointerVersion(head, tv, 'RESTORE', at, tv.deleted, actor, reason);
  }

  /** Brings one record to its state at `sel`. Returns whether a version was (or would be) appended. */
  private async restoreOne(first: HeadDoc, sel: VersionSelector, dryRun: boolean, actor: string | undefined, reason: string): Promise<boolean> {
    let head: HeadDoc | null = first;
    for (let attempt = 0; attempt < MAX_RETRIES && head; attempt++) {
      const built = await this.planRestore(head, sel, actor, reason);
      if (!built) return false;
      if (dryRun) return true;
      try {
        await this.commitBuilt(built, head.ov, built.version.at, { cv: head.cv, createdAt: head.createdAt });
        await this.count(built.version.op, built);
        return true;
      } catch (e) {
        if (!(e instanceof OptimisticLockError)) throw e;
        head = await this.meta.getHead(this.ns, first.itemId);
      }
    }
    if (!head) return false;
    throw new OptimisticLockError(`restoreCollection: record '${first.itemId}' kept changing; run the restore again`);
  }

  // ----------------------------------------------------------------- reads

  async getLatest(id: string, opts: ReadOptions = {}): Promise<ChronosRecord | null> {
    assertId(id);
    this.checkReadOptions(opts);
    await this.ensure();
    const head = await this.meta.getHead(this.ns, id);
    if (!head || (head.deleted && !opts.includeDeleted)) return null;
    return this.render(head, head, opts);
  }

  async getVersion(id: string, ov: number, opts: ReadOptions = {}): Promise<ChronosRecord | null> {
    assertId(id);
    assertOv(ov, 'ov');
    this.checkReadOptions(opts);
    return this.readAt(id, { ov }, opts);
  }

  async getAsOf(id: string, at: Date | string | number, opts: ReadOptions = {}): Promise<ChronosRecord | null> {
    assertId(id);
    const t = toTime(at);
    this.checkReadOptions(opts);
    return this.readAt(id, { at: t }, opts);
  }

  async getItem(id: string, opts: ReadOptions & { ov?: number; at?: Date | string | number } = {}): Promise<ChronosRecord | null> {
    if (opts.ov !== undefined && opts.at !== undefined) throw new ValidationError('getItem takes ov or at, not both');
    if (opts.ov !== undefined) return this.getVersion(id, opts.ov, opts);
    if (opts.at !== undefined) return this.getAsOf(id, opts.at, opts);
    return this.getLatest(id, opts);
  }

  async history(id: string, opts: { afterOv?: number; limit?: number } = {}): Promise<HistoryEntry[]> {
    assertId(id);
    if (opts.afterOv !== undefined) assertOv(opts.afterOv, 'afterOv');
    const limit = opts.limit ?? 1000;
    if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw new ValidationError('limit must be an integer from 1 to 10000');
    await this.ensure();
    const vs = await this.meta.listVersions(this.ns, id, { ...(opts.afterOv !== undefined ? { afterOv: opts.afterOv } : {}), limit });
    return vs.map((v) => ({
      ov: v.ov, cv: v.cv, op: v.op, at: new Date(v.at), deleted: v.deleted, size: v.size,
      ...(v.actor !== undefined ? { actor: v.actor } : {}), ...(v.reason !== undefined ? { reason: v.reason } : {}),
    }));
  }

  async listByMeta(q: ListOptions = {}, opts: ReadOptions = {}): Promise<{ items: ChronosRecord[]; pageToken?: string }> {
    if (!isPlainObject(q as unknown)) throw new ValidationError('listByMeta takes { filter, limit?, afterId?, pageToken?, sort? }');
    const filter = this.compile(q.filter);
    const limit = q.limit ?? 50;
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new ValidationError('limit must be an integer from 1 to 1000');
    let dir: 1 | -1 = 1;
    if (q.sort === 'desc' || (typeof q.sort === 'object' && q.sort?.id === -1)) dir = -1;
    let afterId = q.afterId;
    if (q.pageToken !== undefined) {
      const t = this.decodeToken(q.pageToken);
      afterId = t.a;
      dir = t.d;
    }
    if (afterId !== undefined) assertId(afterId);
    this.checkReadOptions(opts);
    await this.ensure();
    const heads = await this.meta.queryHeads(this.ns, { ...(filter ? { filter } : {}), limit: limit + 1, dir, includeDeleted: !!opts.includeDeleted, ...(afterId ? { afterId } : {}) });
    const page = heads.slice(0, limit);
    const items = await mapLimit(page, 8, (h) => this.render(h, h, opts));
    const out: { items: ChronosRecord[]; pageToken?: string } = { items };
    if (heads.length > limit) out.pageToken = Buffer.from(JSON.stringify({ a: page[page.length - 1]!.itemId, d: dir })).toString('base64url');
    return out;
  }

  query(filter: Record<string, unknown> = {}, opts: ReadOptions & Omit<ListOptions, 'filter'> = {}): Promise<{ items: ChronosRecord[]; pageToken?: string }> {
    const { limit, afterId, pageToken, sort, ...read } = opts;
    return this.listByMeta({ filter, ...(limit !== undefined ? { limit } : {}), ...(afterId !== undefined ? { afterId } : {}), ...(pageToken !== undefined ? { pageToken } : {}), ...(sort !== undefined ? { sort } : {}) }, read);
  }

  async presignProperty(id: string, property: string, expiresIn = 3600): Promise<string> {
    assertId(id);
    assertPropPath(property);
    assertTtl(expiresIn);
    if (!this.blobs.presign || !this.blobs.capabilities.presign) throw new ValidationError('This storage cannot presign URLs (use S3-compatible storage)');
    await this.ensure();
    const head = await this.meta.getHead(this.ns, id);
    if (!head || head.deleted) throw new NotFoundError(`Record '${id}' not found`, { id });
    const ref = head.blobs?.[property];
    if (!ref) throw new NotFoundError(`Record '${id}' has no externalized property '${property}'`, { id, property });
    return this.blobs.presign('content', ref.key, expiresIn);
  }

  /** Text rendition (or raw bytes) of an externalized property. */
  async getPropertyContent(id: string, property: string, opts: { ov?: number; text?: boolean } = {}): Promise<Uint8Array> {
    assertId(id);
    assertPropPath(property);
    await this.ensure();
    const v = opts.ov !== undefined ? await this.meta.getVersion(this.ns, id, { ov: opts.ov }) : await this.meta.getHead(this.ns, id);
    const ref = v?.blobs?.[property];
    if (!v || !ref) throw new NotFoundError(`Record '${id}' has no externalized property '${property}'`, { id, property });
    if (opts.text) {
      if (!ref.textKey) throw new NotFoundError(`Property '${property}' has no text rendition`);
      return this.blobs.get('content', ref.textKey);
    }
    const bytes = await this.blobs.get('content', ref.key);
    if (sha256(bytes) !== ref.sha256) throw new IntegrityError(`Checksum mismatch for property '${property}' of record '${id}'`, { id, property });
    return bytes;
  }

  /**
   * Deletes payload objects of this namespace that no version references and
   * that are older than the grace period (orphans of failed or lost writes).
   */
  async collectGarbage(opts: { graceMs?: number; dryRun?: boolean } = {}): Promise<{ scanned: number; removed: string[] }> {
    const grace = opts.graceMs ?? 3600_000;
    if (!Number.isFinite(grace) || grace < 0) throw new ValidationError('graceMs must be a non-negative number');
    await this.ensure();
    const prefix = keyPrefix(this.ns);
    const cutoff = this.clock() - grace;
    const removed: string[] = [];
    let scanned = 0;
    for (const bucket of ['json', 'content'] as const) {
      for await (const e of this.blobs.list(bucket, prefix)) {
        scanned++;
        if (e.lastModified.getTime() > cutoff) continue;
        let referenced = true;
        if (bucket === 'json') {
          const p = parseJsonKey(this.ns, e.key);
          if (!p) continue;
          const v = await this.meta.getVersion(this.ns, p.id, { ov: p.ov });
          referenced = !!v && v.jsonKey === e.key;
        } else {
          const segs = e.key.slice(prefix.length).split('/');
          if (segs.length < 5) continue;
          const id = segs[segs.length - 4]!;
          const ovSeg = segs[segs.length - 3]!;
          const prop = segs.slice(0, -4).join('/');
          if (!/^v\d+$/.test(ovSeg)) continue;
          const v = await this.meta.getVersion(this.ns, id, { ov: Number(ovSeg.slice(1)) });
          const ref = v?.blobs?.[prop];
          referenced = !!ref && (ref.key === e.key || ref.textKey === e.key);
        }
        if (!referenced) {
          removed.push(`${bucket}:${e.key}`);
          if (!opts.dryRun) await this.blobs.delete(bucket, e.key);
        }
      }
    }
    return { scanned, removed };
  }

  // -------------------------------------------------------------- internals

  private checkData(data: unknown, what = 'data'): Record<string, unknown> {
    assertJsonPayload(data, what);
    const copy = cloneJson(data);
    delete copy._system;
    delete copy._meta;
    delete copy.id;
    return copy;
  }

  private checkRequestId(r: unknown): string | undefined {
    if (r === undefined || r === null) return undefined;
    if (typeof r !== 'string' || !REQUEST_ID_RE.test(r)) throw new ValidationError("requestId must be 1-128 letters, digits, '_', '.', ':' or '-'");
    return r;
  }

  private checkReadOptions(o: ReadOptions): void {
    if (!isPlainObject(o as unknown)) throw new ValidationError('read options must be an object');
    if (o.ttlSeconds !== undefined) assertTtl(o.ttlSeconds);
    if (o.projection !== undefined && (!Array.isArray(o.projection) || o.projection.some((p) => typeof p !== 'string'))) throw new ValidationError('projection must be an array of property names');
  }

  private selector(target: unknown): VersionSelector {
    if (!isPlainObject(target)) throw new ValidationError('target must be { ov }, { cv } or { at }');
    if ('ov' in target && target.ov !== undefined) {
      assertOv(target.ov, 'ov');
      return { ov: target.ov };
    }
    if ('cv' in target && target.cv !== undefined) {
      assertOv(target.cv, 'cv');
      return { cv: target.cv };
    }
    if ('at' in target && target.at !== undefined) return { at: toTime(target.at) };
    throw new ValidationError('target must be { ov }, { cv } or { at }');
  }

  private compile(filter: unknown): FilterNode | undefined {
    const indexed = this.map?.indexedProps;
    return compileFilter(filter ?? {}, { allowedFields: indexed && indexed.length ? indexed : undefined });
  }

  private decodeToken(t: string): { a: string; d: 1 | -1 } {
    try {
      const o = JSON.parse(Buffer.from(t, 'base64url').toString('utf8')) as { a?: unknown; d?: unknown };
      if (typeof o.a === 'string' && (o.d === 1 || o.d === -1)) return { a: o.a, d: o.d };
    } catch {
      /* fall through */
    }
    throw new ValidationError('Invalid pageToken');
  }

  private derivedId(kind: string, value: string): string {
    return `${kind}-${sha256(`${this.ns.dbName}\u0000${this.ns.tenant ?? ''}\u0000${this.ns.collection}\u0000${value}`).slice(0, 40)}`;
  }

  private metaIndexed(doc: Record<string, unknown>): Record<string, unknown> {
    const props = this.map?.indexedProps ?? [];
    const out: Record<string, unknown> = {};
    const keys = props.length ? props : Object.keys(doc);
    for (const k of keys) {
      const top = k.split('.')[0]!;
      const v = doc[top];
      if (v === undefined) continue;
      if (isPlainObject(v) && typeof v.$chronosBlob === 'string') continue;
      if (props.length === 0 && v !== null && typeof v === 'object') continue; // index-all means top-level scalars
      out[top] = v;
    }
    for (const v of Object.values(out)) {
      const bad = JSON.stringify(v).match(/"(\$[^"]*|[^"]*\.[^"]*)":/);
      if (bad) throw new ValidationError(`Indexed property keys cannot start with '$' or contain '.': ${bad[1]!.slice(0, 40)}`);
    }
    for (const req of this.map?.validation?.requiredIndexed ?? []) {
      if (out[req] === undefined || out[req] === null) throw new ValidationError(`Indexed property '${req}' is required`);
    }
    return out;
  }

  private build(a: {
    id: string; ov: number; op: Op; at: number; createdAt: number; doc: Record<string, unknown>;
    actor?: string | undefined; reason?: string | undefined; requestId?: string | undefined; requestHash?: string | undefined;
    functionIds?: string[] | undefined; previousBlobs?: Record<string, BlobRef> | undefined;
  }): Built {
    const attempt = newAttempt();
    const ext = planExternalization(this.ns, a.id, a.ov, attempt, a.doc, this.map?.base64Props, a.previousBlobs);
    const metaIndexed = this.metaIndexed(ext.doc);
    const system: Record<string, unknown> = { insertedAt: iso(a.createdAt), updatedAt: iso(a.at), state: 'new' };
    if (a.functionIds?.length) system.functionIds = a.functionIds;
    const text = JSON.stringify({ ...ext.doc, _system: system });
    const json = Buffer.from(text, 'utf8');
    checkSize(json.length, this.maxBytes);
    let blobBytes = 0;
    for (const p of ext.pending) blobBytes += p.bytes.length + (p.text?.length ?? 0);
    checkSize(blobBytes, Math.max(this.maxBytes, 5 * 1024 ** 3), 'externalized content');
    const version: Omit<VersionDoc, 'cv'> = {
      itemId: a.id, ov: a.ov, op: a.op, at: a.at, jsonKey: jsonKey(this.ns, a.id, a.ov, attempt),
      size: json.length, sha256: sha256(json), metaIndexed, deleted: false,
    };
    if (ext.blobs) version.blobs = ext.blobs;
    if (a.actor !== undefined) version.actor = a.actor;
    if (a.reason !== undefined) version.reason = a.reason;
    if (a.requestId !== undefined) version.requestId = a.requestId;
    if (a.requestHash !== undefined) version.requestHash = a.requestHash;
    if (a.functionIds?.length) version.functionIds = a.functionIds;
    return { version, json, pending: ext.pending, shadow: this.shadowOf(text, a.at) };
  }

  /** A version that reuses the payload of `source` (delete, restore): no PUT needed. */
  private pointerVersion(head: HeadDoc, source: VersionDoc, op: Op, at: number, deleted: boolean, actor?: string, reason?: string, requestId?: string, requestHash?: string): Built {
    const version: Omit<VersionDoc, 'cv'> = {
      itemId: head.itemId, ov: head.ov + 1, op, at, jsonKey: source.jsonKey, size: source.size, sha256: source.sha256,
      metaIndexed: source.metaIndexed, deleted,
    };
    if (source.blobs) version.blobs = source.blobs;
    if (source.functionIds) version.functionIds = source.functionIds;
    if (actor !== undefined) version.actor = actor;
    if (reason !== undefined) version.reason = reason;
    if (requestId !== undefined) version.requestId = requestId;
    if (requestHash !== undefined) version.requestHash = requestHash;
    const shadow = head.shadow && source === head ? head.shadow : null;
    return { version, json: new Uint8Array(0), pending: [], shadow: deleted ? null : shadow };
  }

  private shadowOf(text: string, at: number): { json: string; expiresAt: number } | null {
    if (!this.devShadow) return null;
    const max = this.devShadow.maxBytesPerDoc ?? 256 * 1024;
    if (Buffer.byteLength(text) > max) return null;
    return { json: text, expiresAt: at + this.devShadow.ttlHours * 3600_000 };
  }

  private async commitBuilt(b: Built, expectedOv: number | null, at: number, prev?: { cv: number; createdAt: number }): Promise<{ cv: number }> {
    if (b.json.length > 0) {
      await Promise.all(b.pending.flatMap((p) => [
        this.blobs.put('content', p.ref.key, p.bytes, { contentType: p.ref.contentType }),
        ...(p.text && p.ref.textKey ? [this.blobs.put('content', p.ref.textKey, p.text, { contentType: 'text/plain; charset=utf-8' })] : []),
      ]));
      await this.blobs.put('json', b.version.jsonKey, b.json, { contentType: 'application/json' });
    }
    return this.meta.commit({
      ns: this.ns, version: b.version, expectedOv,
      head: { ...(expectedOv === null ? { createdAt: at, state: 'new' as const } : {}), shadow: b.shadow },
      ...(prev ? { prev } : {}),
    });
  }

  /**
   * Reads the head, builds a version from it and commits with compare-and-set.
   * With an explicit expectedOv a conflict is final; without one the write is
   * rebuilt on the new head (last writer wins), a bounded number of times.
   */
  private async writeLoop(
    id: string, expectedOv: number | undefined, requestId: string | undefined, requestHash: string | undefined,
    build: (head: HeadDoc, at: number) => Promise<Built>, countAs: 'CREATE' | 'UPDATE' | 'DELETE',
    payload?: Record<string, unknown> | (() => Record<string, unknown>),
  ): Promise<{ ov: number; cv: number; at: number }> {
    await this.ensure();
    if (requestId) {
      const prior = await this.replay(requestId, requestHash!);
      if (prior) return { ov: prior.ov, cv: prior.cv, at: prior.at };
    }
    for (let attempt = 0; ; attempt++) {
      // The first attempt trusts the head (a lagging one loses the commit on the unique
      // (itemId, ov) index); a retry reads it checked against the version index.
      const head = await this.meta.getHead(this.ns, id, attempt === 0 ? { forWrite: true } : undefined);
      if (!head) throw new NotFoundError(`Record '${id}' not found`, { id });
      if (expectedOv !== undefined && head.ov !== expectedOv) {
        throw new OptimisticLockError(`Record '${id}' is at ov ${head.ov}, expected ${expectedOv}`, { id, expectedOv, actualOv: head.ov });
      }
      const at = Math.max(this.clock(), head.at);
      const built = await build(head, at);
      try {
        const { cv } = await this.commitBuilt(built, head.ov, at, { cv: head.cv, createdAt: head.createdAt });
        await this.count(countAs, built, typeof payload === 'function' ? payload() : payload);
        return { ov: built.version.ov, cv, at };
      } catch (e) {
        if (!(e instanceof OptimisticLockError)) throw e;
        if (requestId) {
          const prior = await this.replay(requestId, requestHash!);
          if (prior) return { ov: prior.ov, cv: prior.cv, at: prior.at };
        }
        if (expectedOv !== undefined || attempt >= MAX_RETRIES) {
          throw new OptimisticLockError(`Record '${id}' was changed by another writer`, { id, expectedOv: head.ov });
        }
        await backoff(attempt);
      }
    }
  }

  private async replay(requestId: string, requestHash: string): Promise<VersionDoc | null> {
    const prior = await this.meta.findByRequestId(this.ns, requestId);
    if (!prior) return null;
    if (prior.requestHash !== requestHash) throw new ValidationError(`requestId '${requestId}' was already used for a different write`, { requestId });
    return prior;
  }

  private async count(op: Op, b: Built, payload?: Record<string, unknown>): Promise<void> {
    if (!this.counters) return;
    const field = op === 'CREATE' ? 'created' : op === 'DELETE' ? 'deleted' : 'updated';
    const ruleOp = op === 'CREATE' ? 'CREATE' : op === 'DELETE' ? 'DELETE' : 'UPDATE';
    const rules: string[] = [];
    for (const r of this.rules) {
      if (r.on && !r.on.includes(ruleOp)) continue;
      const subject = r.scope === 'payload' ? payload ?? b.version.metaIndexed : b.version.metaIndexed;
      if (matchFilter(compileFilter(r.when), subject)) rules.push(r.name);
    }
    try {
      await this.counters.incrementCounters({ dbName: this.ns.dbName, collection: this.ns.collection, ...(this.ns.tenant ? { tenant: this.ns.tenant } : {}) }, { field, rules });
    } catch (e) {
      this.log.warn('counter update failed (the write itself succeeded)', { error: (e as Error).message });
    }
  }

  private async readAt(id: string, sel: VersionSelector, opts: ReadOptions): Promise<ChronosRecord | null> {
    await this.ensure();
    // One index lookup and one GET: insertedAt and state come from the version's own payload.
    const v = await this.meta.getVersion(this.ns, id, sel);
    if (!v || v.itemId !== id) return null;
    if (v.deleted && !opts.includeDeleted) return null;
    return this.render(v, null, opts);
  }

  private async loadStored(v: VersionDoc & { shadow?: HeadDoc['shadow'] }): Promise<Record<string, unknown>> {
    let text: string;
    if (v.shadow && v.shadow.expiresAt > this.clock()) text = v.shadow.json;
    else {
      let bytes: Uint8Array;
      try {
        bytes = await this.blobs.get('json', v.jsonKey);
      } catch (e) {
        if (e instanceof NotFoundError) throw new StorageError(`Payload of record '${v.itemId}' v${v.ov} is missing from the json bucket`, { id: v.itemId, ov: v.ov });
        throw e;
      }
      if (sha256(bytes) !== v.sha256) throw new IntegrityError(`Checksum mismatch for record '${v.itemId}' v${v.ov}`, { id: v.itemId, ov: v.ov });
      text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
    }
    return JSON.parse(text) as Record<string, unknown>;
  }

  private async render(v: VersionDoc & { shadow?: HeadDoc['shadow'] }, head: HeadDoc | null, opts: ReadOptions): Promise<ChronosRecord> {
    const doc = await this.loadStored(v);
    const stored = isPlainObject(doc._system) ? doc._system : {};
    let urls: Record<string, string> | undefined;
    if (opts.presign && v.blobs && this.blobs.presign && this.blobs.capabilities.presign) {
      urls = {};
      for (const [prop, ref] of Object.entries(v.blobs)) urls[prop] = await this.blobs.presign('content', ref.key, opts.ttlSeconds ?? 3600);
    }
    renderBlobs(doc, v.blobs, urls);
    const createdAt = head?.createdAt ?? (typeof stored.insertedAt === 'string' ? Date.parse(stored.insertedAt) : v.at);
    const system: Record<string, unknown> = { insertedAt: iso(createdAt), updatedAt: iso(v.at), state: head?.state ?? (typeof stored.state === 'string' ? stored.state : 'new') };
    if (v.deleted) {
      system.deleted = true;
      system.deletedAt = iso(v.at);
    }
    if (v.functionIds?.length) system.functionIds = v.functionIds;
    let body: Record<string, unknown> = doc;
    if (opts.projection) {
      body = {};
      for (const p of opts.projection) if (p in doc && p !== '_system') body[p] = doc[p];
    }
    delete body._system;
    const out = { id: v.itemId, ...body, _system: system } as ChronosRecord;
    if (opts.includeMeta) {
      out._meta = { ov: v.ov, cv: v.cv, at: iso(v.at), op: v.op, metaIndexed: v.metaIndexed, ...(v.deleted ? { deletedAt: iso(v.at) } : {}) };
    }
    return out;
  }
}
