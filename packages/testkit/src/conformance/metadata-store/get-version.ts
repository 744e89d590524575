/** getVersion by ov, at and cv: the right version of that record only (I8). */
import type { VersionDoc } from '@chronos-db/core';
import { expect } from '../../assert.js';
import { clean } from '../helpers.js';
import type { MetaSuite } from './context.js';

export function getVersionTests(s: MetaSuite): void {
  const { t, store, ns, create, next, chain } = s;
  t.describe('getVersion', () => {
    t.it('by ov returns that version of that record only', async () => {
      const n = await ns();
      const a = await chain(n, 'A', 4);
      const b = await chain(n, 'B', 2);
      for (const v of a) expect(clean((await store.getVersion(n, 'A', { ov: v.ov }))!)).toEqual(clean(v));
      for (const v of b) expect(clean((await store.getVersion(n, 'B', { ov: v.ov }))!)).toEqual(clean(v));
      expect(await store.getVersion(n, 'A', { ov: 4 })).toBeNull();
      expect(await store.getVersion(n, 'B', { ov: 2 })).toBeNull();
      expect(await store.getVersion(n, 'C', { ov: 0 })).toBeNull();
    });

    t.it('by at returns the newest version with at <= T of that record only (interleaved A and B)', async () => {
      const n = await ns();
      // A at 100, 300, 500, 500; B at 200, 400, 600 (committed interleaved)
      const A: VersionDoc[] = [];
      const B: VersionDoc[] = [];
      const push = async (arr: VersionDoc[], id: string, at: number) => {
        const ov = arr.length;
        const r = ov === 0 ? await create(n, id, { at }) : await next(n, id, ov - 1, { at });
        arr.push({ ...r.version, cv: r.cv });
      };
      await push(A, 'A', 100);
      await push(B, 'B', 200);
      await push(A, 'A', 300);
      await push(B, 'B', 400);
      await push(A, 'A', 500);
      await push(B, 'B', 600);
      await push(A, 'A', 500);
      const ovAt = async (id: string, at: number) => (await store.getVersion(n, id, { at }))?.ov ?? null;
      expect(await ovAt('A', 99)).toBeNull();
      expect(await ovAt('A', 100)).toBe(0);
      expect(await ovAt('A', 250)).toBe(0);
      expect(await ovAt('A', 399)).toBe(1);
      expect(await ovAt('A', 450)).toBe(1);
      expect(await ovAt('A', 500)).toBe(3);
      expect(await ovAt('A', 10_000)).toBe(3);
      expect(await ovAt('B', 199)).toBeNull();
      expect(await ovAt('B', 350)).toBe(0);
      expect(await ovAt('B', 599)).toBe(1);
      expect(await ovAt('B', 601)).toBe(2);
      for (const t of [0, 100, 150, 200, 300, 450, 500, 550, 600, 700]) {
        const a = await store.getVersion(n, 'A', { at: t });
        if (a) expect(a.itemId).toBe('A');
        const b = await store.getVersion(n, 'B', { at: t });
        if (b) expect(b.itemId).toBe('B');
        const expectA = [...A].reverse().find((v) => v.at <= t);
        expect(a ? clean(a) : null).toEqual(expectA ? clean(expectA) : null);
        const expectB = [...B].reverse().find((v) => v.at <= t);
        expect(b ? clean(b) : null).toEqual(expectB ? clean(expectB) : null);
      }
    });

    t.it('by cv returns the newest version with cv <= C of that record only', async () => {
      const n = await ns();
      const all: VersionDoc[] = [];
      const counts: Record<string, number> = { A: 0, B: 0 };
      for (const id of ['A', 'B', 'B', 'A', 'A', 'B', 'A']) {
        const ov = counts[id]!;
        const r = ov === 0 ? await create(n, id) : await next(n, id, ov - 1);
        counts[id] = ov + 1;
        all.push({ ...r.version, cv: r.cv });
      }
      const maxCv = Math.max(...all.map((v) => v.cv));
      for (let c = 0; c <= maxCv + 1; c++) {
        for (const id of ['A', 'B']) {
          const got = await store.getVersion(n, id, { cv: c });
          const want = all.filter((v) => v.itemId === id && v.cv <= c).pop();
          expect(got ? clean(got) : null).toEqual(want ? clean(want) : null);
        }
      }
    });
  });
}
