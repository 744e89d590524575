/**
 * What this process knows per MongoClient, shared by every store on that client: one object
 * per client (held weakly), instead of one map per concern.
 */
import type { MongoClient } from 'mongodb';

/**
 * The newest version this process saw of a record (its ov, at, cv and the record's createdAt).
 * FerretDB: getHead sends the check of `ov + 1` with the head read (one round trip when the
 * guess holds; a wrong guess costs one more); as-of reads start their search from it. Only a
 * hint: every answer is proven by documents read in the same call.
 */
export interface Guess {
  ov: number;
  at: number;
  cv: number;
  createdAt: number;
}

/** Head writes of one record from this process, serialized (see heads.ts serialHeadWrite). */
export interface HeadWriteEntry {
  ov: number;
  tail: Promise<void>;
  users: number;
}

export interface ClientState {
  /** Whether the server offers multi-document transactions (`hello`), asked once. */
  txn?: Promise<boolean>;
  /**
   * Whether the server is FerretDB (`buildInfo`), asked once. FerretDB (1.x) pushes down only a
   * filter that is exactly `{ _id: value }`: every other query or update scans the whole
   * collection. On it, hot paths use `_id` seeks instead (seeks.ts).
   */
  ferret?: Promise<boolean>;
  /** Index creation per namespace key, and per namespace key + indexed property (cached promises; dropped on failure). */
  readonly indexes: Map<string, Promise<void>>;
  /** Next cv to try per namespace key (a hint, checked by the unique index on cv). */
  readonly cvHints: Map<string, { next: number }>;
  /** In-flight head writes per record key. */
  readonly headWrites: Map<string, HeadWriteEntry>;
  /** Newest version seen per record key (bounded, oldest evicted first). */
  readonly guesses: Map<string, Guess>;
}

const MAX_GUESSES = 50_000;
const states = new WeakMap<MongoClient, ClientState>();

export function clientState(client: MongoClient): ClientState {
  let s = states.get(client);
  if (!s) states.set(client, (s = { indexes: new Map(), cvHints: new Map(), headWrites: new Map(), guesses: new Map() }));
  return s;
}

/**
 * Hands a client's state to the client that replaces it (client-pool.ts reopens a client the
 * driver closed): in-flight head writes stay serialized, detections and hints stay known.
 */
export function moveClientState(from: MongoClient, to: MongoClient): void {
  const s = states.get(from);
  if (s && !states.has(to)) states.set(to, s);
}

export function remember(state: ClientState, key: string, g: Guess): void {
  const m = state.guesses;
  m.delete(key); // re-insert: the Map's order is the eviction order
  if (m.size >= MAX_GUESSES) m.delete(m.keys().next().value as string);
  m.set(key, g);
}
