/**
 * `checkIndexes`: the namespace's indexes as the server lists them (listIndexes on its
 * version and head collections), against those `ensure` makes. Read-only.
 */
import { isFieldPath, type IndexCheck } from '@chronos-db/core';
import type { Collection, Document } from 'mongodb';
import { HEAD_INDEXES, propIndexName, VERSION_INDEXES, type Cols } from './context.js';

/** The index names of a collection; undefined when it does not exist (a real one always has `_id_`). */
async function indexNames(col: Collection<Document>): Promise<Set<string> | undefined> {
  try {
    const names = new Set((await col.listIndexes().toArray()).map((i) => String(i.name)));
    return names.size ? names : undefined;
  } catch (e) {
    if ((e as { codeName?: string }).codeName === 'NamespaceNotFound' || (e as { code?: number }).code === 26) return undefined;
    throw e;
  }
}

export async function checkIndexes(c: Cols, indexedProps: readonly string[] | undefined): Promise<IndexCheck> {
  const props = (indexedProps ?? []).filter((p) => isFieldPath(p));
  const want = [
    { col: c.ver as unknown as Collection<Document>, expected: VERSION_INDEXES.map(([, o]) => o.name) },
    { col: c.head as unknown as Collection<Document>, expected: [...HEAD_INDEXES.map(([, o]) => o.name), ...props.map(propIndexName)] },
  ];
  const found = await Promise.all(want.map((w) => indexNames(w.col)));
  const exists = found.some((f) => f !== undefined);
  return {
    exists,
    collections: want.map((w, i) => ({
      name: w.col.collectionName,
      expected: w.expected,
      missing: exists ? w.expected.filter((n) => !found[i]?.has(n)) : [],
    })),
  };
}
