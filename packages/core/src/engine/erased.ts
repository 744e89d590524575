/**
 * Reads of erased records (admin hardDelete). An erasure writes its tombstone first and only
 * then deletes, so a read that finds no tombstone AFTER it read everything saw the record
 * whole, from before the erasure; a read that finds one answers "missing" whatever it read,
 * and a read that failed (a payload already deleted) and finds one answers "missing" too. A
 * reader never sees a half-erased record. Stores without `erasedIds` cannot erase, so their
 * reads are not checked.
 */
import { NotFoundError } from '../errors.js';
import type { EngineContext } from './context.js';

/** Whether the record has a tombstone (false on a store that cannot erase). */
export async function isErased(cx: EngineContext, id: string): Promise<boolean> {
  if (!cx.meta.erasedIds) return false;
  return (await cx.meta.erasedIds(cx.ns, [id])).length > 0;
}

/** Runs a read of one record; the record erased (checked after it, or after its failure): `gone()`. */
export async function readUnlessErased<T>(cx: EngineContext, id: string, read: () => Promise<T>, gone: () => T): Promise<T> {
  if (!cx.meta.erasedIds) return read();
  let out: T;
  try {
    out = await read();
  } catch (e) {
    if (await isErased(cx, id).catch(() => false)) return gone();
    throw e;
  }
  return (await isErased(cx, id)) ? gone() : out;
}

/** `gone` of a read that throws for a missing record. */
export const notFound = (id: string) => (): never => {
  throw new NotFoundError(`Record '${id}' not found`, { id });
};

/** Drops the records of a page that have a tombstone (one lookup for the page). */
export async function withoutErased<T extends { id: string }>(cx: EngineContext, items: T[]): Promise<T[]> {
  if (!cx.meta.erasedIds || items.length === 0) return items;
  const gone = new Set(
    await cx.meta.erasedIds(
      cx.ns,
      items.map((i) => i.id),
    ),
  );
  return gone.size ? items.filter((i) => !gone.has(i.id)) : items;
}
