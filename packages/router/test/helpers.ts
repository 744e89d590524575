import { parseConfig, type ChronosConfig } from '@chronos-db/core';
import { buildTopology, type Topology } from '@chronos-db/router';

export const KEYS = 100_000;

/** Routes KEYS fixed keys before and after a change; counts keys that moved, and those that moved elsewhere than `added`. */
export function countMoves(before: (k: string) => string, after: (k: string) => string, added: string): { moved: number; movedElsewhere: number } {
  let moved = 0;
  let movedElsewhere = 0;
  for (let i = 0; i < KEYS; i++) {
    const k = `db${i % 97}|coll-${i}|`;
    const a = before(k);
    const b = after(k);
    if (a !== b) {
      moved++;
      if (b !== added) movedElsewhere++;
    }
  }
  return { moved, movedElsewhere };
}

/** Deterministic Fisher-Yates shuffle from a seed (LCG). */
export function shuffle<T>(xs: readonly T[], seed: number): T[] {
  const out = [...xs];
  let s = seed >>> 0 || 1;
  for (let i = out.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

export const SPACE = {
  endpoint: 'https://fra1.digitaloceanspaces.com',
  region: 'fra1',
  accessKey: 'DO1234567890ABCDEF',
  secretKey: 'super-secret-key-value-1',
  jsonBucket: 'chronos-json',
  contentBucket: 'chronos-content',
  backupsBucket: 'chronos-backups',
};

export function conn(key: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { key, mongoUri: `mongodb://app:pw-${key}-S3cr3t@db-${key}.example:27017/?authSource=admin`, dbName: `db_${key.replace(/-/g, '_')}`, ...extra };
}

export function topo(cfg: Record<string, unknown>): Topology {
  return buildTopology(parseConfig(cfg as ChronosConfig));
}

/** Catches a thrown error so tests can inspect it. */
export function caught(f: () => unknown): Error & { issues?: { path: string; message: string }[] } {
  try {
    f();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a throw');
}
