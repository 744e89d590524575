/**
 * A lazy pool of clients: one client per distinct id (a Mongo URI, or an S3
 * endpoint + credentials + buckets), opened on first use, shared by every
 * context that needs it, and closed once by `closeAll()` (admin.shutdown()).
 */
import { StorageError, type SpacesConnConfig } from '@chronos-db/core';

export interface ClientPoolOptions<T, A> {
  /** Opens a client. Called at most once per id while the pool is open (again only if it threw). */
  open: (arg: A, id: string) => T;
  close: (client: T) => Promise<void>;
  /** Identity of a client; clients with the same id are shared. Default: `String(arg)`. */
  id?: (arg: A) => string;
}

export interface ClientPool<T, A = string> {
  /** The client for this argument, opened now if it is the first use. */
  get(arg: A): T;
  /** Whether a client with this argument's id is open. Never opens one. */
  has(arg: A): boolean;
  /** Number of open clients. */
  readonly size: number;
  readonly closed: boolean;
  /**
   * Closes every client (all of them, even when some fail), then rejects
   * with a StorageError if any close failed. Later `get` calls throw.
   * Idempotent.
   */
  closeAll(): Promise<void>;
}

export function createClientPool<T, A = string>(opts: ClientPoolOptions<T, A>): ClientPool<T, A> {
  const idOf = opts.id ?? ((a: A) => String(a));
  const clients = new Map<string, T>();
  let closed = false;
  let closing: Promise<void> | null = null;
  return {
    get(arg) {
      if (closed) throw new StorageError('The client pool is closed (chronos-db was shut down)');
      const id = idOf(arg);
      if (clients.has(id)) return clients.get(id)!;
      const client = opts.open(arg, id);
      clients.set(id, client);
      return client;
    },
    has(arg) {
      return clients.has(idOf(arg));
    },
    get size() {
      return clients.size;
    },
    get closed() {
      return closed;
    },
    closeAll() {
      if (closing) return closing;
      closed = true;
      const all = [...clients.values()];
      clients.clear();
      closing = Promise.allSettled(all.map((c) => opts.close(c))).then((rs) => {
        const failed = rs.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (failed.length) {
          throw new StorageError(`${failed.length} of ${rs.length} client(s) failed to close`, undefined, { cause: failed[0]!.reason });
        }
      });
      return closing;
    },
  };
}

/** Pool id of a Mongo client: its URI (kept in memory only, never exposed by the pool). */
export function mongoClientId(mongoUri: string): string {
  return mongoUri;
}

/**
 * Pool id of an S3 SDK client: everything that shapes the client (endpoint,
 * region, access key, path style, connection and retry settings), not the
 * buckets. The secret key is left out: one access key has one secret.
 */
export function s3ClientId(c: SpacesConnConfig): string {
  return JSON.stringify([
    c.endpoint,
    c.region,
    c.accessKey,
    c.forcePathStyle ?? false,
    c.maxConnections ?? null,
    c.requestTimeoutMs ?? null,
    c.maxAttempts ?? null,
  ]);
}

/** Pool id of an S3 blob store: its client plus its three buckets. */
export function s3StoreId(c: SpacesConnConfig): string {
  return JSON.stringify([s3ClientId(c), c.jsonBucket, c.contentBucket, c.backupsBucket]);
}
