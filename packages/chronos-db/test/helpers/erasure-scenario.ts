/**
 * Erasure of one record under 8 concurrent writers and readers of it, through initChronos on
 * any store pair; the caller checks the stores' raw contents afterwards (helpers/raw-scan.ts).
 *
 * Every version of record A carries three markers: one in a plain property (payload, devShadow),
 * one in an indexed property (metaIndexed of heads and versions), one inside an externalized
 * base64 property (content bucket, text rendition). Record B, never erased, carries its own:
 * the raw scan must find B's, or it proves nothing.
 */
import { NotFoundError, OptimisticLockError, type Chronos, type ChronosConfig } from 'chronos-db';

export const COLLECTION = 'people';

export function erasureCollectionMap(): Pick<ChronosConfig, 'collectionMaps' | 'devShadow' | 'hardDeleteEnabled'> {
  return {
    hardDeleteEnabled: true,
    devShadow: { enabled: true, ttlHours: 1 },
    collectionMaps: { [COLLECTION]: { indexedProps: ['tag', 'v'], base64Props: { doc: { contentType: 'text/plain', preferredText: true } } } },
  };
}

export interface Markers {
  data: string;
  meta: string;
  blob: string;
}

export const markersOf = (tag: string): Markers => ({ data: `ZZDATA${tag}QQ`, meta: `ZZMETA${tag}QQ`, blob: `ZZBLOB${tag}QQ` });

export const recordData = (m: Markers, v: number) => ({
  tag: m.meta,
  v,
  note: `${m.data}-${v}`,
  doc: Buffer.from(`${m.blob} text of version ${v}`).toString('base64'),
});

export interface ScenarioResult {
  idA: string;
  idB: string;
  /** Errors no worker should ever see (a half-erased read, a storage error). */
  unexpected: string[];
  /** Writes that started after hardDelete returned and did not fail with NotFoundError. */
  writesAfter: string[];
  /** Reads that started after hardDelete returned and returned something. */
  readsAfter: string[];
  /** Reads that returned a whole record (the erasure had not begun for them). */
  wholeReads: number;
  erasure: Awaited<ReturnType<Chronos['admin']['hardDelete']>>;
}

export async function eraseUnderLoad<Q>(chronos: Chronos<Q>, ctx: Record<string, unknown>, a: Markers, b: Markers): Promise<ScenarioResult> {
  const col = chronos.with({ ...ctx, collection: COLLECTION } as Parameters<Chronos['with']>[0]);
  const { id: idA } = (await col.create(recordData(a, 0))) as { id: string };
  const { id: idB } = (await col.create(recordData(b, 0))) as { id: string };
  for (let v = 1; v <= 3; v++) {
    await col.update(idA, recordData(a, v));
    await col.update(idB, recordData(b, v));
  }
  const unexpected: string[] = [];
  const writesAfter: string[] = [];
  const readsAfter: string[] = [];
  let wholeReads = 0;
  let erasedAt = 0; // set when hardDelete returned
  let stop = false;
  const after: number[] = Array(8).fill(0);
  let v = 100;

  const writer = async (w: number) => {
    while (!stop) {
      const startedAfter = erasedAt > 0;
      try {
        await col.update(idA, recordData(a, v++));
        if (startedAfter) writesAfter.push(`writer ${w} committed`);
      } catch (e) {
        if (!(e instanceof NotFoundError) && !(e instanceof OptimisticLockError)) unexpected.push(`writer ${w}: ${String(e)}`);
        else if (startedAfter && !(e instanceof NotFoundError)) writesAfter.push(`writer ${w}: ${String(e)}`);
      }
      if (startedAfter) after[w]!++;
      await new Promise((res) => setImmediate(res)); // the embedded store answers in microtasks: let timers run
    }
  };
  const reader = async (r: number) => {
    const whole = (x: Record<string, unknown> | null) => x === null || (x.tag === a.meta && typeof x.note === 'string' && x.note.startsWith(a.data));
    while (!stop) {
      const startedAfter = erasedAt > 0;
      try {
        const got = r % 2 ? await col.getLatest(idA) : await col.getVersion(idA, 1);
        if (!whole(got as Record<string, unknown> | null)) unexpected.push(`reader ${r} saw a partial record ${JSON.stringify(got).slice(0, 200)}`);
        if (got) {
          wholeReads++;
          if (startedAfter) readsAfter.push(`reader ${r} read it`);
        }
        const h = await col.history(idA, { limit: 2 }).catch((e: unknown) => {
          if (e instanceof NotFoundError) return null;
          throw e;
        });
        if (h && startedAfter) readsAfter.push(`reader ${r} read its history`);
      } catch (e) {
        unexpected.push(`reader ${r}: ${String(e)}`);
      }
      if (startedAfter) after[4 + r]!++;
      await new Promise((res) => setImmediate(res));
    }
  };
  const workers = [0, 1, 2, 3].map(writer).concat([0, 1, 2, 3].map(reader));
  // let every worker run a little before the erasure
  await new Promise((res) => setTimeout(res, 150));
  const erasure = await chronos.admin.hardDelete({ ...ctx, collection: COLLECTION } as never, idA, {
    confirm: true,
    actor: 'dpo@example.com',
    reason: 'GDPR art. 17 request',
  });
  erasedAt = Date.now();
  while (after.some((n) => n < 3)) await new Promise((res) => setTimeout(res, 20));
  stop = true;
  await Promise.all(workers);
  return { idA, idB, unexpected, writesAfter, readsAfter, wholeReads, erasure };
}
