/** Every version of a record, oldest first, read through history's pages (history is newest first, paged). */
import type { CollectionEngine, HistoryEntry } from '@chronos-db/core';

export async function allVersions(e: CollectionEngine, id: string): Promise<HistoryEntry[]> {
  const out: HistoryEntry[] = [];
  let pageToken: string | undefined;
  do {
    const p = await e.history(id, { dir: 'asc', limit: 1000, ...(pageToken ? { pageToken } : {}) });
    out.push(...p.items);
    pageToken = p.pageToken;
  } while (pageToken);
  return out;
}
