/** base64 properties go to the content bucket (with a text rendition); bad base64 writes nothing. */
import { ExternalizationError } from '@chronos-db/core';
import { expect } from '../assert.js';
import { snapshotStores } from './oracle.js';
import type { BehaviourSuite } from './context.js';

export function externalizationTests(b: BehaviourSuite): void {
  const { t, stores, engine } = b;
  t.describe('externalization', () => {
    t.it('base64 properties are externalized to the content bucket with a text rendition', async () => {
      const e = engine({
        map: {
          indexedProps: ['title'],
          base64Props: { doc: { contentType: 'text/plain', preferredText: true, textCharset: 'utf-8' }, img: { contentType: 'image/png' } },
        },
      });
      const text = 'héllo wörld';
      const png = Buffer.from([137, 80, 78, 71, 0, 1, 2, 3]);
      const c = await e.create({ title: 't', doc: Buffer.from(text).toString('base64'), img: png.toString('base64') });
      const r = await e.getLatest(c.id);
      const doc = r!.doc as { ref: { key: string; size: number; contentType: string; textKey?: string } };
      expect(doc.ref.size).toBe(Buffer.byteLength(text));
      expect(doc.ref.contentType).toBe('text/plain');
      expect(Buffer.from(await stores.blobs.get('content', doc.ref.key)).toString()).toBe(text);
      expect(Buffer.from(await e.getPropertyContent(c.id, 'doc', { text: true })).toString()).toBe(text);
      expect(Buffer.from(await e.getPropertyContent(c.id, 'img'))).toEqual(png);
      // the JSON payload does not hold the base64
      const v = await stores.meta.getHead(e.ns, c.id);
      expect(Buffer.from(await stores.blobs.get('json', v!.jsonKey)).toString()).not.toContain(png.toString('base64'));
      // an update that passes the read reference back keeps the blob
      await e.update(c.id, { ...r, title: 't2' });
      expect(Buffer.from(await e.getPropertyContent(c.id, 'img'))).toEqual(png);
      await e.enrich(c.id, { extra: 1 });
      expect(Buffer.from(await e.getPropertyContent(c.id, 'doc'))).toEqual(Buffer.from(text));
      const before = await snapshotStores(stores, e.ns);
      await expect(e.create({ title: 'bad', img: 'not base64!!' })).rejects.toBeInstanceOf(ExternalizationError);
      await expect(e.create({ title: 'bad', doc: Buffer.from([0xff, 0xfe, 0xfd]).toString('base64') })).rejects.toBeInstanceOf(ExternalizationError);
      expect(await snapshotStores(stores, e.ns)).toEqual(before);
    });
  });
}
