import type { VersionDoc } from '@chronos-db/core';
import { rand } from './env';

/** A version document as the engine would commit it (no cv: the store assigns it). */
export function mkVersion(itemId: string, ov: number, extra: Partial<VersionDoc> = {}): Omit<VersionDoc, 'cv'> {
  return {
    itemId,
    ov,
    op: ov === 0 ? 'CREATE' : 'UPDATE',
    at: 1_700_000_000_000 + ov,
    jsonKey: `k/${itemId}/v${ov}/${rand(12)}/item.json`,
    size: 10 + ov,
    sha256: 'c'.repeat(64),
    metaIndexed: { ov },
    deleted: false,
    ...extra,
  };
}
