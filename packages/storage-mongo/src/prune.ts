/**
 * `deleteVersions`: removes version rows that a verified manifest holds (pruneNow). Rows of one
 * record go in ascending ov order, so an interrupted call never leaves a hole below a row that
 * stays (readers find every removed row below the lowest one left). A record's newest version
 * is never removed: version `max ov + 1` of the call must exist (an `_id` seek; versions only
 * ever get added above, so the check cannot be outdated by a concurrent commit).
 */
import { deleteVersionGroups, newestVersionError, type Namespace } from '@chronos-db/core';
import type { StoreCtx } from './context.js';
import { versionId } from './docs.js';
import { hasVersion } from './versions.js';

const RECORDS_IN_FLIGHT = 16;

export async function deleteVersions(ctx: StoreCtx, ns: Namespace, refs: ReadonlyArray<{ itemId: string; ov: number }>): Promise<number> {
  const c = ctx.cols(ns);
  const groups = [...deleteVersionGroups(refs)];
  if (groups.length === 0) return 0;
  await ctx.ensure(ns);
  const verdicts = await ctx.run('delete versions', () =>
    Promise.all(
      groups.map(async ([itemId, ovs]): Promise<'ok' | 'skip' | 'newest'> => {
        const top = ovs[ovs.length - 1]!;
        const head = await c.head.findOne({ _id: itemId }, { projection: { ov: 1 } });
        if (head) return head.ov > top || (await hasVersion(c, itemId, top + 1)) ? 'ok' : 'newest';
        for (const ov of ovs) if (await hasVersion(c, itemId, ov)) return 'newest';
        return 'skip';
      }),
    ),
  );
  const bad = verdicts.indexOf('newest');
  if (bad >= 0) {
    const [itemId, ovs] = groups[bad]!;
    throw newestVersionError(itemId, ovs[ovs.length - 1]!);
  }
  groups.splice(0, groups.length, ...groups.filter((_, i) => verdicts[i] === 'ok'));
  return ctx.run('delete versions', async () => {
    // FerretDB answers only `{ _id }` equality without a scan: one deleteOne per row, in ov
    // order per record; MongoDB: one deleteMany per record.
    const seeks = await ctx.idSeeks();
    let n = 0;
    for (let i = 0; i < groups.length; i += RECORDS_IN_FLIGHT) {
      const counts = await Promise.all(
        groups.slice(i, i + RECORDS_IN_FLIGHT).map(async ([itemId, ovs]) => {
          if (!seeks) return (await c.ver.deleteMany({ _id: { $in: ovs.map((ov) => versionId(itemId, ov)) } })).deletedCount;
          let k = 0;
          for (const ov of ovs) k += (await c.ver.deleteOne({ _id: versionId(itemId, ov) })).deletedCount;
          return k;
        }),
      );
      for (const k of counts) n += k;
    }
    return n;
  });
}
