/**
 * Rendezvous (highest random weight) hashing: every node gets the weight
 * SHA-256(node + NUL + key) and the heaviest node wins. The answer depends
 * only on the set of nodes, never on their order; adding a node moves only
 * the keys the new node wins, about 1/(n+1) of them, whatever its name.
 */
import { createHash } from 'node:crypto';
import { ValidationError } from '@chronos-db/core';

function weight(node: string, key: string): Buffer {
  return createHash('sha256').update(node, 'utf8').update('\u0000').update(key, 'utf8').digest();
}

export function rendezvous(key: string, nodes: readonly string[]): string {
  if (nodes.length === 0) throw new ValidationError('rendezvous: no nodes to choose from');
  let best = nodes[0]!;
  let bestW = weight(best, key);
  for (let i = 1; i < nodes.length; i++) {
    const n = nodes[i]!;
    const w = weight(n, key);
    const c = Buffer.compare(w, bestW);
    // A tie (never seen with SHA-256) goes to the smaller name, so order still cannot matter.
    if (c > 0 || (c === 0 && n < best)) {
      best = n;
      bestW = w;
    }
  }
  return best;
}
