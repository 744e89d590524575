/**
 * The studio at the HTTP level, on a seeded embedded store: the access token, the CSRF token on
 * restore (refused: nothing written), the stale-head conflict, tenant isolation, the security
 * headers, redaction and the option checks.
 */
import { startStudio, type Studio } from '@chronos-db/studio';
import { ValidationError } from 'chronos-db';
import { allOvs, seeded } from './seed';

type Seed = Awaited<ReturnType<typeof seeded>>;

describe('chronos studio over HTTP', () => {
  let s: Seed;
  let ro: Studio; // read-only
  let rw: Studio; // allowRestore
  beforeAll(async () => {
    s = await seeded();
    ro = await startStudio({ chronos: s.chronos, contexts: s.contexts, port: 0 });
    rw = await startStudio({ chronos: s.chronos, contexts: s.contexts, port: 0, allowRestore: true });
  });
  afterAll(async () => {
    await ro?.close();
    await rw?.close();
    await s?.cleanup();
  });
  const origin = (st: Studio) => `http://127.0.0.1:${st.port}`;
  const get = (st: Studio, path: string) => fetch(`${st.url}${path}`);
  const csrfOf = async (st: Studio) => ((await (await get(st, 'api/session')).json()) as { csrf?: string }).csrf;
  const restore = (st: Studio, body: unknown, headers: Record<string, string> = {}, base = st.url) =>
    fetch(`${base}api/restore`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) });

  it('binds 127.0.0.1 and prints a URL with a random token', () => {
    expect(ro.host).toBe('127.0.0.1');
    expect(ro.url).toBe(`http://127.0.0.1:${ro.port}/${ro.token}/`);
    expect(ro.token).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(rw.token).not.toBe(ro.token);
  });

  it('refuses every request without the token or with a wrong one', async () => {
    const wrong = ro.token.replace(/^./, (ch) => (ch === 'A' ? 'B' : 'A')); // same length, one character off
    for (const path of [
      '/',
      '/api/session',
      '/assets/app.js',
      `/api/record?c=0&col=users&id=alice`,
      `/${wrong}/`,
      `/${wrong}/api/session`,
      `/${rw.token}/api/session`,
      `/x${ro.token}/`,
    ]) {
      const r = await fetch(`${origin(ro)}${path}`);
      expect([path, r.status]).toEqual([path, 403]);
      expect(await r.text()).not.toContain('Alice');
    }
    const ok = await get(ro, 'api/record?c=0&col=users&id=alice');
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { record: { data: { name: string } } }).record.data.name).toBe('Alice');
  });

  it('refuses a restore POST without the CSRF token, with a wrong one, or on a read-only studio: nothing written', async () => {
    const before = await allOvs(s.t1, 'alice');
    const body = { c: 0, col: 'users', id: 'alice', ov: 0, expectedHeadOv: before.at(-1) };
    const csrf = (await csrfOf(rw))!;
    expect(csrf).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(await csrfOf(ro)).toBeUndefined(); // a read-only studio hands out no CSRF token
    const refused = [
      await restore(rw, body), // no CSRF token
      await restore(rw, body, { 'X-CSRF-Token': 'nope' }),
      await restore(rw, body, { 'X-CSRF-Token': rw.token }), // the access token is not the CSRF token
      await restore(rw, body, { 'X-CSRF-Token': csrf, Origin: 'http://evil.example' }),
      await restore(ro, body, { 'X-CSRF-Token': csrf }), // read-only
      await restore(rw, body, { 'X-CSRF-Token': csrf }, `${origin(rw)}/`), // no access token
    ];
    expect(refused.map((r) => r.status)).toEqual([403, 403, 403, 403, 403, 403]);
    expect(await allOvs(s.t1, 'alice')).toEqual(before);
  });

  it('restores with the CSRF token and the head the page saw; a stale head is a conflict and writes nothing', async () => {
    const csrf = (await csrfOf(rw))!;
    const before = await allOvs(s.t1, 'alice');
    const head = before.at(-1)!;
    const stale = await restore(rw, { c: 0, col: 'users', id: 'alice', ov: 0, expectedHeadOv: head - 1 }, { 'X-CSRF-Token': csrf });
    expect(stale.status).toBe(409);
    expect(((await stale.json()) as { message: string }).message).toMatch(/changed since the page read it.*Nothing was restored/);
    expect(await allOvs(s.t1, 'alice')).toEqual(before);

    const ok = await restore(rw, { c: 0, col: 'users', id: 'alice', ov: 0, expectedHeadOv: head }, { 'X-CSRF-Token': csrf });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { newOv: number }).newOv).toBe(head + 1);
    const now = await s.t1.getLatest('alice', { includeMeta: true });
    expect(now?.team).toBe('red');
    expect(now?._meta?.op).toBe('RESTORE');
    const h = await s.t1.history('alice', { limit: 1 });
    expect(h.items[0]).toMatchObject({ ov: head + 1, op: 'RESTORE', actor: 'chronos-studio' });
    // bad input: a typed error, nothing written
    const bad = await restore(rw, { c: 0, col: 'users', id: 'alice', ov: -1, expectedHeadOv: head + 1 }, { 'X-CSRF-Token': csrf });
    expect(bad.status).toBe(400);
    expect(await allOvs(s.t1, 'alice')).toEqual([...before, head + 1]);
  });

  it("never shows one tenant's records on another tenant's page", async () => {
    const list = async (c: number) =>
      ((await (await get(ro, `api/records?c=${c}&col=users&deleted=1`)).json()) as { items: { id: string }[] }).items.map((i) => i.id);
    expect(await list(0)).toEqual(['alice']);
    expect(await list(1)).toEqual(['bob']);
    for (const path of [
      'record?c=1&col=users&id=alice',
      'history?c=1&col=users&id=alice',
      'version?c=1&col=users&id=alice&ov=0',
      'diff?c=1&col=users&id=alice&from=0&to=1',
    ]) {
      const r = await get(ro, `api/${path}`);
      expect([path, r.status]).toEqual([path, 404]);
      expect(await r.text()).not.toContain('Alice');
    }
    const asof = (await (await get(ro, `api/asof?c=1&col=users&id=alice&at=${encodeURIComponent(new Date().toISOString())}`)).json()) as { record: unknown };
    expect(asof.record).toBeNull();
    const asOfList = (await (await get(ro, `api/records?c=1&col=users&at=${encodeURIComponent(new Date().toISOString())}`)).json()) as {
      items: { id: string }[];
    };
    expect(asOfList.items.map((i) => i.id)).toEqual(['bob']);
    expect((await get(ro, `api/records?c=0&col=users&deleted=1&at=${encodeURIComponent(new Date().toISOString())}`)).status).toBe(400);
    // a context or collection the studio was not given: refused, whatever the store holds
    for (const path of ['records?c=2&col=users', 'records?c=0&col=orders', 'records?col=users'])
      expect((await get(ro, `api/${path}`)).status).toBeGreaterThanOrEqual(400);
    const counts = await Promise.all([0, 1].map(async (c) => ((await (await get(ro, `api/count?c=${c}&col=users`)).json()) as { count: number }).count));
    expect(counts).toEqual([1, 1]);
  });

  it('sends a CSP without inline scripts, no-store on record pages, and a page whose scripts are files', async () => {
    const page = await get(ro, '');
    expect(page.status).toBe(200);
    const csp = page.headers.get('content-security-policy')!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('unsafe-eval');
    expect(page.headers.get('cache-control')).toBe('no-store');
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    const html = await page.text();
    const scripts = html.match(/<script[^>]*>/g) ?? [];
    expect(scripts.length).toBeGreaterThan(0);
    for (const tag of scripts) expect(tag).toMatch(/ src="assets\/[a-z-]+\.js"/);
    expect(html).not.toMatch(/ on[a-z]+=/i); // no inline handlers
    for (const path of ['api/record?c=0&col=users&id=alice', 'api/history?c=0&col=users&id=alice', 'api/version?c=0&col=users&id=alice&ov=0']) {
      const r = await get(ro, path);
      expect(r.headers.get('cache-control')).toBe('no-store');
      expect(r.headers.get('content-security-policy')).toContain("script-src 'self'");
    }
    const js = await get(ro, 'assets/app.js');
    expect(js.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect((await get(ro, 'assets/../server.ts')).status).toBe(404);
  });

  it('serves externalized content of any version as a sandboxed download (the embedded store cannot presign)', async () => {
    const v = (await (await get(ro, 'api/version?c=0&col=docs&id=doc1&ov=0')).json()) as { record: { data: { file: { ref: { contentType: string } } } } };
    expect(v.record.data.file.ref.contentType).toBe('text/html');
    const head = await get(ro, 'api/content?c=0&col=docs&id=doc1&prop=file');
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('second upload');
    const old = await get(ro, 'api/content?c=0&col=docs&id=doc1&prop=file&ov=0');
    expect(await old.text()).toBe('<script>alert(1)</script> v0');
    // never rendered as a page of the studio's origin
    expect(old.headers.get('content-type')).toBe('application/octet-stream');
    expect(old.headers.get('content-disposition')).toBe('attachment; filename="doc1-file"');
    expect(old.headers.get('content-security-policy')).toBe("default-src 'none'; sandbox");
    expect(old.headers.get('x-content-type-options')).toBe('nosniff');
    expect((await get(ro, 'api/content?c=0&col=docs&id=doc1&prop=title')).status).toBe(404);
    expect((await get(ro, 'api/content?c=1&col=docs&id=doc1&prop=file')).status).toBe(404); // tenant t2 has no docs collection here
  });

  it('shows no secret: keys that name one and URI passwords are redacted', async () => {
    const bodies = await Promise.all(
      [
        'api/record?c=0&col=users&id=alice',
        'api/version?c=0&col=users&id=alice&ov=0',
        'api/records?c=0&col=users',
        'api/diff?c=0&col=users&id=alice&from=0&to=1',
      ].map(async (p) => (await get(ro, p)).text()),
    );
    for (const b of bodies) {
      expect(b).not.toContain('hunter2');
      expect(b).not.toContain('pa55word');
    }
    expect(bodies[1]).toContain('"password":"***"');
    expect(bodies[1]).toContain('mongodb://alice:***@db.example/x');
  });

  it('refuses bad options with a ValidationError and warns when bound beyond loopback', async () => {
    await expect(startStudio({ chronos: s.chronos, contexts: s.contexts, port: 0, nope: 1 } as never)).rejects.toBeInstanceOf(ValidationError);
    await expect(startStudio({ chronos: s.chronos, contexts: [], port: 0 })).rejects.toThrow(/contexts must be a non-empty array/);
    await expect(startStudio({ chronos: s.chronos, contexts: [{ dbName: 'shop', collections: ['bad name'] }], port: 0 })).rejects.toBeInstanceOf(
      ValidationError,
    );
    await expect(startStudio({ chronos: s.chronos, contexts: s.contexts, port: 70000 })).rejects.toThrow(/port/);
    await expect(startStudio({ chronos: s.chronos, contexts: s.contexts, port: ro.port })).rejects.toThrow(/EADDRINUSE/);
    const warnings: string[] = [];
    const open = await startStudio({ chronos: s.chronos, contexts: s.contexts, port: 0, host: '0.0.0.0', warn: (m) => warnings.push(m) });
    await open.close();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/not on 127\.0\.0\.1/);
  });
});
