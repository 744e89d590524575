/**
 * The queued path (fallback on) and the direct path check a write's input with the same code
 * (core's write.ts `check*`, shared by queued-writes.ts): what one accepts the other accepts,
 * what one refuses the other refuses with the same message, before anything is written.
 * Before they shared it, the queued path refused a record read and written back (its `id`,
 * `_system`, `_meta`) and a create whose data repeated its `{ id }` option.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CollectionEngine, type QueuedWrite } from '@chronos-db/core';
import { createLocalBlobStore, createLocalMetadataStore, createLocalQueueStore } from '@chronos-db/storage-local';

/** 'ok', or the error's code and message (the record's own id, which differs between the two sides, as <id>). */
async function outcome(p: Promise<unknown>, id?: string): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    const text = `${(e as { code?: string }).code}: ${(e as Error).message}`;
    return id ? text.split(id).join('<id>') : text;
  }
}

describe('queued and direct writes check input alike', () => {
  it('accept and refuse the same inputs with the same errors', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'chronos-queued-checks-'));
    const meta = createLocalMetadataStore({ basePath: dir });
    const blobs = createLocalBlobStore({ basePath: dir });
    const queue = createLocalQueueStore({ path: join(dir, 'queue') });
    const engines = {
      direct: new CollectionEngine({ ns: { dbName: 'q', collection: 'direct' }, meta, blobs }),
      queued: new CollectionEngine<QueuedWrite>({
        ns: { dbName: 'q', collection: 'queued' },
        meta,
        blobs,
        fallback: { queue, route: { key: 'local', storage: 'local' } },
      }),
    };
    try {
      const got: { direct: Record<string, string>; queued: Record<string, string> } = { direct: {}, queued: {} };
      for (const [side, e] of Object.entries(engines)) {
        const r = got[side as keyof typeof got];
        const { id } = (await e.create({ email: 'a@x' })) as { id: string };
        const read = (await e.getLatest(id, { includeMeta: true })) as Record<string, unknown>;
        r['update with the record as read (id, _system, _meta)'] = await outcome(e.update(id, { ...read, email: 'b@x' }));
        r['enrich with the record as read'] = await outcome(e.enrich(id, { ...read, extra: 1 }));
        r['create whose data repeats its id option'] = await outcome(e.create({ id: 'given-1', email: 'c@x' }, undefined, undefined, { id: 'given-1' }));
        r['create with a reserved key'] = await outcome(e.create({ _system: {}, email: 'd@x' }));
        r['create with another id in the data'] = await outcome(e.create({ id: 'other', email: 'd@x' }, undefined, undefined, { id: 'given-2' }));
        r['update with another id in the data'] = await outcome(e.update(id, { id: 'other', email: 'e@x' }), id);
        r['update with a bad expectedOv'] = await outcome(e.update(id, { email: 'e@x' }, -1));
        r['delete with a bad id'] = await outcome(e.delete('../x'));
        r['enrich with no patch'] = await outcome(e.enrich(id, []));
        r['create with a bad requestId'] = await outcome(e.create({ email: 'f@x' }, undefined, undefined, { requestId: '' }));
      }
      expect(got.queued).toEqual(got.direct);
      expect(got.direct['update with the record as read (id, _system, _meta)']).toBe('ok');
      expect(got.direct['create whose data repeats its id option']).toBe('ok');
      expect(got.direct['create with a reserved key']).toMatch(/^VALIDATION: /);
      // nothing was queued: every write either committed or was refused before the queue
      expect(await queue.listPending({ limit: 10 })).toEqual([]);
    } finally {
      await meta.close();
      await blobs.close();
      await queue.close();
    }
  });
});
