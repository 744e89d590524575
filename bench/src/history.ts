/**
 * History workloads on the remote stores (issue 16): a `changes` page of 100, a `listAsOf`
 * page at two depths, and `diff` of two 64 KB versions, each against the raw driver doing the
 * same query on the same collections.
 *
 * Seeding: each record is created through the engine (its payload in S3), then its chain is
 * extended to the depth by inserting version documents in bulk with the raw driver (pointer
 * versions to the same payload, the way delete/restore versions are, cvs interleaved across
 * records like concurrent writers' would be) and the heads moved to the last one. Writing
 * 20,000 versions through the engine would take longer than the bench.
 */
import { GetObjectCommand } from '@aws-sdk/client-s3';
import type { Document } from 'mongodb';
import { physicalName, type CollectionMap } from '@chronos-db/core';
import { runPair, type Side, type SideResult } from './measure.js';
import { selected, type BenchOptions, type Target, type WorkloadResult } from './options.js';
import type { RemoteSetup } from './remote-env.js';
import { payload, type Log } from './remote.js';

const MAP: CollectionMap = { indexedProps: ['grp', 'n'] };
const ratioOf = (ours: SideResult, raw: SideResult) => Number((raw.opsPerSec > 0 ? ours.opsPerSec / raw.opsPerSec : 0).toFixed(3));

export async function runHistoryWorkloads(s: RemoteSetup, opts: BenchOptions, log: Log = () => {}): Promise<WorkloadResult[]> {
  const out: WorkloadResult[] = [];
  const oursSide = (op: (i: number) => Promise<void>): Side => ({ op, counters: s.ours.counters });
  const rawSide = (op: (i: number) => Promise<void>): Side => ({ op, counters: s.raw.counters });
  const pair = { batch: opts.batch, concurrency: 1, ops: opts.pageOps };
  const push = (r: WorkloadResult) => {
    out.push(r);
    log(
      `  ${r.name}: ours ${r.ours.opsPerSec} ops/s, raw ${r.raw.opsPerSec} ops/s, ratio ${r.ratio}${r.targets.length ? ` (${r.targets.map((t) => `${t.met ? 'met' : 'MISSED'} ${t.what} ${t.value}`).join('; ')})` : ''}`,
    );
  };
  const db = s.raw.mongo.db(s.dbName);
  const getJson = async (key: string) => {
    const o = await s.raw.s3.send(new GetObjectCommand({ Bucket: s.ours.buckets.jsonBucket, Key: key }));
    const b = await o.Body!.transformToByteArray();
    return JSON.parse(Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8')) as unknown;
  };

  const records = Math.max(2, opts.pageSize);
  const hi = Math.min(1000, Math.max(10, ...opts.depths));
  const depths = [10, hi];
  const wantAsOf = depths.some((d) => selected(opts, `list-as-of-d${d}`));
  const wantChanges = selected(opts, 'changes-p100');
  const seeded = new Map<number, { coll: string; midCv: number }>();
  const seed = async (depth: number) => {
    const r = await seedChains(s, `hist_d${depth}`, records, depth, log);
    seeded.set(depth, r);
    return r;
  };

  // ------------------------------------------------------------- listAsOf at two depths
  const pageTimes: Record<number, number> = {};
  if (wantAsOf || wantChanges) {
    for (const d of depths) {
      const label = `list-as-of-d${d}`;
      if (!selected(opts, label) && !(wantChanges && d === hi)) continue;
      const { coll, midCv } = seeded.get(d) ?? (await seed(d));
      if (!selected(opts, label)) continue;
      const e = s.ours.engine(coll, MAP);
      const name = physicalName(e.ns);
      const ver = db.collection<Document>(`${name}_ver`);
      const head = db.collection<Document>(`${name}_head`);
      const oursPage = async () => {
        const p = await e.listAsOf({ cv: midCv }, { limit: records });
        if (p.items.length !== records) throw new Error(`${label}: ${p.items.length} items`);
      };
      const rawPage = async () => {
        // the same plan, raw: a page of heads, each record's version as of cv (indexed query), its payload
        const hs = await head.find({}).sort({ _id: 1 }).limit(records).project({ _id: 1 }).toArray();
        await Promise.all(
          hs.map(async (h) => {
            const v = await ver
              .find({ itemId: h._id, cv: { $lte: midCv } })
              .sort({ cv: -1 })
              .limit(1)
              .next();
            await getJson(v!.jsonKey as string);
          }),
        );
      };
      // one untimed page each: a store's first heads query of a namespace looks for interrupted
      // commits (on FerretDB a scan of every version, once; storage-mongo heads.ts)
      await oursPage();
      await rawPage();
      const r = await runPair(oursSide(oursPage), rawSide(rawPage), pair);
      pageTimes[d] = r.ours.meanMs;
      const ratio = ratioOf(r.ours, r.raw);
      const targets: Target[] = [];
      if (opts.checkTargets && d === hi && pageTimes[10]) {
        const rel = Number((r.ours.meanMs / pageTimes[10]).toFixed(3));
        targets.push({ what: `page time at ${hi} / at 10 versions per record <= 1.5`, value: rel, max: 1.5, met: rel <= 1.5 });
      }
      push({
        table: 'remote',
        name: label,
        ...r,
        ratio,
        baseline: `raw: heads page (${records}) + per record find({ itemId, cv <= C }).sort(cv -1).limit(1) + GetObject; one untimed page each first`,
        targets,
        notes: { records, depth: d },
      });
    }
  }

  // ------------------------------------------------------------- changes page of 100
  if (wantChanges) {
    const { coll, midCv } = seeded.get(hi)!;
    const e = s.ours.engine(coll, MAP);
    const ver = db.collection<Document>(`${physicalName(e.ns)}_ver`);
    const r = await runPair(
      oursSide(async () => {
        const p = await e.changes({ afterCv: midCv, limit: 100 });
        if (p.items.length === 0) throw new Error('changes: empty page');
      }),
      rawSide(async () => {
        await ver
          .find({ cv: { $gt: midCv } })
          .sort({ cv: 1 })
          .limit(100)
          .toArray();
      }),
      pair,
    );
    const ratio = ratioOf(r.ours, r.raw);
    push({
      table: 'remote',
      name: 'changes-p100',
      ...r,
      ratio,
      baseline: 'raw: find({ cv > C }).sort(cv 1).limit(100) on the version collection',
      targets: opts.checkTargets ? [{ what: 'ours/raw >= 0.8', value: ratio, min: 0.8, met: ratio >= 0.8 }] : [],
      notes: { versions: records * (hi + 1) },
    });
  }

  // ------------------------------------------------------------- diff of two 64 KB versions
  if (selected(opts, 'diff-64k')) {
    const e = s.ours.engine('hist_diff', MAP);
    const a = payload(1, 64 * 1024);
    const { id } = await e.create(a);
    await e.update(id, { ...a, n: 2, name: 'changed', tags: ['a', 'c'] });
    const ver = db.collection<Document>(`${physicalName(e.ns)}_ver`);
    const keys = (await ver.find({ itemId: id }).sort({ ov: 1 }).toArray()).map((d) => d.jsonKey as string);
    const r = await runPair(
      oursSide(async () => {
        const d = await e.diff(id, { ov: 0 }, { ov: 1 });
        if (d.patch.length === 0) throw new Error('diff: empty patch');
      }),
      rawSide(async () => {
        await Promise.all([ver.findOne({ _id: `${id}:0` } as Document), ver.findOne({ _id: `${id}:1` } as Document)]);
        await Promise.all(keys.map(getJson));
      }),
      pair,
    );
    push({
      table: 'remote',
      name: 'diff-64k',
      ...r,
      ratio: ratioOf(r.ours, r.raw),
      baseline: 'raw: two findOne(version by _id) + two GetObject + JSON.parse (no patch computed)',
      targets: [],
    });
  }
  return out;
}

/**
 * `records` records created through the engine (1 KB payloads in S3), each chain then extended
 * to `depth` raw (see the header); returns the collection and a cv in the middle of the chains.
 */
export async function seedChains(s: RemoteSetup, coll: string, records: number, depth: number, log: Log = () => {}): Promise<{ coll: string; midCv: number }> {
  const db = s.raw.mongo.db(s.dbName);
  const e = s.ours.engine(coll, MAP);
  log(`  (setup: ${records} records with ${depth + 1} versions each)`);
  const ids: string[] = [];
  for (let i = 0; i < records; i++) ids.push((await e.create(payload(i, 1024))).id);
  const name = physicalName(e.ns);
  const ver = db.collection<Document>(`${name}_ver`);
  const head = db.collection<Document>(`${name}_head`);
  const firsts = await ver.find({ ov: 0 }).toArray();
  const byId = new Map(firsts.map((d) => [d.itemId as string, d]));
  const base = Math.max(...firsts.map((d) => d.cv as number));
  const t0 = Date.now();
  const docs: Document[] = [];
  for (let ov = 1; ov <= depth; ov++) {
    for (const [i, id] of ids.entries()) {
      const f = byId.get(id)!;
      const { _id, _h, ...rest } = f;
      void _id;
      void _h;
      docs.push({ ...rest, _id: `${id}:${ov}`, ov, cv: base + (ov - 1) * records + i + 1, op: 'UPDATE', at: t0 + ov });
    }
  }
  log(`  (setup: ${ids.length} created; inserting ${docs.length} versions)`);
  // 20 per command: FerretDB 1.24 holds resources per statement until a command ends (see storage-mongo heads.ts)
  for (let k = 0; k < docs.length; k += 20) await ver.insertMany(docs.slice(k, k + 20), { ordered: false });
  for (const id of ids) {
    const last = docs[(depth - 1) * records + ids.indexOf(id)]!;
    const { _id, _ca, ...h } = last;
    void _id;
    void _ca;
    await head.updateOne({ _id: id } as Document, { $set: h });
  }
  return { coll, midCv: base + (Math.floor(depth / 2) - 1) * records + records };
}
