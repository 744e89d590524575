/** Bench options, presets and result types. */
import type { SideResult } from './measure.js';

export interface BenchOptions {
  /** Workload name prefixes to run (e.g. ['create', 'get-as-of']); empty = all. */
  workloads: string[];
  /** Operations per side for each create workload. */
  creates: number;
  /** Timed updates per side for each update-chain depth. */
  updates: number;
  /** Update-chain depths; reads "at depth" use the smallest and the largest. */
  depths: number[];
  /** Operations per side for each read workload. */
  reads: number;
  /** listByMeta page size, and the deep page compared with page 1. */
  pageSize: number;
  deepPage: number;
  /** Operations per side for each listByMeta workload. */
  pageOps: number;
  /** Records in restoreCollection (and its raw bulk baseline). */
  restoreN: number;
  /** restoreCollection runs per side (alternating with the raw bulk). */
  restoreRounds: number;
  /** restoreCollection `parallel`, and the raw bulk PUT concurrency. */
  parallel: number;
  /** Operations per side of the mixed 80/20 workload, and its concurrent clients. */
  mixedOps: number;
  clients: number;
  /** Operations per batch before the sides swap. */
  batch: number;
  /** Records in the read pool (getLatest, mixed) when no create workload provides one. */
  pool: number;
  /** Compare with the targets of BENCHMARKS.md (off for --smoke). */
  checkTargets: boolean;
  /** Embedded default (storage-local) table: operations per side per workload. */
  localOps: number;
  /** Orphan payloads for the collectGarbage workload (local-gc-N). */
  gcN: number;
  /** Versions of the record whose first timeline page the studio workload opens (local-studio-timeline-N). */
  studioVersions: number;
  /** Version rows of the retention workloads (local-rollup-N, local-prune-N, local-as-of-manifest-d1000): records of 1,000 versions. */
  lifecycleRows: number;
  /** Records exported and imported by the CLI workloads (local-cli-export-N, local-cli-import-N). */
  cliRecords: number;
  remote: boolean;
  local: boolean;
}

export const PRESETS: Record<'full' | 'quick' | 'smoke', BenchOptions> = {
  full: {
    workloads: [],
    creates: 500,
    updates: 200,
    depths: [1, 100, 1000],
    reads: 1000,
    pageSize: 50,
    deepPage: 100,
    pageOps: 60,
    restoreN: 10_000,
    restoreRounds: 2,
    parallel: 8,
    mixedOps: 3000,
    clients: 16,
    batch: 25,
    pool: 200,
    checkTargets: true,
    localOps: 2000,
    gcN: 100_000,
    studioVersions: 10_000,
    lifecycleRows: 100_000,
    cliRecords: 20_000,
    remote: true,
    local: true,
  },
  quick: {
    workloads: [],
    creates: 150,
    updates: 60,
    depths: [1, 100, 1000],
    reads: 300,
    pageSize: 50,
    deepPage: 20,
    pageOps: 30,
    restoreN: 1200,
    restoreRounds: 2,
    parallel: 8,
    mixedOps: 800,
    clients: 16,
    batch: 15,
    pool: 150,
    checkTargets: true,
    localOps: 500,
    gcN: 20_000,
    studioVersions: 10_000,
    lifecycleRows: 100_000,
    cliRecords: 10_000,
    remote: true,
    local: true,
  },
  smoke: {
    workloads: [],
    creates: 3,
    updates: 3,
    depths: [1, 3],
    reads: 3,
    pageSize: 3,
    deepPage: 3,
    pageOps: 2,
    restoreN: 12,
    restoreRounds: 1,
    parallel: 2,
    mixedOps: 10,
    clients: 4,
    batch: 2,
    pool: 5,
    checkTargets: false,
    localOps: 5,
    gcN: 50,
    studioVersions: 20,
    lifecycleRows: 1000,
    cliRecords: 50,
    remote: true,
    local: true,
  },
};

export interface Target {
  /** What is compared, e.g. 'ours/raw throughput' or 'time vs get-as-of-d1'. */
  what: string;
  /** The measured value. */
  value: number;
  min?: number;
  max?: number;
  met: boolean;
}

export interface WorkloadResult {
  table: 'remote' | 'local';
  name: string;
  /** One line on what each side does. */
  ours: SideResult;
  raw: SideResult;
  /** ours ops/s divided by raw ops/s. */
  ratio: number;
  baseline: string;
  targets: Target[];
  /** Bytes stored per version in each store (metadata documents, payload objects). */
  bytesPerVersion?: { ours: { meta: number; payload: number }; raw: { meta: number; payload: number } };
  notes?: Record<string, unknown>;
}

export interface BenchReport {
  startedAt: string;
  finishedAt: string;
  preset: string;
  options: BenchOptions;
  machine: { node: string; cpus: number; platform: string };
  servers?: { mongo: string; s3: string };
  results: WorkloadResult[];
}

export function selected(opts: BenchOptions, name: string): boolean {
  return opts.workloads.length === 0 || opts.workloads.some((w) => name === w || name.startsWith(w));
}
