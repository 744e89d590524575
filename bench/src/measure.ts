/**
 * Side-by-side measurement: two implementations of the same operation ("ours"
 * and "raw") run in alternating batches (A B B A A B ...) in one process
 * against the same servers, so that noise lands on both. Each side gets its
 * own latencies, CPU time, peak RSS and round-trip counts (read from the
 * adapters' counters before and after each of its batches).
 */
import { performance } from 'node:perf_hooks';

/** Round-trip counters of one side (monotonic totals). */
export interface Counters {
  mongo(): number;
  s3(): number;
}

export interface Side {
  /** Runs operation number `i` of this side (0-based, per side). */
  op(i: number): Promise<void>;
  counters: Counters;
}

export interface SideResult {
  ops: number;
  /** Sum of the wall time of this side's batches. */
  wallMs: number;
  opsPerSec: number;
  meanMs: number;
  p50Ms: number;
  p99Ms: number;
  cpuMsPerOp: number;
  peakRssMb: number;
  /** Metadata round trips (Mongo commands, or SQLite statements for the embedded table) per operation. */
  mongoCmdsPerOp: number;
  /** Payload round trips (S3 requests, or file operations for the embedded table) per operation. */
  s3ReqsPerOp: number;
}

export interface PairOptions {
  /** Operations per side. */
  ops: number;
  /** Operations per batch before switching sides. */
  batch: number;
  /** Operations in flight within a batch (clients). */
  concurrency: number;
  /** Operations per side run first and not measured (indices from `ops` on): the JIT and caches warm on both. */
  warmup?: number;
}

/** Peak RSS sampler: attributes samples to whichever side is running. */
class RssSampler {
  private timer: NodeJS.Timeout | undefined;
  private current: { peak: number } | undefined;
  start(): void {
    this.timer = setInterval(() => this.sample(), 10);
    this.timer.unref();
  }
  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }
  attach(target: { peak: number } | undefined): void {
    this.sample();
    this.current = target;
    this.sample();
  }
  sample(): void {
    if (!this.current) return;
    const rss = process.memoryUsage.rss();
    if (rss > this.current.peak) this.current.peak = rss;
  }
}

const sampler = new RssSampler();
let samplerUsers = 0;

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx]!;
}

interface Acc {
  lat: number[];
  wallMs: number;
  cpuUs: number;
  mongo: number;
  s3: number;
  rss: { peak: number };
  done: number;
}

const newAcc = (): Acc => ({ lat: [], wallMs: 0, cpuUs: 0, mongo: 0, s3: 0, rss: { peak: 0 }, done: 0 });

/** Runs `n` operations of one side, `concurrency` at a time, accumulating into `acc`. */
async function runBatch(side: Side, acc: Acc, n: number, concurrency: number): Promise<void> {
  const m0 = side.counters.mongo();
  const s0 = side.counters.s3();
  const c0 = process.cpuUsage();
  sampler.attach(acc.rss);
  const t0 = performance.now();
  let next = 0;
  const first = acc.done;
  const worker = async () => {
    for (;;) {
      const k = next++;
      if (k >= n) return;
      const s = performance.now();
      await side.op(first + k);
      acc.lat.push(performance.now() - s);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
  acc.wallMs += performance.now() - t0;
  sampler.attach(undefined);
  const c = process.cpuUsage(c0);
  acc.cpuUs += c.user + c.system;
  acc.mongo += side.counters.mongo() - m0;
  acc.s3 += side.counters.s3() - s0;
  acc.done += n;
}

export function summarize(acc: { lat: number[]; wallMs: number; cpuUs: number; mongo: number; s3: number; rssPeak: number; ops: number }): SideResult {
  const sorted = [...acc.lat].sort((a, b) => a - b);
  const ops = acc.ops;
  const round = (x: number, d = 3) => Number(x.toFixed(d));
  return {
    ops,
    wallMs: round(acc.wallMs, 1),
    opsPerSec: round(acc.wallMs > 0 ? (ops * 1000) / acc.wallMs : 0, 1),
    meanMs: round(ops ? acc.wallMs / ops : 0),
    p50Ms: round(percentile(sorted, 50)),
    p99Ms: round(percentile(sorted, 99)),
    cpuMsPerOp: round(ops ? acc.cpuUs / 1000 / ops : 0),
    peakRssMb: round(acc.rssPeak / 1024 / 1024, 1),
    mongoCmdsPerOp: round(ops ? acc.mongo / ops : 0, 2),
    s3ReqsPerOp: round(ops ? acc.s3 / ops : 0, 2),
  };
}

/**
 * A side measured only by the wall time of one run of `ops` operations (bulk calls, copies):
 * no latency distribution, CPU time or round-trip counts (NaN).
 */
export function wallOnly(ops: number, wallMs: number): SideResult {
  return {
    ops,
    wallMs: Number(wallMs.toFixed(1)),
    opsPerSec: Number((ops / (wallMs / 1000)).toFixed(1)),
    meanMs: wallMs / ops,
    p50Ms: NaN,
    p99Ms: NaN,
    cpuMsPerOp: NaN,
    peakRssMb: process.memoryUsage().rss / 2 ** 20,
    mongoCmdsPerOp: NaN,
    s3ReqsPerOp: NaN,
  };
}

const finish = (a: Acc): SideResult => summarize({ ...a, rssPeak: a.rss.peak, ops: a.done });

export function startSampler(): void {
  if (samplerUsers++ === 0) sampler.start();
}
export function stopSampler(): void {
  if (--samplerUsers === 0) sampler.stop();
}

/** Interleaves the two sides batch by batch (ABBA order, so drift cancels) and summarizes each. */
export async function runPair(ours: Side, raw: Side, o: PairOptions): Promise<{ ours: SideResult; raw: SideResult }> {
  const a = newAcc();
  const b = newAcc();
  for (let k = 0; k < (o.warmup ?? 0); k++) {
    await ours.op(o.ops + k);
    await raw.op(o.ops + k);
  }
  startSampler();
  try {
    let round = 0;
    while (a.done < o.ops || b.done < o.ops) {
      const order: Array<[Side, Acc]> =
        round % 2 === 0
          ? [
              [ours, a],
              [raw, b],
            ]
          : [
              [raw, b],
              [ours, a],
            ];
      for (const [side, acc] of order) {
        const n = Math.min(o.batch, o.ops - acc.done);
        if (n > 0) await runBatch(side, acc, n, o.concurrency);
      }
      round++;
    }
  } finally {
    stopSampler();
  }
  return { ours: finish(a), raw: finish(b) };
}

/**
 * Measures one long operation (e.g. restoreCollection) that counts as `units`
 * operations: one latency sample per unit is its mean; p50/p99 are of the
 * per-run means.
 */
export async function measureOnce(
  side: Side,
  units: number,
  run: () => Promise<void>,
): Promise<{ wallMs: number; cpuUs: number; mongo: number; s3: number; rssPeak: number; rssStart: number }> {
  const rss = { peak: 0 };
  const m0 = side.counters.mongo();
  const s0 = side.counters.s3();
  startSampler();
  const rssStart = process.memoryUsage.rss();
  const c0 = process.cpuUsage();
  sampler.attach(rss);
  const t0 = performance.now();
  try {
    await run();
  } finally {
    sampler.attach(undefined);
    stopSampler();
  }
  const wallMs = performance.now() - t0;
  const c = process.cpuUsage(c0);
  void units;
  return { wallMs, cpuUs: c.user + c.system, mongo: side.counters.mongo() - m0, s3: side.counters.s3() - s0, rssPeak: rss.peak, rssStart };
}

/** Runs `items` through `fn`, `limit` at a time (setup work, not measured). */
export async function pool<T>(items: readonly T[], limit: number, fn: (x: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    for (;;) {
      const k = next++;
      if (k >= items.length) return;
      await fn(items[k]!, k);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
