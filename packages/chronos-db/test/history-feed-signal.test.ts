/**
 * watch({ changeStream: true }) in the engine, on the real embedded store wrapped with a change
 * signal (`openChangeSignal`) that fires after each commit, as a MongoDB change stream would: the
 * stream path's logic runs in CI although no server here has change streams.
 * - maxDelayMs is 10 minutes: the consumer can only see new versions in time through the signal
 *   (a wake-up that never comes fails by the test timeout, not by a timer assertion);
 * - the signal carries no data: versions committed while the consumer is not waiting, and a
 *   signal that fires before the stream is "listening", are still read by the cv query, once each;
 * - a lost signal falls back to polling with backoff (logged), still exact;
 * - aborting closes the signal.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CollectionEngine, type ChangeEntry, type ChangeSignalListener, type MetadataStore } from '@chronos-db/core';
import { createLocalStorage } from '@chronos-db/storage-local';

function withSignal(meta: MetadataStore) {
  const listeners = new Set<ChangeSignalListener>();
  let closed = 0;
  const wrapped: MetadataStore = Object.assign(Object.create(meta) as MetadataStore, {
    async commit(...a: Parameters<MetadataStore['commit']>) {
      const r = await meta.commit(...a);
      for (const l of listeners) l.changed();
      return r;
    },
    async openChangeSignal(_ns: unknown, l: ChangeSignalListener) {
      listeners.add(l);
      l.changed(); // listening
      return {
        async close() {
          if (listeners.delete(l)) closed++;
        },
      };
    },
  });
  return { wrapped, listeners, closed: () => closed };
}

describe('watch({ changeStream: true }) on a signal (the embedded store, wrapped)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'chronos-feed-signal-'));
  const storage = createLocalStorage({ basePath: dir });
  afterAll(async () => {
    await storage.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('4 writers, 200 writes, then one after the consumer waits: each version once, in cv order, woken only by the signal; the signal closes on abort', async () => {
    const s = withSignal(storage.meta);
    const warnings: string[] = [];
    const logger = { debug() {}, info() {}, warn: (m: string) => void warnings.push(m), error() {} };
    const e = new CollectionEngine({ ns: { dbName: 'sig', collection: 'a' }, meta: s.wrapped, blobs: storage.blobs, logger });
    const ac = new AbortController();
    const got: ChangeEntry[] = [];
    const writers = Promise.all(
      Array.from({ length: 4 }, async (_, w) => {
        for (let i = 0; i < 50; i++) await e.create({ w, i });
      }),
    );
    const done = (async () => {
      for await (const x of e.watch({ changeStream: true, signal: ac.signal, minDelayMs: 10, maxDelayMs: 600_000, limit: 7 })) {
        got.push(x);
        if (got.length === 201) ac.abort();
      }
    })();
    await writers;
    // the consumer catches up and waits for the signal; one more write must wake it
    while (got.length < 200) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 100));
    await e.create({ last: true });
    await done;
    const cvs = got.map((x) => x.cv);
    expect(new Set(cvs).size).toBe(201);
    expect(cvs).toEqual([...cvs].sort((a, b) => a - b));
    expect(s.closed()).toBe(1);
    expect(s.listeners.size).toBe(0);
    expect(warnings).toEqual([]);
  }, 120_000);

  it('a lost signal: a warning, then polling with backoff, still exact', async () => {
    const s = withSignal(storage.meta);
    const warnings: string[] = [];
    const logger = { debug() {}, info() {}, warn: (m: string) => void warnings.push(m), error() {} };
    const e = new CollectionEngine({ ns: { dbName: 'sig', collection: 'b' }, meta: s.wrapped, blobs: storage.blobs, logger });
    await e.create({ n: 0 });
    const ac = new AbortController();
    const got: ChangeEntry[] = [];
    const done = (async () => {
      for await (const x of e.watch({ changeStream: true, signal: ac.signal, minDelayMs: 10, maxDelayMs: 50 })) {
        got.push(x);
        if (got.length === 21) ac.abort();
      }
    })();
    while (got.length < 1) await new Promise((r) => setTimeout(r, 10));
    for (const l of [...s.listeners]) {
      s.listeners.delete(l); // the store stops signalling for good
      l.lost(new Error('stream gone'));
    }
    for (let i = 1; i <= 20; i++) await e.create({ n: i });
    await done;
    expect(got.map((x) => x.cv)).toEqual(Array.from({ length: 21 }, (_, i) => got[0]!.cv + i));
    expect(warnings).toEqual([expect.stringMatching(/change stream stopped/)]);
  }, 120_000);
});
