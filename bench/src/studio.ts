/**
 * The studio's first timeline page of a long record (issue 14), on the embedded store: one
 * record with `studioVersions` versions (10,000 in the full and quick presets), its newest 50
 * versions as the record page asks for them (GET api/history through the studio: token check,
 * the history call, shaping, redaction, JSON) against the paged `history` call it wraps plus its
 * rendering to JSON, served by a bare node:http server over the same loopback with the same
 * client (so the ratio is what the studio adds, not what HTTP costs). Target: studio / bare
 * time <= 1.5. The call alone, in process, is reported as a note.
 *
 * With target checks (not --smoke) and a Chromium on the machine (Debian's `chromium`, or
 * CHRONOS_CHROMIUM), it also opens the record page in headless Chromium and reports the mean
 * time until the 50 timeline rows are on screen (page, script, four API calls, rendering), as a
 * note: that is what a person waits for.
 */
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { initChronos } from 'chronos-db';
import { startStudio } from '@chronos-db/studio';
import { runPair, type Counters, type Side } from './measure.js';
import { selected, type BenchOptions, type Target, type WorkloadResult } from './options.js';
import type { Log } from './remote.js';

const NONE: Counters = { mongo: () => 0, s3: () => 0 };
const PAGE = 50; // what the record page asks for
const BROWSER_LOADS = 10;

export async function runLocalStudio(opts: BenchOptions, dir: string, log: Log = () => {}): Promise<WorkloadResult[]> {
  const n = opts.studioVersions;
  const name = `local-studio-timeline-${n >= 1000 ? `${n / 1000}k` : n}`;
  if (!selected(opts, name)) return [];
  const chronos = initChronos({ localStorage: { enabled: true, basePath: join(dir, 'studio') }, logging: { level: 'error' } });
  const col = chronos.with({ dbName: 'bench', collection: 'timeline' });
  const studio = await startStudio({ chronos, contexts: [{ dbName: 'bench', collections: ['timeline'] }], port: 0 });
  try {
    log(`  (setup: one record with ${n} versions)`);
    const { id } = (await col.create({ n: 0, name: 'long', tags: ['a', 'b'] })) as { id: string };
    for (let v = 1; v < n; v++) await col.update(id, { n: v, name: 'long', tags: ['a', 'b'] }, v - 1, 'bench', `step ${v}`);
    const url = `${studio.url}api/history?${new URLSearchParams({ c: '0', col: 'timeline', id, limit: String(PAGE) })}`;
    // the history call it wraps plus its rendering to JSON, served over the same loopback HTTP by a bare node:http server
    const bare = createServer((_req, res) => {
      col.history(id, { limit: PAGE }).then(
        (p) => {
          res.writeHead(200, { 'Content-Type': 'application/json' });
          res.end(JSON.stringify(p));
        },
        (e: Error) => {
          res.writeHead(500);
          res.end(e.message);
        },
      );
    });
    await new Promise<void>((r) => bare.listen(0, '127.0.0.1', r));
    const bareUrl = `http://127.0.0.1:${(bare.address() as AddressInfo).port}/`;
    const getPage = (u: string, what: string): Side => ({
      counters: NONE,
      op: async () => {
        const r = await fetch(u);
        const body = (await r.json()) as { items: unknown[] };
        if (r.status !== 200 || body.items.length !== Math.min(PAGE, n)) throw new Error(`${what}: ${r.status}, ${body.items?.length} items`);
      },
    });
    let r;
    try {
      r = await runPair(getPage(url, 'studio'), getPage(bareUrl, 'bare'), { batch: opts.batch, concurrency: 1, ops: opts.localOps });
    } finally {
      bare.close();
    }
    // and the call alone, in process (a note)
    const t0 = performance.now();
    const calls = Math.max(10, Math.min(opts.localOps, 500));
    for (let i = 0; i < calls; i++) await col.history(id, { limit: PAGE });
    const historyCallMs = Number(((performance.now() - t0) / calls).toFixed(3));
    const timeRatio = Number((r.raw.meanMs > 0 ? r.ours.meanMs / r.raw.meanMs : 0).toFixed(3));
    const targets: Target[] = opts.checkTargets
      ? [{ what: 'studio / bare history server time of the first page <= 1.5', value: timeRatio, max: 1.5, met: timeRatio <= 1.5 }]
      : [];
    const notes: Record<string, unknown> = { versions: n, pageSize: PAGE, timeRatio, historyCallMs };
    if (opts.checkTargets) Object.assign(notes, await browserOpen(`${studio.url}#/c/0/timeline/r/${encodeURIComponent(id)}`, log));
    const result: WorkloadResult = {
      table: 'local',
      name,
      ...r,
      ratio: Number((r.raw.opsPerSec > 0 ? r.ours.opsPerSec / r.raw.opsPerSec : 0).toFixed(3)),
      baseline: `raw: GET of a bare node:http server answering JSON.stringify(await col.history(id, { limit: ${PAGE} })) (ours: GET api/history of the studio); same client, same loopback`,
      targets,
      notes,
    };
    log(
      `  ${name}: studio ${r.ours.meanMs} ms, bare history server ${r.raw.meanMs} ms, time ratio ${timeRatio}; history call in process ${historyCallMs} ms${notes.browserOpenMs ? `; page open in Chromium ${notes.browserOpenMs} ms` : ''}`,
    );
    return [result];
  } finally {
    await studio.close();
    await chronos.admin.shutdown();
  }
}

/** Mean time from navigation until the 50 timeline rows are in the page, in headless Chromium (skipped without one). */
async function browserOpen(url: string, log: Log): Promise<Record<string, unknown>> {
  const exe = process.env.CHRONOS_CHROMIUM || ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
  if (!exe) {
    log('  (no Chromium: the page-open time is not measured)');
    return { browser: 'not measured: no Chromium' };
  }
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: exe, headless: true });
  try {
    const page = await browser.newPage();
    const times: number[] = [];
    for (let i = 0; i <= BROWSER_LOADS; i++) {
      await page.goto('about:blank'); // a real load each time, not a hash change
      const t0 = performance.now();
      await page.goto(url);
      await page.waitForFunction((k) => document.querySelectorAll('#timeline tbody tr[data-ov]').length === k, PAGE);
      if (i > 0) times.push(performance.now() - t0); // the first load warms the server up
    }
    return { browserOpenMs: Number((times.reduce((a, b) => a + b, 0) / times.length).toFixed(1)), browserLoads: times.length };
  } finally {
    await browser.close();
  }
}

declare const document: { querySelectorAll(s: string): { length: number } };
