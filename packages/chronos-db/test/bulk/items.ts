/** The items of the bulk test, the same in the parent and in the child it kills. */
import type { BulkCreateItem } from '@chronos-db/core';

export const isInvalid = (i: number) => i % 100 === 37;
export const isExisting = (i: number) => i % 100 === 73;
export const existingId = (i: number) => `pre-${Math.floor(i / 100)}`;

/** 1 in 100 invalid (data is not an object), 1 in 100 the id of a record that exists; the rest valid, each with its requestId. */
export function* bulkItems(n: number, tag: string): Generator<BulkCreateItem> {
  for (let i = 0; i < n; i++) {
    if (isInvalid(i)) yield { data: 42 as unknown as Record<string, unknown> };
    else if (isExisting(i)) yield { id: existingId(i), data: { i, again: true } };
    else yield { data: { i, name: `n${i}`, pad: 'x'.repeat(60) }, requestId: `${tag}-${i}` };
  }
}

export const validCount = (n: number) => {
  let c = 0;
  for (let i = 0; i < n; i++) if (!isInvalid(i) && !isExisting(i)) c++;
  return c;
};
