/**
 * Model-based (fast-check): random creates, updates, deletes and restores on one collection;
 * then, at every point reached (each cv), `listAsOf({ cv })` equals the model's snapshot,
 * `changes({ afterCv })` equals the model's suffix, and `diff` between any two versions of a
 * record, applied to the first, gives the second.
 */
import fc from 'fast-check';
import { applyPatch } from 'rfc6902';
import { dataOf, forEachTarget, openedFor } from './helpers/history-targets.js';

type Cmd = { k: 'create'; n: number } | { k: 'update'; i: number; n: number } | { k: 'delete'; i: number } | { k: 'restore'; i: number; ov: number };

interface MVersion {
  id: string;
  ov: number;
  cv: number;
  op: string;
  data: Record<string, unknown>;
  deleted: boolean;
}

const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  fc.record({ k: fc.constant('create' as const), n: fc.integer({ min: 0, max: 9 }) }),
  fc.record({ k: fc.constant('update' as const), i: fc.nat(), n: fc.integer({ min: 0, max: 9 }) }),
  fc.record({ k: fc.constant('delete' as const), i: fc.nat() }),
  fc.record({ k: fc.constant('restore' as const), i: fc.nat(), ov: fc.nat() }),
);

forEachTarget('history model', (t) => {
  const h = openedFor(t);
  let run = 0;

  it('listAsOf, changes and diff agree with the model at every point', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(cmd, { minLength: 1, maxLength: t.name === 'embedded' ? 12 : 8 }), async (cmds) => {
        const c = h.chronos.with({ dbName: h.dbName, collection: 'docs', tenantId: `m${run++}` });
        const log: MVersion[] = [];
        const ids: string[] = [];
        const chain = (id: string) => log.filter((v) => v.id === id);
        for (const [step, x] of cmds.entries()) {
          if (x.k === 'create' || ids.length === 0) {
            const data = { kind: 'm', n: x.k === 'create' ? x.n : 0, step };
            const r = await c.create(data);
            ids.push(r.id);
            log.push({ id: r.id, ov: 0, cv: r.cv, op: 'CREATE', data, deleted: false });
            continue;
          }
          const id = ids[('i' in x ? x.i : 0) % ids.length]!;
          const vs = chain(id);
          const last = vs[vs.length - 1]!;
          if (x.k === 'update' && !last.deleted) {
            const data = { kind: 'm', n: x.n, step };
            const r = await c.update(id, data, last.ov);
            log.push({ id, ov: r.ov, cv: r.cv, op: 'UPDATE', data, deleted: false });
          } else if (x.k === 'delete' && !last.deleted) {
            const r = await c.delete(id, last.ov);
            log.push({ id, ov: r.ov, cv: r.cv, op: 'DELETE', data: last.data, deleted: true });
          } else if (x.k === 'restore' || last.deleted) {
            const target = vs[('ov' in x ? x.ov : 0) % vs.length]!;
            const r = await c.restoreObject(id, { ov: target.ov }, { expectedHeadOv: last.ov });
            log.push({ id, ov: r.newOv, cv: r.newCv, op: 'RESTORE', data: target.data, deleted: target.deleted });
          }
        }
        // every point reached: the snapshot then, and the feed's suffix from there
        for (const point of [0, ...log.map((v) => v.cv)]) {
          const snapshot = new Map<string, MVersion>();
          for (const v of log) if (v.cv <= point) snapshot.set(v.id, v);
          const want = [...snapshot.values()]
            .filter((v) => !v.deleted)
            .sort((a, b) => (a.id < b.id ? -1 : 1))
            .map((v) => ({ id: v.id, data: v.data }));
          const got = await c.listAsOf({ cv: point }, { limit: 1000 });
          expect(got.pageToken).toBeUndefined();
          expect(got.items.map((r) => ({ id: r.id, data: dataOf(r) }))).toEqual(want);
          const feed = await c.changes({ afterCv: point, limit: 1000 });
          expect(feed.items.map((e) => [e.id, e.ov, e.cv, e.op, e.deleted])).toEqual(
            log.filter((v) => v.cv > point).map((v) => [v.id, v.ov, v.cv, v.op, v.deleted]),
          );
        }
        // diff between versions of each record, applied, gives the target
        for (const id of ids) {
          const vs = chain(id);
          for (const a of vs) {
            const b = vs[(a.ov * 7 + 3) % vs.length]!;
            const { patch } = await c.diff(id, { ov: a.ov }, { ov: b.ov });
            const doc = structuredClone(a.data);
            applyPatch(doc, patch);
            expect(doc).toEqual(b.data);
          }
        }
      }),
      { numRuns: t.name === 'embedded' ? 30 : 10 },
    );
  }, 300_000);
});
