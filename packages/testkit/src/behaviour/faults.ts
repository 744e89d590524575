/**
 * Fault-injection wrappers around real adapters (never a replacement for
 * them): the next N calls of a method fail before reaching the store, or
 * after the store applied them (an ambiguous outcome, like a crash between
 * commit and reply).
 */
import type { BlobStore, BucketRole, CommitInput, MetadataStore, PutOptions } from '@chronos-db/core';

export class InjectedFault extends Error {
  constructor(
    readonly method: string,
    readonly afterEffect: boolean,
  ) {
    super(`injected fault in ${method} (${afterEffect ? 'after' : 'before'} the effect)`);
    this.name = 'InjectedFault';
  }
}

class Plan {
  private before = new Map<string, number>();
  private after = new Map<string, number>();
  failNext(method: string, n = 1) {
    this.before.set(method, n);
  }
  failAfterNext(method: string, n = 1) {
    this.after.set(method, n);
  }
  clear() {
    this.before.clear();
    this.after.clear();
  }
  take(map: 'before' | 'after', method: string): boolean {
    const m = map === 'before' ? this.before : this.after;
    const n = m.get(method) ?? 0;
    if (n <= 0) return false;
    m.set(method, n - 1);
    return true;
  }
}

export class FaultyBlobStore implements BlobStore {
  private plan = new Plan();
  constructor(private readonly inner: BlobStore) {}
  get capabilities() {
    return this.inner.capabilities;
  }
  failNext(method: 'put' | 'get' | 'head' | 'delete', n = 1) {
    this.plan.failNext(method, n);
  }
  failAfterNext(method: 'put' | 'delete', n = 1) {
    this.plan.failAfterNext(method, n);
  }
  clear() {
    this.plan.clear();
  }
  private async wrap<T>(method: string, f: () => Promise<T>): Promise<T> {
    if (this.plan.take('before', method)) throw new InjectedFault(method, false);
    const r = await f();
    if (this.plan.take('after', method)) throw new InjectedFault(method, true);
    return r;
  }
  put(b: BucketRole, k: string, body: Uint8Array, o?: PutOptions) {
    return this.wrap('put', () => this.inner.put(b, k, body, o));
  }
  get(b: BucketRole, k: string) {
    return this.wrap('get', () => this.inner.get(b, k));
  }
  head(b: BucketRole, k: string) {
    return this.wrap('head', () => this.inner.head(b, k));
  }
  delete(b: BucketRole, k: string) {
    return this.wrap('delete', () => this.inner.delete(b, k));
  }
  list(b: BucketRole, p: string) {
    return this.inner.list(b, p);
  }
  get presign() {
    return this.inner.presign?.bind(this.inner);
  }
  close() {
    return Promise.resolve();
  }
}

export class FaultyMetadataStore implements MetadataStore {
  private plan = new Plan();
  private lastId: string | undefined;
  constructor(private readonly inner: MetadataStore) {}
  get capabilities() {
    return this.inner.capabilities;
  }
  failNext(method: 'commit' | 'getHead' | 'getVersion', n = 1) {
    this.plan.failNext(method, n);
  }
  failAfterNext(method: 'commit', n = 1) {
    this.plan.failAfterNext(method, n);
  }
  clear() {
    this.plan.clear();
  }
  /** itemId of the last commit the inner store applied. */
  lastCommittedId() {
    return this.lastId;
  }
  async commit(input: CommitInput) {
    if (this.plan.take('before', 'commit')) throw new InjectedFault('commit', false);
    const r = await this.inner.commit(input);
    this.lastId = input.version.itemId;
    if (this.plan.take('after', 'commit')) throw new InjectedFault('commit', true);
    return r;
  }
  ensureNamespace: MetadataStore['ensureNamespace'] = (ns) => this.inner.ensureNamespace(ns);
  getHead: MetadataStore['getHead'] = async (ns, id, o) => {
    if (this.plan.take('before', 'getHead')) throw new InjectedFault('getHead', false);
    return this.inner.getHead(ns, id, o);
  };
  getVersion: MetadataStore['getVersion'] = async (ns, id, sel) => {
    if (this.plan.take('before', 'getVersion')) throw new InjectedFault('getVersion', false);
    return this.inner.getVersion(ns, id, sel);
  };
  listVersions: MetadataStore['listVersions'] = (ns, id, o) => this.inner.listVersions(ns, id, o);
  findByRequestId: MetadataStore['findByRequestId'] = (ns, r) => this.inner.findByRequestId(ns, r);
  queryHeads: MetadataStore['queryHeads'] = (ns, q) => this.inner.queryHeads(ns, q);
  currentCv: MetadataStore['currentCv'] = (ns) => this.inner.currentCv(ns);
  setState: MetadataStore['setState'] = (ns, id, s) => this.inner.setState(ns, id, s);
  hardDelete: MetadataStore['hardDelete'] = (ns, id) => this.inner.hardDelete(ns, id);
  ping: MetadataStore['ping'] = () => this.inner.ping();
  close() {
    return Promise.resolve();
  }
}
