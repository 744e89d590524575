/** I6: a write retried with the same requestId gives one version; another payload under it is an error. */
import { ValidationError } from '@chronos-db/core';
import { expect } from '../assert.js';
import type { BehaviourSuite } from './context.js';
import { allVersions } from './all-versions.js';

export function idempotencyTests(b: BehaviourSuite): void {
  const { t, engine } = b;
  t.describe('idempotency', () => {
    t.it('I6: a write retried with the same requestId gives one version; another payload with it is an error', async () => {
      const e = engine();
      const a = await e.create({ x: 1 }, 'u', 'r', { requestId: 'req-create-1' });
      const b = await e.create({ x: 1 }, 'u', 'r', { requestId: 'req-create-1' });
      expect(b).toEqual(a);
      const u1 = await e.update(a.id, { x: 2 }, 0, 'u', 'r', { requestId: 'req-upd-1' });
      const u2 = await e.update(a.id, { x: 2 }, 0, 'u', 'r', { requestId: 'req-upd-1' });
      expect(u2).toEqual(u1);
      expect((await allVersions(e, a.id)).length).toBe(2);
      await expect(e.update(a.id, { x: 3 }, 1, 'u', 'r', { requestId: 'req-upd-1' })).rejects.toBeInstanceOf(ValidationError);
      // concurrent retries of one create: still one record
      const many = await Promise.all(Array.from({ length: 6 }, () => e.create({ y: 1 }, undefined, undefined, { requestId: 'req-burst' })));
      expect(new Set(many.map((m) => m.id)).size).toBe(1);
      expect((await allVersions(e, many[0]!.id)).length).toBe(1);
    });
  });
}
