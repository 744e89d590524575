import { StorageError, type SpacesConnConfig } from '@chronos-db/core';
import { createClientPool, s3ClientId, s3StoreId } from '@chronos-db/router';
import { SPACE } from './helpers';

interface FakeClient {
  id: string;
  closed: number;
}

function makePool(failClose: string[] = []) {
  const opened: string[] = [];
  const pool = createClientPool<FakeClient>({
    open: (id) => {
      opened.push(id);
      return { id, closed: 0 };
    },
    close: async (c) => {
      c.closed++;
      if (failClose.includes(c.id)) throw new Error(`close failed for ${c.id}`);
    },
  });
  return { pool, opened };
}

describe('createClientPool', () => {
  it('opens lazily, once per distinct id, and shares the client', () => {
    const { pool, opened } = makePool();
    expect(pool.size).toBe(0);
    expect(pool.has('mongodb://a')).toBe(false);
    const a1 = pool.get('mongodb://a');
    const a2 = pool.get('mongodb://a');
    const b = pool.get('mongodb://b');
    expect(a1).toBe(a2);
    expect(a1).not.toBe(b);
    expect(opened).toEqual(['mongodb://a', 'mongodb://b']);
    expect(pool.size).toBe(2);
    expect(pool.has('mongodb://a')).toBe(true);
  });

  it('closeAll closes each client exactly once; get afterwards throws', async () => {
    const { pool } = makePool();
    const a = pool.get('a');
    const b = pool.get('b');
    await Promise.all([pool.closeAll(), pool.closeAll()]);
    await pool.closeAll();
    expect([a.closed, b.closed]).toEqual([1, 1]);
    expect(pool.closed).toBe(true);
    expect(pool.size).toBe(0);
    expect(() => pool.get('a')).toThrow(StorageError);
  });

  it('closeAll still closes every client when one fails, then reports it', async () => {
    const { pool } = makePool(['a']);
    const a = pool.get('a');
    const b = pool.get('b');
    await expect(pool.closeAll()).rejects.toThrow(/1 of 2 client\(s\) failed to close/);
    expect([a.closed, b.closed]).toEqual([1, 1]);
  });

  it('does not cache a client whose open threw', () => {
    let calls = 0;
    const pool = createClientPool<string>({
      open: (id) => {
        calls++;
        if (calls === 1) throw new Error('boom');
        return `client:${id}`;
      },
      close: async () => {},
    });
    expect(() => pool.get('x')).toThrow('boom');
    expect(pool.get('x')).toBe('client:x');
    expect(calls).toBe(2);
  });

  it('keys S3 clients by endpoint + credentials and stores by their buckets too, never by the secret', () => {
    const opened: string[] = [];
    const pool = createClientPool<string, SpacesConnConfig>({ id: s3ClientId, open: (c) => (opened.push(c.endpoint), c.endpoint), close: async () => {} });
    const s1 = SPACE as SpacesConnConfig;
    const s2 = { ...SPACE, jsonBucket: 'other-json' } as SpacesConnConfig;
    const s3 = { ...SPACE, endpoint: 'https://nyc3.digitaloceanspaces.com' } as SpacesConnConfig;
    pool.get(s1);
    pool.get(s2);
    pool.get(s3);
    expect(opened).toEqual(['https://fra1.digitaloceanspaces.com', 'https://nyc3.digitaloceanspaces.com']);
    expect(s3StoreId(s1)).not.toBe(s3StoreId(s2));
    for (const id of [s3ClientId(s1), s3StoreId(s1)]) expect(id).not.toContain(SPACE.secretKey);
  });
});
