/**
 * `admin.compactLocal()`: the optional migration of the embedded store's older layout, where
 * every payload was a file under `<basePath>/<role>/`. Files up to the inline limit move into
 * the SQLite file (row committed first, file removed after: an interrupted run leaves files the
 * rows shadow, and a rerun removes them); larger files stay. Reads find payloads in either
 * place, so running it is never required.
 */
import { ValidationError, type CompactLocalResult } from '@chronos-db/core';
import { requireConfirm } from './confirm.js';
import type { AdminRuntime } from './runtime.js';

export type { CompactLocalResult };

interface Compactable {
  compact(opts?: { dryRun?: boolean }): Promise<{ moved: number; movedBytes: number; keptAsFiles: number }>;
}

export async function compactLocal(rt: AdminRuntime, opts: { confirm?: boolean; dryRun?: boolean } = {}): Promise<CompactLocalResult> {
  rt.assertOpen();
  requireConfirm(opts, 'compactLocal');
  if (!rt.cfg.localStorage?.enabled) throw new ValidationError('compactLocal needs localStorage: this instance has no embedded store');
  const blobs = rt.blobsFor('local') as Partial<Compactable>;
  if (typeof blobs.compact !== 'function') throw new ValidationError('compactLocal: the local blob store cannot compact');
  const dryRun = opts.dryRun === true && opts.confirm !== true;
  const r = await blobs.compact({ dryRun });
  return { moved: r.moved, movedBytes: r.movedBytes, keptAsFiles: r.keptAsFiles, dryRun };
}
