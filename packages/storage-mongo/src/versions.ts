/**
 * Small reads of the version index (`_ver`, the source of truth) and cv allocation.
 */
import type { ClientSession } from 'mongodb';
import type { StoreCtx, Cols } from './context.js';
import { versionId, type StoredVersion } from './docs.js';

/** The newest version of a record (a query on (itemId, ov)). */
export const latestVersion = (c: Cols, itemId: string): Promise<StoredVersion | null> => c.ver.find({ itemId }).sort({ ov: -1 }).limit(1).next();

/**
 * Whether version `ov` of a record exists (an `_id` seek). ov is gapless, so `ov = head.ov + 1`
 * missing means the head is current; after a duplicate key on the version insert it tells who
 * took it: (itemId, ov) taken means a concurrent writer won, else the cv was taken.
 */
export const hasVersion = async (c: Cols, itemId: string, ov: number): Promise<boolean> =>
  (await c.ver.findOne({ _id: versionId(itemId, ov) }, { projection: { _id: 1 } })) !== null;

// cv allocation: a process-local hint, checked by the unique index on cv.

export const maxCv = async (c: Cols, session?: ClientSession): Promise<number> => {
  const d = await c.ver
    .find({}, { projection: { cv: 1 }, ...(session ? { session } : {}) })
    .sort({ cv: -1 })
    .limit(1)
    .next();
  return d && typeof d.cv === 'number' ? d.cv : 0;
};

/** The next cv to try (at least `floor`); `refresh` re-reads the max cv (another process took one). */
export const nextCv = async (ctx: StoreCtx, c: Cols, floor: number, refresh: boolean, session?: ClientSession): Promise<number> => {
  const hints = ctx.shared.cvHints;
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

/** Whether the record has a tombstone (an erasure began): an `_id` seek on `<name>_erasures`. */
export const isErased = async (c: Cols, itemId: string): Promise<boolean> => (await c.erase.findOne({ _id: itemId }, { projection: { _id: 1 } })) !== null;
