/**
 * The workloads of BENCHMARKS.md on the remote stores (MongoDB-compatible +
 * S3-compatible): chronos-db's CollectionEngine against the raw drivers doing
 * the minimum same work ("Baselines"), interleaved batch by batch.
 */
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { BSON, type AnyBulkWriteOperation, type Collection, type Document } from 'mongodb';
import { keyPrefix, physicalName, type CollectionEngine, type CollectionMap } from '@chronos-db/core';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { measureOnce, pool, runPair, summarize, type Side, type SideResult } from './measure.js';
import { selected, type BenchOptions, type Target, type WorkloadResult } from './options.js';
import type { RemoteSetup } from './remote-env.js';

export type Log = (line: string) => void;

const MAP: CollectionMap = { indexedProps: ['grp', 'n'] };
const FILLER = 'lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor '.repeat(1200);

/** A JSON record of about `bytes` bytes (serialized). */
export function payload(i: number, bytes: number, grp = 'g'): Record<string, unknown> {
  const base = { grp, n: i, name: `item-${i}`, tags: ['a', 'b'], nested: { x: i, y: 'z' } };
  const room = Math.max(0, bytes - Buffer.byteLength(JSON.stringify(base)) - 12);
  return { ...base, text: FILLER.slice(0, room) };
}

const HEX64 = 'f'.repeat(64);

/** The raw side's version-sized document: the same fields chronos-db keeps per version. */
function rawVersion(id: string, ov: number, key: string, size: number, meta: Record<string, unknown>, op = 'UPDATE'): Document {
  return { _id: `${id}:${ov}`, itemId: id, ov, cv: ov, op, at: Date.now(), jsonKey: key, size, sha256: HEX64, metaIndexed: meta, deleted: false };
}

interface RawCols {
  head: Collection<Document>;
  ver: Collection<Document>;
}

class RawStore {
  constructor(private readonly s: RemoteSetup) {}
  cols(name: string): RawCols {
    const db = this.s.raw.mongo.db(this.s.dbName);
    return { head: db.collection(`raw_${name}_head`), ver: db.collection(`raw_${name}_ver`) };
  }
  /** raw write: one PutObject + one insertOne of a version-sized document + one updateOne of the head, sequentially. */
  async write(c: RawCols, name: string, id: string, ov: number, doc: Record<string, unknown>): Promise<void> {
    const key = `${name}/${id}/v${ov}/item.json`;
    const body = Buffer.from(JSON.stringify(doc));
    await this.s.raw.s3.send(
      new PutObjectCommand({ Bucket: this.s.raw.bucket, Key: key, Body: body, ContentLength: body.length, ContentType: 'application/json' }),
    );
    const v = rawVersion(id, ov, key, body.length, { grp: doc.grp, n: doc.n }, ov === 0 ? 'CREATE' : 'UPDATE');
    await c.ver.insertOne(v);
    const { _id, ...h } = v;
    void _id;
    await c.head.updateOne({ _id: id } as Document, { $set: h }, { upsert: true });
  }
  async get(key: string): Promise<unknown> {
    const out = await this.s.raw.s3.send(new GetObjectCommand({ Bucket: this.s.raw.bucket, Key: key }));
    const bytes = await out.Body!.transformToByteArray();
    return JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  }
  /** raw read: one findOne by _id + one GetObject. */
  async read(col: Collection<Document>, _id: string): Promise<unknown> {
    const d = await col.findOne({ _id } as Document);
    if (!d) throw new Error(`raw read: ${_id} missing`);
    return this.get(d.jsonKey as string);
  }
}

const ratioOf = (ours: SideResult, raw: SideResult) => Number((raw.opsPerSec > 0 ? ours.opsPerSec / raw.opsPerSec : 0).toFixed(3));

function minTarget(what: string, value: number, min: number): Target {
  return { what, value, min, met: value >= min };
}
function maxTarget(what: string, value: number, max: number): Target {
  return { what, value, max, met: value <= max };
}

/** Runs the selected remote workloads; returns one result per workload. */
export async function runRemoteWorkloads(s: RemoteSetup, opts: BenchOptions, log: Log = () => {}): Promise<WorkloadResult[]> {
  const out: WorkloadResult[] = [];
  const raw = new RawStore(s);
  const oursSide = (op: (i: number) => Promise<void>): Side => ({ op, counters: s.ours.counters });
  const rawSide = (op: (i: number) => Promise<void>): Side => ({ op, counters: s.raw.counters });
  const pair = { batch: opts.batch, concurrency: 1 };
  const push = (r: WorkloadResult) => {
    out.push(r);
    log(
      `  ${r.name}: ours ${r.ours.opsPerSec} ops/s, raw ${r.raw.opsPerSec} ops/s, ratio ${r.ratio}${r.targets.length ? ` (${r.targets.map((t) => `${t.met ? 'met' : 'MISSED'} ${t.what} ${t.value}`).join('; ')})` : ''}`,
    );
  };

  // Warm-up: connections, indexes, capability detection on both sides (not measured).
  {
    const e = s.ours.engine('warmup', MAP);
    const c = raw.cols('warmup');
    for (let i = 0; i < 3; i++) {
      const r = await e.create(payload(i, 1024));
      await e.getLatest(r.id);
      await raw.write(c, 'warmup', `w${i}`, 0, payload(i, 1024));
      await raw.read(c.head, `w${i}`);
    }
  }

  // Read pools (getLatest, getVersion at depth 0, mixed): filled by create-1k or seeded here.
  let oursPool: string[] = [];
  let rawPool: string[] = [];
  const poolCols = raw.cols('create1k');
  const ensurePool = async () => {
    if (oursPool.length && rawPool.length) return;
    const e = s.ours.engine('create1k', MAP);
    const n = Math.max(1, opts.pool);
    const ids = Array.from({ length: n }, (_, i) => i);
    await pool(ids, 16, async (i) => {
      oursPool[i] = (await e.create(payload(i, 1024))).id;
    });
    await pool(ids, 16, async (i) => {
      const id = `p${i}`;
      await raw.write(poolCols, 'create1k', id, 0, payload(i, 1024));
      rawPool[i] = id;
    });
  };

  // ---------------------------------------------------------------- create
  for (const [label, size] of [
    ['create-1k', 1024],
    ['create-64k', 64 * 1024],
  ] as const) {
    if (!selected(opts, label)) continue;
    const coll = label === 'create-1k' ? 'create1k' : 'create64k';
    const e = s.ours.engine(coll, MAP);
    const c = raw.cols(coll);
    const oursIds: string[] = [];
    const rawIds: string[] = [];
    const docs = Array.from({ length: 16 }, (_, i) => payload(i, size));
    const r = await runPair(
      oursSide(async (i) => {
        oursIds[i] = (await e.create(docs[i % docs.length]!)).id;
      }),
      rawSide(async (i) => {
        const id = `c${i}`;
        await raw.write(c, coll, id, 0, docs[i % docs.length]!);
        rawIds[i] = id;
      }),
      { ...pair, ops: opts.creates },
    );
    const bytes = await bytesPerVersion(s, coll, raw.cols(coll), coll);
    const ratio = ratioOf(r.ours, r.raw);
    const targets = opts.checkTargets
      ? [minTarget('ours/raw write throughput >= 0.70', ratio, 0.7), maxTarget('Mongo round trips per create <= 4', r.ours.mongoCmdsPerOp, 4)]
      : [];
    push({
      table: 'remote',
      name: label,
      ...r,
      ratio,
      baseline: 'raw write: PutObject + insertOne(version) + updateOne(head, upsert)',
      targets,
      bytesPerVersion: bytes,
    });
    if (label === 'create-1k') {
      oursPool = oursIds.slice(0, Math.max(1, opts.pool));
      rawPool = rawIds.slice(0, Math.max(1, opts.pool));
    }
  }

  // ---------------------------------------------------------------- update chains
  const deepIds = new Map<number, string>(); // depth -> ours record id with at least that many versions
  const chainCols = raw.cols('chains');
  /**
   * A chain of `depth` updates on each side: ours through the engine, the raw one as the same
   * number of version documents (one object PUT for the version the reads fetch), so both
   * sides read and write collections of the same size (FerretDB's cost grows with it).
   */
  const buildChain = async (depth: number): Promise<string> => {
    const have = deepIds.get(depth);
    if (have) return have;
    const e = s.ours.engine('chains', MAP);
    const { id } = await e.create(payload(0, 1024));
    for (let k = 1; k <= depth; k++) await e.update(id, payload(k, 1024));
    const rid = `chain-d${depth}`;
    const mid = Math.floor(depth / 2);
    const docs: Document[] = [];
    for (let k = 0; k <= depth; k++) {
      const body = JSON.stringify(payload(k, 1024));
      const key = `chains/${rid}/v${k}/item.json`;
      if (k === mid)
        await s.raw.s3.send(
          new PutObjectCommand({ Bucket: s.raw.bucket, Key: key, Body: body, ContentLength: Buffer.byteLength(body), ContentType: 'application/json' }),
        );
      docs.push(rawVersion(rid, k, key, Buffer.byteLength(body), { grp: 'g', n: k }, k === 0 ? 'CREATE' : 'UPDATE'));
    }
    for (let i = 0; i < docs.length; i += 1000) await chainCols.ver.insertMany(docs.slice(i, i + 1000));
    const { _id, ...h } = docs[docs.length - 1]!;
    void _id;
    await chainCols.head.insertOne({ _id: rid, ...h } as Document);
    deepIds.set(depth, id);
    return id;
  };
  for (const d of opts.depths) {
    const label = `update-d${d}`;
    if (!selected(opts, label)) continue;
    log(`  (setup: a chain of depth ${d})`);
    const id = await buildChain(d);
    const e = s.ours.engine('chains', MAP);
    const c = chainCols;
    const rid = `chain-d${d}`;
    const doc = payload(1, 1024);
    const r = await runPair(
      oursSide(async () => {
        await e.update(id, doc);
      }),
      rawSide(async (i) => {
        await raw.write(c, 'chains', rid, d + 1 + i, doc);
      }),
      { ...pair, ops: opts.updates },
    );
    const ratio = ratioOf(r.ours, r.raw);
    push({
      table: 'remote',
      name: label,
      ...r,
      ratio,
      baseline: 'raw write: PutObject + insertOne(version) + updateOne(head)',
      targets: opts.checkTargets ? [minTarget('ours/raw write throughput >= 0.70', ratio, 0.7)] : [],
    });
  }

  // ---------------------------------------------------------------- reads
  const readTargets = (ratio: number) => (opts.checkTargets ? [minTarget('ours/raw read throughput >= 0.80', ratio, 0.8)] : []);
  if (selected(opts, 'get-latest')) {
    await ensurePool();
    const e = s.ours.engine('create1k', MAP);
    const r = await runPair(
      oursSide(async (i) => {
        if (!(await e.getLatest(oursPool[i % oursPool.length]!))) throw new Error('getLatest returned null');
      }),
      rawSide(async (i) => {
        await raw.read(poolCols.head, rawPool[i % rawPool.length]!);
      }),
      { ...pair, ops: opts.reads },
    );
    const ratio = ratioOf(r.ours, r.raw);
    push({ table: 'remote', name: 'get-latest', ...r, ratio, baseline: 'raw read: findOne(head by _id) + GetObject', targets: readTargets(ratio) });
  }

  const lo = Math.min(...opts.depths);
  const hi = Math.max(...opts.depths);
  const depthRuns: Record<string, SideResult> = {};
  for (const kind of ['get-version', 'get-as-of'] as const) {
    for (const d of lo === hi ? [lo] : [lo, hi]) {
      const label = `${kind}-d${d}`;
      if (!selected(opts, label)) continue;
      await ensurePool();
      const id = await buildChain(d);
      const e = s.ours.engine('chains', MAP);
      // The version in the middle of the chain (ov 0 at depth 1): not the head, so the version index is used.
      const ov = Math.floor(d / 2);
      const at = Date.parse((await e.getVersion(id, ov, { includeMeta: true }))!._meta!.at as string);
      const r = await runPair(
        oursSide(async () => {
          const rec = kind === 'get-version' ? await e.getVersion(id, ov) : await e.getAsOf(id, at);
          if (!rec) throw new Error(`${label} returned null`);
        }),
        rawSide(async () => {
          await raw.read(chainCols.ver, `chain-d${d}:${ov}`);
        }),
        { ...pair, ops: opts.reads },
      );
      depthRuns[label] = r.ours;
      const ratio = ratioOf(r.ours, r.raw);
      const targets = readTargets(ratio);
      if (opts.checkTargets && d === hi && lo !== hi && depthRuns[`${kind}-d${lo}`]) {
        const rel = Number((r.ours.meanMs / depthRuns[`${kind}-d${lo}`]!.meanMs).toFixed(3));
        targets.push(maxTarget(`time at depth ${hi} / depth ${lo} <= 1.2`, rel, 1.2));
      }
      push({
        table: 'remote',
        name: label,
        ...r,
        ratio,
        baseline: 'raw read: findOne(version by _id) + GetObject, on a raw chain of the same depth',
        targets,
        notes: { ov, chainLength: deepIds.has(d) ? undefined : d },
      });
    }
  }

  // ---------------------------------------------------------------- smartInsert
  if (selected(opts, 'smart-insert')) {
    // `keys` distinct unique-key values: the first round creates, later rounds find and merge into the record.
    const keys = Math.max(1, Math.min(50, Math.floor(opts.updates / 2)));
    const e = s.ours.engine('smart', MAP);
    const c = raw.cols('smart');
    for (const prop of MAP.indexedProps) await c.head.createIndex({ [`metaIndexed.${prop}`]: 1, _id: 1 }, { name: `mi_${prop}` });
    const rawOv = new Map<number, number>();
    const r = await runPair(
      oursSide(async (i) => {
        await e.smartInsert(payload(i % keys, 1024), { uniqueKeys: ['n'] });
      }),
      rawSide(async (i) => {
        // raw smartInsert: find the head by the key (indexed), then either a create or a merge (GET the current payload, write the next version)
        const n = i % keys;
        const doc = payload(n, 1024);
        const found = await c.head.findOne({ 'metaIndexed.n': n }, { projection: { _id: 1, ov: 1, jsonKey: 1 } });
        if (!found) {
          await raw.write(c, 'smart', `s${n}`, 0, doc);
          rawOv.set(n, 0);
          return;
        }
        const current = (await raw.get(found.jsonKey as string)) as Record<string, unknown>;
        const ov = (rawOv.get(n) ?? (found.ov as number)) + 1;
        rawOv.set(n, ov);
        await raw.write(c, 'smart', String(found._id), ov, { ...current, ...doc });
      }),
      { ...pair, ops: opts.updates },
    );
    const ratio = ratioOf(r.ours, r.raw);
    push({
      table: 'remote',
      name: 'smart-insert',
      ...r,
      ratio,
      notes: { keys },
      baseline: 'raw smartInsert: findOne(head by indexed key) + (create | GetObject + merge + PutObject + insertOne(version) + updateOne(head))',
      targets: opts.checkTargets ? [minTarget('ours/raw write throughput >= 0.70', ratio, 0.7)] : [],
    });
  }

  // ---------------------------------------------------------------- listByMeta + restoreCollection (one seeded collection)
  const wantList = selected(opts, 'list-p1') || selected(opts, `list-p${opts.deepPage}`);
  const wantRestore = selected(opts, 'restore');
  if (wantList || wantRestore) {
    const need = Math.max(wantRestore ? opts.restoreN : 0, wantList ? Math.ceil((opts.deepPage * opts.pageSize + 1) / 0.9) + 2 : 0);
    log(`  (setup: ${need} records through chronos-db and through the raw drivers)`);
    const e = s.ours.engine('bulk', MAP);
    const rc = raw.cols('bulk');
    const grpOf = (i: number) => (i % 10 === 9 ? 'h' : 'g');
    const idx = Array.from({ length: need }, (_, i) => i);
    await pool(idx, 16, async (i) => {
      await e.create(payload(i, 1024, grpOf(i)));
    });
    const seedCv = await s.ours.meta.currentCv(e.ns);
    const rawHeads: Document[] = [];
    await pool(idx, 16, async (i) => {
      const id = `b${String(i).padStart(7, '0')}`;
      const doc = payload(i, 1024, grpOf(i));
      const key = `bulk/${id}/v0/item.json`;
      const body = Buffer.from(JSON.stringify(doc));
      await s.raw.s3.send(new PutObjectCommand({ Bucket: s.raw.bucket, Key: key, Body: body, ContentLength: body.length, ContentType: 'application/json' }));
      const { _id, ...rest } = rawVersion(id, 0, key, body.length, { grp: doc.grp, n: doc.n }, 'CREATE');
      rawHeads[i] = { _id: id, ...rest };
      void _id;
    });
    for (let i = 0; i < rawHeads.length; i += 1000) await rc.head.insertMany(rawHeads.slice(i, i + 1000));
    // the raw side gets the index chronos-db creates for each indexed property (storage-mongo context.ts)
    for (const prop of MAP.indexedProps) await rc.head.createIndex({ [`metaIndexed.${prop}`]: 1, _id: 1 }, { name: `mi_${prop}` });

    if (wantList) {
      const oursHead = s.raw.mongo.db(s.dbName).collection<Document>(`${physicalName(e.ns)}_head`);
      const skip = (opts.deepPage - 1) * opts.pageSize - 1;
      const oursAfter = (
        await oursHead
          .find({ 'metaIndexed.grp': 'g', deleted: { $ne: true } })
          .sort({ _id: 1 })
          .skip(skip)
          .limit(1)
          .project({ _id: 1 })
          .next()
      )?._id as string;
      const rawAfter = (await rc.head.find({ 'metaIndexed.grp': 'g' }).sort({ _id: 1 }).skip(skip).limit(1).project({ _id: 1 }).next())?._id as string;
      if (!oursAfter || !rawAfter) throw new Error('list setup: not enough records for the deep page');
      const lists: Record<number, SideResult> = {};
      for (const page of [1, opts.deepPage]) {
        const label = `list-p${page}`;
        if (!selected(opts, label)) continue;
        const r = await runPair(
          oursSide(async () => {
            const res = await e.listByMeta({ filter: { grp: 'g' }, limit: opts.pageSize, ...(page > 1 ? { afterId: oursAfter } : {}) });
            if (res.items.length !== opts.pageSize) throw new Error(`${label}: ${res.items.length} items`);
          }),
          rawSide(async () => {
            const q: Document = { 'metaIndexed.grp': 'g', ...(page > 1 ? { _id: { $gt: rawAfter } } : {}) };
            const docs = await rc.head.find(q).sort({ _id: 1 }).limit(opts.pageSize).toArray();
            await pool(docs, 8, async (d) => {
              await raw.get(d.jsonKey as string);
            });
            if (docs.length !== opts.pageSize) throw new Error(`raw ${label}: ${docs.length} items`);
          }),
          { ...pair, ops: opts.pageOps },
        );
        lists[page] = r.ours;
        const ratio = ratioOf(r.ours, r.raw);
        const targets: Target[] = [];
        if (opts.checkTargets && page > 1 && lists[1])
          targets.push(maxTarget(`time of page ${page} / page 1 <= 1.2`, Number((r.ours.meanMs / lists[1].meanMs).toFixed(3)), 1.2));
        push({
          table: 'remote',
          name: label,
          ...r,
          ratio,
          baseline: `raw page: find(filter, sort _id, limit ${opts.pageSize}${page > 1 ? ', keyset _id > after' : ''}) + GETs 8 at a time`,
          targets,
        });
      }
    }

    if (wantRestore) {
      const label = `restore-${opts.restoreN}`;
      // Both sides work on exactly restoreN records: ours restores the first restoreN heads in id order
      // (the collection may hold more for the list workloads), so seed ours with exactly restoreN when bigger.
      let target = e;
      let targetCv = seedCv;
      if (need > opts.restoreN) {
        log(`  (setup: ${opts.restoreN} records for restoreCollection)`);
        target = s.ours.engine('restore', MAP);
        await pool(
          Array.from({ length: opts.restoreN }, (_, i) => i),
          16,
          async (i) => {
            await target.create(payload(i, 1024));
          },
        );
        targetCv = await s.ours.meta.currentCv(target.ns);
      }
      const rawDocs = rawHeads.slice(0, opts.restoreN);
      const oursRuns: Array<Awaited<ReturnType<typeof measureOnce>>> = [];
      const rawRuns: Array<Awaited<ReturnType<typeof measureOnce>>> = [];
      const quarter: number[] = [];
      const full: number[] = [];
      const oursRestore = async (round: number) => {
        // Alternate targets: cv 0 (every record gets a delete version), then the seeded state (every record comes back).
        const to = round % 2 === 0 ? { cv: 0 } : { cv: targetCv };
        let peak = process.memoryUsage.rss();
        let q = 0;
        const m = await measureOnce({ op: async () => {}, counters: s.ours.counters }, opts.restoreN, async () => {
          const res = await target.restoreCollection(to, {
            parallel: opts.parallel,
            onProgress: (p) => {
              peak = Math.max(peak, process.memoryUsage.rss());
              if (!q && p.scanned >= opts.restoreN / 4) q = peak;
            },
          });
          if (res.restored !== opts.restoreN) throw new Error(`restoreCollection restored ${res.restored} of ${opts.restoreN}`);
        });
        quarter.push(q || peak);
        full.push(Math.max(peak, m.rssPeak));
        oursRuns.push(m);
      };
      // FerretDB 1.24 (SQLite) keeps one open query per statement of an update command until the
      // command ends: past ~100 statements its connection pool is exhausted and the command waits
      // forever for a connection (seen here with bulkWrite of 200 upserts). Heads go 50 per command there.
      const ferret = typeof (await s.raw.mongo.db('admin').command({ buildInfo: 1 })).ferretdbVersion === 'string';
      const headBatch = ferret ? 50 : 200;
      const rawBulk = async (round: number) => {
        const hc = rc.head;
        const vc = rc.ver;
        const m = await measureOnce({ op: async () => {}, counters: s.raw.counters }, opts.restoreN, async () => {
          for (let i = 0; i < rawDocs.length; i += 200) {
            const page = rawDocs.slice(i, i + 200);
            const vers: Document[] = [];
            await pool(page, opts.parallel, async (h) => {
              const id = h._id as string;
              const key = `bulk/${id}/r${round}/item.json`;
              const body = Buffer.from(JSON.stringify(payload(0, 1024)));
              await s.raw.s3.send(
                new PutObjectCommand({ Bucket: s.raw.bucket, Key: key, Body: body, ContentLength: body.length, ContentType: 'application/json' }),
              );
              vers.push(rawVersion(id, 1000 + round, key, body.length, h.metaIndexed as Record<string, unknown>, 'RESTORE'));
            });
            await vc.bulkWrite(
              vers.map((v) => ({ insertOne: { document: v } })),
              { ordered: false },
            );
            const ops: AnyBulkWriteOperation<Document>[] = vers.map((v) => {
              const { _id, ...rest } = v;
              void _id;
              return { updateOne: { filter: { _id: v.itemId } as Document, update: { $set: rest }, upsert: true } };
            });
            for (let j = 0; j < ops.length; j += headBatch) await hc.bulkWrite(ops.slice(j, j + headBatch), { ordered: false });
          }
        });
        rawRuns.push(m);
      };
      for (let round = 0; round < opts.restoreRounds; round++) {
        if (round % 2 === 0) {
          await oursRestore(round);
          await rawBulk(round);
        } else {
          await rawBulk(round);
          await oursRestore(round);
        }
      }
      const sum = (runs: typeof oursRuns) => {
        const n = opts.restoreN * runs.length;
        const perRec = runs.map((m) => m.wallMs / opts.restoreN);
        return summarize({
          lat: perRec,
          wallMs: runs.reduce((a, m) => a + m.wallMs, 0),
          cpuUs: runs.reduce((a, m) => a + m.cpuUs, 0),
          mongo: runs.reduce((a, m) => a + m.mongo, 0),
          s3: runs.reduce((a, m) => a + m.s3, 0),
          rssPeak: Math.max(...runs.map((m) => m.rssPeak)),
          ops: n,
        });
      };
      const ours = sum(oursRuns);
      const rawR = sum(rawRuns);
      const ratio = ratioOf(ours, rawR);
      const growthMb = Number(((Math.max(...full) - Math.max(...quarter)) / 1024 / 1024).toFixed(1));
      const targets = opts.checkTargets ? [minTarget('ours/raw bulk throughput >= 0.50', ratio, 0.5)] : [];
      push({
        table: 'remote',
        name: label,
        ours,
        raw: rawR,
        ratio,
        baseline: `raw bulk: ${opts.restoreN} PUTs ${opts.parallel} at a time + bulkWrite of versions per 200 and heads per ${headBatch}`,
        targets,
        notes: {
          records: opts.restoreN,
          rounds: opts.restoreRounds,
          parallel: opts.parallel,
          rssPeakAtQuarterMb: Number((Math.max(...quarter) / 1048576).toFixed(1)),
          rssPeakAtEndMb: Number((Math.max(...full) / 1048576).toFixed(1)),
          rssGrowthQuarterToEndMb: growthMb,
          latency: 'p50/p99 are of the per-record mean of each run',
        },
      });
    }
  }

  // ---------------------------------------------------------------- mixed 80/20, 16 clients
  if (selected(opts, 'mixed')) {
    await ensurePool();
    const e = s.ours.engine('create1k', MAP);
    const doc = payload(7, 1024);
    let rawOv = 1_000_000;
    const pick = (i: number, n: number) => (i * 7919) % n;
    const r = await runPair(
      oursSide(async (i) => {
        const id = oursPool[pick(i, oursPool.length)]!;
        if (i % 5 === 4) await e.update(id, doc);
        else if (!(await e.getLatest(id))) throw new Error('mixed: getLatest returned null');
      }),
      rawSide(async (i) => {
        const id = rawPool[pick(i, rawPool.length)]!;
        if (i % 5 === 4) await raw.write(poolCols, 'create1k', id, rawOv++, doc);
        else await raw.read(poolCols.head, id);
      }),
      { batch: Math.max(opts.batch, opts.clients * 4), concurrency: opts.clients, ops: opts.mixedOps },
    );
    const ratio = ratioOf(r.ours, r.raw);
    push({
      table: 'remote',
      name: `mixed-80-20-c${opts.clients}`,
      ...r,
      ratio,
      baseline: `80% raw read / 20% raw write, ${opts.clients} concurrent clients`,
      targets: [],
    });
  }
  return out;
}

/** BSON bytes of the metadata documents and bytes of the payload objects, per version, of one collection on each side. */
async function bytesPerVersion(s: RemoteSetup, collection: string, rc: RawCols, rawPrefix: string): Promise<WorkloadResult['bytesPerVersion']> {
  const db = s.raw.mongo.db(s.dbName);
  const ns = { dbName: s.dbName, collection };
  const phys = physicalName(ns);
  const docBytes = async (c: Collection<Document>) => {
    let n = 0;
    let bytes = 0;
    for await (const d of c.find({})) {
      n++;
      bytes += BSON.calculateObjectSize(d);
    }
    return { n, bytes };
  };
  const objBytes = async (bucket: string, prefix: string) => {
    let bytes = 0;
    let token: string | undefined;
    do {
      const o = await s.raw.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
      for (const x of o.Contents ?? []) bytes += x.Size ?? 0;
      token = o.IsTruncated ? o.NextContinuationToken : undefined;
    } while (token);
    return bytes;
  };
  const oh = await docBytes(db.collection(`${phys}_head`));
  const ov = await docBytes(db.collection(`${phys}_ver`));
  const rh = await docBytes(rc.head);
  const rv = await docBytes(rc.ver);
  const oObj = await objBytes(s.ours.buckets.jsonBucket, keyPrefix(ns));
  const rObj = await objBytes(s.raw.bucket, `${rawPrefix}/`);
  const per = (x: number, n: number) => Math.round(n ? x / n : 0);
  return {
    ours: { meta: per(oh.bytes + ov.bytes, ov.n), payload: per(oObj, ov.n) },
    raw: { meta: per(rh.bytes + rv.bytes, rv.n), payload: per(rObj, rv.n) },
  };
}

export type { CollectionEngine };
