/** setState: changes the head's processing state, adds no version, moves no cv. */
import { expect } from '../../assert.js';
import type { MetaSuite } from './context.js';

export function setStateTests(s: MetaSuite): void {
  const { t, store, ns, chain } = s;
  t.describe('setState', () => {
    t.it('changes the head state without adding a version', async () => {
      const n = await ns();
      await chain(n, 'a', 2);
      const before = await store.getHead(n, 'a');
      const cvBefore = await store.currentCv(n);
      expect(await store.setState(n, 'a', 'processed')).toBe(true);
      const after = await store.getHead(n, 'a');
      expect(after!.state).toBe('processed');
      expect({ ...after, state: before!.state }).toEqual(before);
      expect(await store.listVersions(n, 'a')).toHaveLength(2);
      expect(await store.currentCv(n)).toBe(cvBefore);
      expect(await store.setState(n, 'a', 'new')).toBe(true);
      expect((await store.getHead(n, 'a'))!.state).toBe('new');
      expect(await store.setState(n, 'missing', 'processed')).toBe(false);
      expect(await store.getHead(n, 'missing')).toBeNull();
    });
  });
}
