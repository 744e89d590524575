/**
 * FerretDB seeks: reads answered with `_id` lookups only.
 *
 * FerretDB (1.x) pushes down only a filter that is exactly `{ _id: value }`; any other query
 * scans the whole collection. Versions have `_id: '<itemId>:<ov>'` and ov is gapless, so the
 * head can be checked (does version head.ov + 1 exist?) and an as-of version found by bisection
 * with `_id` seeks. Each function returns `undefined` when the chain is not plain (a lagging
 * head, a missing version): the caller then asks the query (queries.ts).
 */
import type { VersionDoc } from '@chronos-db/core';
import type { Cols, StoreCtx } from './context.js';
import { toVersion, versionId, type StoredHead, type StoredVersion } from './docs.js';
import { guessOf, rememberHead, settleObserved } from './heads.js';
import { hasVersion } from './versions.js';

/** The head, checked by whether version head.ov + 1 exists (both `_id` seeks); undefined when it lags. */
export const seekHead = async (ctx: StoreCtx, c: Cols, itemId: string): Promise<StoredHead | null | undefined> => {
  const guess = guessOf(ctx, c, itemId);
  let head: StoredHead | null;
  if (guess !== undefined) {
    const [h, next] = await Promise.all([c.head.findOne({ _id: itemId }), hasVersion(c, itemId, guess.ov + 1)]);
    head = h;
    if (h && h.ov === guess.ov) return next ? undefined : h;
  } else head = await c.head.findOne({ _id: itemId });
  if (await hasVersion(c, itemId, head ? head.ov + 1 : 0)) return undefined;
  if (head) rememberHead(ctx, c, head);
  return head;
};

/**
 * The newest version with `field <= bound`, found with `_id` seeks instead of a query
 * that scans every version of the collection. `at` and `cv` never decrease along a chain and
 * versions are immutable, so two neighbours m, m + 1 read in one round trip with
 * f(m) <= bound < f(m + 1) prove the answer is m, whatever the head says now. The search is
 * bracketed by the newest version this process knows (no head read) or else by the head, and
 * guesses by interpolation (a chain written at a steady pace answers in one round trip), then
 * bisects, so the worst case stays logarithmic. `undefined` when the chain is not plain (a
 * version missing, a lagging head): the caller then asks the query.
 */
export const seekVersion = async (ctx: StoreCtx, c: Cols, itemId: string, field: 'at' | 'cv', bound: number): Promise<VersionDoc | null | undefined> => {
  const guess = guessOf(ctx, c, itemId);
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
    const h = guess ? await seekHead(ctx, c, itemId) : await c.head.findOne({ _id: itemId });
    if (!h) return undefined;
    if (h[field] <= bound) {
      // it answers if it is current (versions after a lagging head would qualify too); seekHead checked that
      if (!guess && (await hasVersion(c, itemId, h.ov + 1))) return undefined;
      rememberHead(ctx, c, h);
      return toVersion(h);
    }
    rememberHead(ctx, c, h); // a hint only: a lagging one is proven wrong by the reads that use it
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
  if (loDoc) await settleObserved(ctx, c, [loDoc]);
  return loDoc ? toVersion(loDoc) : null;
};
