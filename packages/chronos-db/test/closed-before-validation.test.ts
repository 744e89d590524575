/**
 * After `admin.shutdown()` the closed check comes first (issue 9 item 8): every bound method
 * (bound before the shutdown), every admin method, `with`, counters and the fallback API throw
 * `ChronosError` code `CLOSED` even when their input is bad, never the ValidationError their
 * input would get on an open instance, and write nothing.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CollectionEngine } from '@chronos-db/core';
import { ChronosError, initChronos } from 'chronos-db';
import { files, rows } from './helpers/stored.js';

/** What the call threw (synchronously or by rejecting); undefined when it did not. */
async function thrown(call: () => unknown): Promise<unknown> {
  try {
    const out = call();
    if (out && typeof (out as Promise<unknown>).then === 'function') await out;
    else if (out && typeof (out as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function') {
      for await (const _ of out as AsyncIterable<unknown>) break;
    }
  } catch (e) {
    return e;
  }
  return undefined;
}

const ctx = { dbName: 'app', collection: 'users' };
const BAD = 42 as never;

describe('after admin.shutdown(), with bad input', () => {
  it.each([
    ['the embedded store', false],
    ['the embedded store with the fallback queue on', true],
  ])('on %s: every bound method, admin method, with, counters and fallback call is CLOSED, not a ValidationError, and writes nothing', async (_, queued) => {
    const basePath = mkdtempSync(join(tmpdir(), 'chronos-closed-first-'));
    const fallback = { enabled: true, maxAttempts: 5, baseDelayMs: 50, maxDelayMs: 500, deadLetterCollection: 'dead', localPath: join(basePath, 'queue') };
    const chronos = initChronos({ localStorage: { enabled: true, basePath }, ...(queued ? { fallback } : {}) });
    const c = chronos.with(ctx);
    const { id } = await c.create({ email: 'a@example.com' });
    const admin = chronos.admin;
    // on an open instance the bad inputs below are refused as input (a sample, to show they are bad)
    for (const call of [() => c.create(BAD), () => c.getLatest(''), () => admin.markItemsAsProcessedByTTL(ctx, -1, { confirm: true })]) {
      expect(((await thrown(call)) as ChronosError)?.code).toBe('VALIDATION');
    }
    await admin.shutdown();
    const before = { files: files(basePath), rows: rows(basePath) };

    const bound: Record<string, () => unknown> = {
      create: () => c.create(BAD),
      update: () => c.update('', BAD, -1),
      delete: () => c.delete('', -1),
      enrich: () => c.enrich('', BAD),
      applyQueued: () => c.applyQueued(BAD),
      createMany: () => c.createMany(BAD),
      createManyStream: () => c.createManyStream(BAD),
      updateMany: () => c.updateMany(BAD),
      updateManyStream: () => c.updateManyStream(BAD),
      smartInsert: () => c.smartInsert(BAD, BAD),
      restoreObject: () => c.restoreObject('', BAD),
      restoreCollection: () => c.restoreCollection(BAD),
      getLatest: () => c.getLatest(''),
      getVersion: () => c.getVersion('', -1),
      getAsOf: () => c.getAsOf('', BAD),
      getItem: () => c.getItem(''),
      history: () => (c.history as (...a: unknown[]) => unknown)('', BAD),
      diff: () => c.diff('', BAD),
      listAsOf: () => (c.listAsOf as (...a: unknown[]) => unknown)(BAD),
      changes: () => c.changes(BAD),
      watch: () => c.watch(BAD),
      listByMeta: () => c.listByMeta(BAD),
      query: () => c.query(BAD),
      presignProperty: () => c.presignProperty('', BAD),
      getPropertyContent: () => c.getPropertyContent('', BAD),
      recountCounters: () => c.recountCounters(),
      collectGarbage: () => c.collectGarbage({ graceMs: 0 }),
      stats: () => c.stats(),
    };
    const others: Record<string, () => unknown> = {
      with: () => chronos.with(BAD),
      'counters.getTotals': () => chronos.counters.getTotals(BAD),
      'counters.resetTotals': () => chronos.counters.resetTotals(BAD),
      'counters.recount': () => chronos.counters.recount(BAD),
      'admin.health': () => admin.health(),
      'admin.listBackends': () => admin.listBackends(),
      'admin.ensureBucketsExist': () => admin.ensureBucketsExist(BAD, BAD),
      'admin.testS3Connectivity': () => admin.testS3Connectivity(BAD),
      'admin.validateSpacesConfiguration': () => admin.validateSpacesConfiguration(BAD),
      'admin.markItemsAsProcessedByTTL': () => admin.markItemsAsProcessedByTTL(BAD, -1, BAD),
      'admin.markItemAsProcessed': () => admin.markItemAsProcessed(BAD, '', BAD),
      'admin.hardDelete': () => admin.hardDelete(BAD, id, BAD),
      'admin.gc': () => admin.gc(BAD, { graceMs: 0 }),
      'admin.checkIndexes': () => admin.checkIndexes(BAD),
      'admin.listCollections': () => admin.listCollections(BAD),
      'fallback.getPendingOps': () => chronos.fallback.getPendingOps(BAD),
      'fallback.getDeadLetterOps': () => chronos.fallback.getDeadLetterOps(BAD),
      'fallback.retryDeadLetter': () => chronos.fallback.retryDeadLetter(''),
      'fallback.cancelOp': () => chronos.fallback.cancelOp(''),
      'fallback.startWorker': () => chronos.fallback.startWorker(BAD),
      'fallback.getQueueStats': () => chronos.fallback.getQueueStats(),
    };
    // every method a bound collection has is in the list (a new one cannot be forgotten)
    const methods = Object.getOwnPropertyNames(CollectionEngine.prototype).filter((m) => m !== 'constructor');
    expect(methods.filter((m) => !(m in bound))).toEqual([]);
    const got: Record<string, unknown> = {};
    for (const [what, call] of Object.entries({ ...bound, ...others })) {
      const e = await thrown(call);
      got[what] = e instanceof ChronosError ? e.code : e === undefined ? 'no error' : String(e);
    }
    expect(got).toEqual(Object.fromEntries(Object.keys(got).map((k) => [k, 'CLOSED'])));
    expect({ files: files(basePath), rows: rows(basePath) }).toEqual(before);
  });
});
