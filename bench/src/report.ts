/** Markdown tables and the JSON file. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchReport, WorkloadResult } from './options.js';

const f = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '-');

function table(rows: WorkloadResult[], withTrips: boolean): string {
  const head = [
    'workload',
    'side',
    'ops',
    'ops/s',
    'p50 ms',
    'p99 ms',
    'CPU ms/op',
    'peak RSS MB',
    ...(withTrips ? ['Mongo cmds/op', 'S3 req/op', 'bytes/version (meta + payload)'] : []),
    'ratio',
    'target',
  ];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const r of rows) {
    const target = r.targets.length ? r.targets.map((t) => `${t.met ? 'met' : '**missed**'}: ${t.what} (${t.value})`).join('; ') : '';
    for (const [side, s] of [
      ['ours', r.ours],
      ['raw', r.raw],
    ] as const) {
      const bpv = r.bytesPerVersion ? `${r.bytesPerVersion[side].meta} + ${r.bytesPerVersion[side].payload}` : '';
      lines.push(
        `| ${side === 'ours' ? r.name : ''} | ${side} | ${s.ops} | ${f(s.opsPerSec)} | ${f(s.p50Ms, 2)} | ${f(s.p99Ms, 2)} | ${f(s.cpuMsPerOp, 2)} | ${f(s.peakRssMb, 0)} | ${
          withTrips ? `${f(s.mongoCmdsPerOp, 2)} | ${f(s.s3ReqsPerOp, 2)} | ${bpv} | ` : ''
        }${side === 'ours' ? f(r.ratio, 2) : ''} | ${side === 'ours' ? target : ''} |`,
      );
    }
  }
  return lines.join('\n');
}

export function renderMarkdown(rep: BenchReport): string {
  const remote = rep.results.filter((r) => r.table === 'remote');
  const local = rep.results.filter((r) => r.table === 'local');
  const parts: string[] = [];
  if (remote.length) {
    parts.push(`### chronos-db vs raw mongodb + @aws-sdk/client-s3 (${rep.servers ? `${rep.servers.mongo}, ${rep.servers.s3}` : ''}; preset ${rep.preset})`);
    parts.push(table(remote, true));
    const restore = remote.find((r) => r.name.startsWith('restore-'));
    if (restore?.notes) {
      const n = restore.notes as Record<string, number>;
      parts.push(
        `restoreCollection memory: peak RSS ${n.rssPeakAtQuarterMb} MB after 25% of the records, ${n.rssPeakAtEndMb} MB at the end (growth ${n.rssGrowthQuarterToEndMb} MB).`,
      );
    }
  }
  if (local.length) {
    parts.push('### Embedded default (storage-local) vs raw better-sqlite3 + node:fs');
    parts.push(table(local, false));
    const gc = local.find((r) => r.name.startsWith('local-gc-'));
    if (gc?.notes) {
      const growth = Object.entries(gc.notes)
        .filter(([k]) => k.startsWith('rssGrowthAt'))
        .map(([k, v]) => `${k.slice('rssGrowthAt'.length, -2)} orphans: +${v} MB`);
      parts.push(`collectGarbage memory (peak RSS above the start of the run): ${growth.join(', ')}.`);
    }
  }
  for (const r of rep.results) if (typeof r.notes?.line === 'string') parts.push(`${r.name}: ${r.notes.line}`);
  const targets = rep.results.flatMap((r) => r.targets.map((t) => ({ r, t })));
  if (targets.length) {
    const met = targets.filter((x) => x.t.met).length;
    parts.push(
      `Targets met: ${met} of ${targets.length}.${targets
        .filter((x) => !x.t.met)
        .map((x) => ` Missed: ${x.r.name} ${x.t.what} = ${x.t.value}.`)
        .join('')}`,
    );
  }
  return `${parts.join('\n\n')}\n`;
}

/** Writes `<dir>/<timestamp>.json`; returns its path. */
export function writeJson(rep: BenchReport, dir: string): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${rep.startedAt.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(rep, null, 2)}\n`);
  return file;
}
