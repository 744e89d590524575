/**
 * As-of and cv reads (getVersion { at } / { cv }) against a reference computed
 * from every version: chains with ties and gaps in `at`, read by the writing
 * process (which remembers each record's newest version and starts its search
 * there), by a process that knows nothing, and by one whose knowledge went
 * stale because another process appended versions. On FerretDB these reads are
 * searches by `_id` seeks; on MongoDB one indexed query: same answers.
 */
import { MongoClient } from 'mongodb';
import fc from 'fast-check';
import type { Namespace, VersionDoc } from '@chronos-db/core';
import { countCommands, createMongoMetadataStore, type MongoMetadataStore } from '@chronos-db/storage-mongo';
import { describeMongo, MONGO_URL, rand } from './helpers/env';

const BASE = 1_700_000_000_000;

function mkVersion(itemId: string, ov: number, at: number): Omit<VersionDoc, 'cv'> {
  return {
    itemId,
    ov,
    op: ov === 0 ? 'CREATE' : 'UPDATE',
    at,
    jsonKey: `k/${itemId}/v${ov}/${rand(8)}/item.json`,
    size: 1,
    sha256: 'e'.repeat(64),
    metaIndexed: { ov },
    deleted: false,
  };
}

/** The newest version with field <= bound, by definition. */
function reference(versions: VersionDoc[], field: 'at' | 'cv', bound: number): number | null {
  let best: VersionDoc | null = null;
  for (const v of versions) if (v[field] <= bound && (!best || v.ov > best.ov)) best = v;
  return best ? best.ov : null;
}

/** Bounds worth asking: before everything, each value, between values, after everything. */
function boundsOf(versions: VersionDoc[], field: 'at' | 'cv'): number[] {
  const vals = [...new Set(versions.map((v) => v[field]))].sort((a, b) => a - b);
  const out = new Set<number>([vals[0]! - 1, vals[vals.length - 1]! + 1_000_000]);
  for (const x of vals) {
    out.add(x);
    out.add(x + 1);
    out.add(x - 1);
  }
  return [...out];
}

describeMongo('storage-mongo as-of and cv reads', () => {
  let writerClient: MongoClient;
  let freshClient: MongoClient;
  let writer: MongoMetadataStore;

  beforeAll(() => {
    writerClient = new MongoClient(MONGO_URL!, { monitorCommands: true });
    freshClient = new MongoClient(MONGO_URL!);
    writer = createMongoMetadataStore({ client: writerClient });
  });
  afterAll(async () => {
    await writer.close();
    await writerClient.close();
    await freshClient.close();
  });

  const check = async (store: MongoMetadataStore, ns: Namespace, id: string, versions: VersionDoc[], who: string) => {
    for (const field of ['at', 'cv'] as const) {
      for (const b of boundsOf(versions, field)) {
        const got = await store.getVersion(ns, id, field === 'at' ? { at: b } : { cv: b });
        const want = reference(versions, field, b);
        if ((got?.ov ?? null) !== want)
          throw new Error(
            `${who}: ${id} ${field} <= ${b}: got ov ${got?.ov ?? null}, want ${want} (chain ${versions.map((v) => `${v.ov}@${v[field]}`).join(' ')})`,
          );
        if (got) expect(got).toMatchObject({ itemId: id, ov: want, [field]: versions[want!]![field] });
      }
    }
  };

  it('answers like the definition for chains with ties and gaps, whoever reads', async () => {
    const ns: Namespace = { dbName: `asof_${rand(8)}`, collection: 'chains' };
    await writer.ensureNamespace(ns);
    const steps = fc.array(fc.constantFrom(0, 0, 1, 3, 1000, 50_000), { minLength: 0, maxLength: 40 });
    const chains = fc.sample(steps, { numRuns: 12, seed: 20261129 });
    chains.push(Array.from({ length: 200 }, () => 1000)); // a steady pace: interpolation lands at once
    const all = new Map<string, VersionDoc[]>();
    let i = 0;
    for (const gaps of chains) {
      const id = `c${i++}`;
      let at = BASE + i * 10_000_000;
      const vs: VersionDoc[] = [];
      const { cv } = await writer.commit({ ns, version: mkVersion(id, 0, at), expectedOv: null, head: { createdAt: at } });
      vs.push({ ...mkVersion(id, 0, at), cv });
      for (const [k, g] of gaps.entries()) {
        at += g;
        const r = await writer.commit({ ns, version: mkVersion(id, k + 1, at), expectedOv: k, head: {}, prev: { cv: vs[k]!.cv, createdAt: vs[0]!.at } });
        vs.push({ ...mkVersion(id, k + 1, at), cv: r.cv });
      }
      all.set(id, vs);
    }
    await writer.settle();
    const fresh = createMongoMetadataStore({ client: freshClient });
    for (const [id, vs] of all) {
      await check(writer, ns, id, vs, 'writer');
      await check(fresh, ns, id, vs, 'fresh reader');
    }
    // another process appends: what the first two remember is now stale
    const other = new MongoClient(MONGO_URL!);
    const appender = createMongoMetadataStore({ client: other });
    try {
      for (const [id, vs] of all) {
        for (let k = 0; k < 3; k++) {
          const last = vs[vs.length - 1]!;
          const at = last.at + (k === 0 ? 0 : 7);
          const r = await appender.commit({ ns, version: mkVersion(id, last.ov + 1, at), expectedOv: last.ov, head: {} });
          vs.push({ ...mkVersion(id, last.ov + 1, at), cv: r.cv });
        }
      }
      for (const [id, vs] of all) {
        await check(writer, ns, id, vs, 'writer after appends');
        await check(fresh, ns, id, vs, 'fresh reader after appends');
      }
    } finally {
      await appender.close();
      await other.close();
      await fresh.close();
    }
  });

  it('a steady chain of 1,000 is read as of a middle time in one round trip by its writer', async () => {
    const ns: Namespace = { dbName: `asof_${rand(8)}`, collection: 'deep' };
    await writer.ensureNamespace(ns);
    const vs: VersionDoc[] = [];
    for (let k = 0; k <= 1000; k++) {
      const v = mkVersion('deep', k, BASE + k * 1000);
      const r = await writer.commit({
        ns,
        version: v,
        expectedOv: k === 0 ? null : k - 1,
        head: k === 0 ? { createdAt: BASE } : {},
        ...(k ? { prev: { cv: vs[k - 1]!.cv, createdAt: BASE } } : {}),
      });
      vs.push({ ...v, cv: r.cv });
    }
    await writer.settle();
    const counter = countCommands(writerClient);
    const got = await writer.getVersion(ns, 'deep', { at: BASE + 500_500 });
    expect(got!.ov).toBe(500);
    // eslint-disable-next-line no-console
    console.log(`[storage-mongo] commands for getVersion({ at }) at depth 1,000 by its writer: ${counter.commands}`);
    expect(counter.commands).toBeLessThanOrEqual(2);
  });
});
