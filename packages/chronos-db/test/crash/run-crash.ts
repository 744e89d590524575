/** T1 and T2 of RELIABILITY.md with a real SIGKILL of a child process, over any adapter pair. */
import { join } from 'node:path';
import { CollectionEngine, type BlobStore, type MetadataStore } from '@chronos-db/core';
import { runTsxChild } from '../helpers/child.js';
import { makeStores, type StoreSpec } from './stores.js';

const runChild = (job: object) => runTsxChild(join(__dirname, 'child.ts'), 'CRASH_JOB', job);

async function jsonKeys(blobs: BlobStore, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of blobs.list('json', prefix)) out.push(e.key);
  return out.sort();
}

export function runCrashScenarios(name: string, spec: () => StoreSpec | null, prepare?: () => Promise<void>) {
  const s = spec();
  const d = s ? describe : describe.skip;
  d(`crash scenarios (SIGKILL in a child process): ${name}`, () => {
    let meta: MetadataStore;
    let blobs: BlobStore;
    const ns = { dbName: `crash_${Math.random().toString(36).slice(2, 8)}`, collection: 'items' };
    let engine: CollectionEngine;

    beforeAll(async () => {
      await prepare?.();
      ({ meta, blobs } = makeStores(s!));
      engine = new CollectionEngine({ ns, meta, blobs });
    });
    afterAll(async () => {
      await meta?.close();
      await blobs?.close();
    });

    // Stores that share a PayloadLink (the embedded default) write the payload in the commit's transaction:
    // killed before the commit, they leave no orphan at all; others leave one, which GC removes.
    it('T1: killed after the payload PUT (or, payloads written by the commit, before it), before commit: nothing moved, at most one orphan, GC removes exactly it', async () => {
      const linked = !!blobs.payloadLink && blobs.payloadLink === meta.payloadLink;
      const { id } = await engine.create({ v: 0 });
      const keysBefore = await jsonKeys(blobs, `${ns.dbName}/`);
      const r = await runChild({ mode: 't1', spec: s, ns, id, data: { v: 1 }, expectedOv: 0 });
      expect({ signal: r.signal, out: r.out }).toEqual({ signal: 'SIGKILL', out: '' });
      const head = await meta.getHead(ns, id);
      expect(head!.ov).toBe(0);
      expect((await engine.history(id)).items.length).toBe(1);
      const keysAfter = await jsonKeys(blobs, `${ns.dbName}/`);
      const orphans = keysAfter.filter((k) => !keysBefore.includes(k));
      expect(orphans).toHaveLength(linked ? 0 : 1);
      const next = await engine.update(id, { v: 2 }, 0);
      expect(next.ov).toBe(1);
      // The grace floor (2 x operationTimeoutMs) holds: the collector's clock runs an hour ahead instead.
      const collector = new CollectionEngine({ ns, meta, blobs, clock: () => Date.now() + 3600_000 });
      const gc = await collector.collectGarbage({ graceMs: 60_000 });
      expect(gc).toMatchObject(linked ? { removed: 0 } : { removed: 1, removedSample: [`json:${orphans[0]}`] });
      expect(await engine.getLatest(id)).toMatchObject({ v: 2 });
      expect(await engine.getVersion(id, 0)).toMatchObject({ v: 0 });
    });

    it('T2: killed after commit, before the reply: the retry with the same requestId returns the same result', async () => {
      const { id } = await engine.create({ v: 0 });
      const r = await runChild({ mode: 't2', spec: s, ns, id, data: { v: 1 }, expectedOv: 0, requestId: `t2-${id}` });
      expect({ signal: r.signal, out: r.out }).toEqual({ signal: 'SIGKILL', out: '' });
      expect((await meta.getHead(ns, id))!.ov).toBe(1);
      const retry = await engine.update(id, { v: 1 }, 0, 'crash', 'test', { requestId: `t2-${id}` });
      expect(retry.ov).toBe(1);
      expect(retry.id).toBe(id);
      expect((await engine.history(id, { dir: 'asc' })).items.map((h) => h.ov)).toEqual([0, 1]);
      expect(await engine.getLatest(id)).toMatchObject({ v: 1 });
    });
  });
}
