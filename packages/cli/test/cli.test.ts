// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${VAR} is the config syntax the CLI reads and writes
/**
 * Every command of the built `chronos` binary against the embedded default
 * (a config in a temp folder, the store under it), and the bad-input cases of
 * issue 13 with their exit codes and nothing written.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initChronos } from 'chronos-db';
import { assertBuilt, cli, lines } from './helpers';

const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex').toString('base64');

describe('chronos on the embedded default', () => {
  const dir = mkdtempSync(join(tmpdir(), 'chronos-cli-'));
  const sub = join(dir, 'a', 'b');
  mkdirSync(sub, { recursive: true });
  const config = {
    localStorage: { enabled: true, basePath: './data' },
    collectionMaps: { users: { indexedProps: ['email', 'status'], base64Props: { avatar: { contentType: 'image/png' } } } },
    defaults: { db: 'app', collection: 'users' },
  };
  const run = (args: string[], input?: string, env?: NodeJS.ProcessEnv) => cli(args, { cwd: sub, input, env });
  let id = '';

  beforeAll(() => {
    assertBuilt();
    writeFileSync(join(dir, 'chronos.config.json'), JSON.stringify(config));
  });

  it('--version, --help with examples, unknown command or flag with a suggestion (exit 2)', async () => {
    const v = await run(['--version']);
    expect(v.code).toBe(0);
    expect(v.stdout.trim()).toBe(JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')).version);
    const h = await run(['restore-collection', '--help']);
    expect(h.code).toBe(0);
    expect(h.stdout).toContain('Examples:');
    const u = await run(['histroy', 'x']);
    expect(u.code).toBe(2);
    expect(u.stderr).toMatch(/unknown command 'histroy'[\s\S]*Did you mean history\?/);
    const f = await run(['ls', '--limitt', '3']);
    expect(f.code).toBe(2);
    expect(f.stderr).toMatch(/unknown option '--limitt'[\s\S]*Did you mean --limit\?/);
    const missing = await run(['get']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("missing required argument 'id'");
  });

  it('read-only commands on a store that does not exist: exit 3, say where they looked, create nothing', async () => {
    for (const args of [['ls'], ['get', 'x'], ['history', 'x'], ['health'], ['changes']]) {
      const r = await run(args);
      expect(r.code).toBe(3);
      expect(r.stderr).toContain(`no chronos store at ${join(dir, 'data')}`);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
    expect(existsSync(join(dir, 'data'))).toBe(false);
  });

  it('create from stdin and from a file (config found upward, basePath relative to it), --request-id is idempotent', async () => {
    const c = await run(
      ['create', '--request-id', 'req-1', '--actor', 'ops', '--reason', 'seed'],
      JSON.stringify({ email: 'a@example.com', status: 'active', avatar: PNG }),
    );
    expect(c.code).toBe(0);
    const out = JSON.parse(c.stdout);
    id = out.id;
    expect(out.ov).toBe(0);
    expect(existsSync(join(dir, 'data', 'chronos-metadata.sqlite'))).toBe(true);
    const again = await run(
      ['create', '--request-id', 'req-1', '--actor', 'ops', '--reason', 'seed'],
      JSON.stringify({ email: 'a@example.com', status: 'active', avatar: PNG }),
    );
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ id, ov: 0 });
    writeFileSync(join(dir, 'b.json'), JSON.stringify({ email: 'b@example.com', status: 'active' }));
    const f = await run(['create', join(dir, 'b.json'), '--id', 'user-b']);
    expect(f.code).toBe(0);
    expect(JSON.parse(f.stdout).id).toBe('user-b');
    const ls = await run(['ls']);
    expect(
      lines(ls.stdout)
        .map((r) => r.id)
        .sort(),
    ).toEqual([id, 'user-b'].sort());
  });

  it('update --expected-ov (stale: exit 4, nothing written), enrich, delete', async () => {
    const u = await run(['update', id, '--expected-ov', '0'], JSON.stringify({ email: 'a2@example.com', status: 'active', avatar: PNG }));
    expect(u.code).toBe(0);
    expect(JSON.parse(u.stdout).ov).toBe(1);
    const stale = await run(['update', id, '--expected-ov', '0'], JSON.stringify({ email: 'zz@example.com' }));
    expect(stale.code).toBe(4);
    expect(stale.stderr).toMatch(/^error: OptimisticLockError: .*expected 0\n$/);
    const e = await run(['enrich', id], JSON.stringify({ tags: ['vip'] }));
    expect(e.code).toBe(0);
    const d = await run(['delete', 'user-b', '--expected-ov', '0']);
    expect(d.code).toBe(0);
    const h = await run(['history', id]);
    expect(lines(h.stdout).map((v) => v.ov)).toEqual([2, 1, 0]);
    expect(lines(h.stdout)[2]).toMatchObject({ op: 'CREATE', actor: 'ops', reason: 'seed' });
  });

  it('get latest, --ov, --at, --cv; an unknown id is exit 3', async () => {
    const latest = JSON.parse((await run(['get', id])).stdout);
    expect(latest).toMatchObject({ email: 'a2@example.com', tags: ['vip'], _meta: { ov: 2 } });
    const v0 = JSON.parse((await run(['get', id, '--ov', '0'])).stdout);
    expect(v0.email).toBe('a@example.com');
    const atV1 = JSON.parse((await run(['get', id, '--at', latest._meta.at])).stdout);
    expect(atV1._meta.ov).toBe(2);
    const byCv = JSON.parse((await run(['get', id, '--cv', String(v0._meta.cv)])).stdout);
    expect(byCv._meta.ov).toBe(0);
    const nf = await run(['get', 'nobody']);
    expect(nf.code).toBe(3);
    expect(nf.stderr).toBe("error: record 'nobody' not found\n");
    const bad = await run(['get', id, '--ov', 'x']);
    expect(bad.code).toBe(2);
  });

  it('get loads only what it uses: no admin, AWS SDK, MongoDB driver, prompts, tables or config loaders', async () => {
    // the start-up budget of issue 13, counted in modules rather than milliseconds: every module the process loaded
    const hook = join(dir, 'modules-hook.cjs');
    const listFile = join(dir, 'modules.json');
    writeFileSync(
      hook,
      `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(listFile)}, JSON.stringify(Object.keys(require.cache))));\n`,
    );
    const g = await run(['get', id], undefined, { NODE_OPTIONS: `--require ${hook}` });
    expect(g.code).toBe(0);
    const loaded = JSON.parse(readFileSync(listFile, 'utf8')) as string[];
    const pkgs = new Set(loaded.map((f) => /node_modules\/((?:@[^/]+\/)?[^/]+)\/(?!.*node_modules)/.exec(f)?.[1] ?? /packages\/([^/]+)\/dist\//.exec(f)?.[1]));
    for (const p of ['core', 'router', 'chronos-db', 'storage-local', 'cli', 'better-sqlite3']) expect([p, pkgs.has(p)]).toEqual([p, true]);
    for (const p of [
      'admin',
      'storage-s3',
      'storage-mongo',
      '@aws-sdk/client-s3',
      'mongodb',
      '@inquirer/core',
      'cli-table3',
      'cli-progress',
      'yaml',
      'jiti',
      'dotenv',
    ])
      expect([p, pkgs.has(p)]).toEqual([p, false]);
    // one copy of core: the adapters and the entry agree on the CommonJS build
    expect(loaded.filter((f) => /packages\/core\/dist\/index\.[cm]?js$/.test(f))).toHaveLength(1);
  });

  it('history pages, diff as RFC 6902 JSON, changes after a cv', async () => {
    const p1 = await run(['history', id, '--limit', '2']);
    expect(lines(p1.stdout)).toHaveLength(2);
    const token = /--page-token (\S+)/.exec(p1.stderr)![1]!;
    const p2 = await run(['history', id, '--limit', '2', '--page-token', token]);
    expect(lines(p2.stdout).map((v) => v.ov)).toEqual([0]);
    const all = await run(['history', id, '--all', '--asc', '--limit', '1']);
    expect(lines(all.stdout).map((v) => v.ov)).toEqual([0, 1, 2]);
    const d = await run(['diff', id, '--from', 'ov:0', '--to', '1', '--json']);
    expect(d.code).toBe(0);
    expect(JSON.parse(d.stdout)).toEqual([{ op: 'replace', path: '/email', value: 'a2@example.com' }]);
    const same = await run(['diff', id, '--from', '2']);
    expect(JSON.parse(same.stdout)).toEqual([]);
    const bad = await run(['diff', id, '--from', 'yesterday-ish']);
    expect(bad.code).toBe(2);
    const ch = await run(['changes', '--after-cv', '1']);
    const feed = lines(ch.stdout);
    expect(feed.length).toBeGreaterThanOrEqual(4);
    expect(feed.every((c) => (c.cv as number) > 1)).toBe(true);
    expect(feed.map((c) => c.cv)).toEqual([...feed.map((c) => c.cv as number)].sort((a, b) => a - b));
  });

  it('changes --follow prints new versions as they land and stops on SIGINT', async () => {
    const { spawn } = await import('node:child_process');
    const { BIN } = await import('./helpers');
    const last = lines((await run(['changes', '--all'])).stdout).pop()!.cv as number;
    const child = spawn(process.execPath, [BIN, 'changes', '--follow', '--after-cv', String(last)], { cwd: sub, env: { ...process.env, NO_COLOR: '1' } });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const closed = new Promise<number | null>((r) => child.on('close', (c) => r(c)));
    await new Promise((r) => setTimeout(r, 800));
    const w = await run(['create', '--id', 'followed'], JSON.stringify({ email: 'f@example.com' }));
    expect(w.code).toBe(0);
    for (let i = 0; i < 100 && !out.includes('followed'); i++) await new Promise((r) => setTimeout(r, 100));
    child.kill('SIGINT');
    expect(await closed).toBe(0);
    expect(lines(out).map((c) => c.id)).toEqual(['followed']);
  });

  it('changes pages: 100 by default, --all reads every page 1000 at a time unless --limit says otherwise', async () => {
    const ndjson = Array.from({ length: 1050 }, (_, i) => JSON.stringify({ id: `f${i}`, n: i })).join('\n');
    const im = await run(['--collection', 'feedpages', 'import'], ndjson);
    expect(JSON.parse(im.stdout)).toEqual({ read: 1050, imported: 1050, failed: 0 });
    const one = await run(['--collection', 'feedpages', 'changes']);
    expect(lines(one.stdout)).toHaveLength(100);
    expect(one.stderr).toContain('next: --after-cv 100 (1 page of up to 100)');
    const all = await run(['--collection', 'feedpages', 'changes', '--all']);
    expect(new Set(lines(all.stdout).map((c) => c.id)).size).toBe(1050);
    // (the last page is the empty one that says there is no more)
    expect(all.stderr).toContain('next: --after-cv 1050 (3 pages of up to 1000)');
    const small = await run(['--collection', 'feedpages', 'changes', '--all', '--limit', '500']);
    expect(lines(small.stdout)).toHaveLength(1050);
    expect(small.stderr).toContain('next: --after-cv 1050 (4 pages of up to 500)');
  });

  it('restore and restore-collection: --dry-run plans, no --yes without a terminal is refused, --yes applies', async () => {
    const dry = await run(['restore', id, '--ov', '0', '--dry-run']);
    expect(JSON.parse(dry.stdout)).toMatchObject({ id, from: { ov: 2 }, to: { ov: 0 }, dryRun: true });
    const refused = await run(['restore', id, '--ov', '0']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('refusing without --yes');
    expect(lines((await run(['history', id])).stdout)).toHaveLength(3);
    const r = await run(['restore', id, '--ov', '0', '--yes']);
    expect(r.code).toBe(0);
    expect(JSON.parse((await run(['get', id])).stdout).email).toBe('a@example.com');

    const v0cv = JSON.parse((await run(['get', id, '--ov', '0'])).stdout)._meta.cv as number;
    const plan = await run(['restore-collection', '--cv', String(v0cv), '--dry-run']);
    expect(JSON.parse(plan.stdout)).toMatchObject({ target: { cv: v0cv }, dryRun: true });
    const before = lines((await run(['changes', '--all'])).stdout).length;
    const no = await run(['restore-collection', '--cv', String(v0cv)]);
    expect(no.code).toBe(2);
    expect(lines((await run(['changes', '--all'])).stdout).length).toBe(before);
    const yes = await run(['restore-collection', '--cv', String(v0cv), '--yes']);
    expect(yes.code).toBe(0);
    expect(JSON.parse(yes.stdout).restored).toBeGreaterThan(0);
    // only the first record existed at that cv
    expect(lines((await run(['ls'])).stdout).map((x) => x.id)).toEqual([id]);
  });

  it('health, backends, buckets (--create), doctor, gc, counters (--recount)', async () => {
    expect(JSON.parse((await run(['health'])).stdout).ok).toBe(true);
    const b = await run(['backends', '--json']);
    expect(b.code).toBe(0);
    const bk = await run(['buckets', '--create']);
    expect(bk.code).toBe(0);
    expect(lines(bk.stdout).map((x) => x.status)).toEqual(expect.arrayContaining(['created']));
    expect(lines((await run(['buckets'])).stdout).every((x) => x.status === 'ok')).toBe(true);
    const doc = await run(['doctor']);
    expect(doc.code).toBe(0);
    expect(lines(doc.stdout).map((c) => c.check)).toEqual(expect.arrayContaining(['config', 'indexes', 'fallback queue']));
    expect(lines(doc.stdout).find((c) => c.check === 'indexes')).toMatchObject({ status: 'ok', detail: expect.stringContaining("embedded store's schema") });
    const gcDry = await run(['gc', '--dry-run']);
    expect(gcDry.code).toBe(0);
    expect(JSON.parse(gcDry.stdout)).toHaveProperty('scanned');
    expect((await run(['gc'])).code).toBe(2);
    expect((await run(['gc', '--yes'])).code).toBe(0);
    const cnt = JSON.parse((await run(['counters'])).stdout);
    const re = JSON.parse((await run(['counters', '--recount'])).stdout);
    expect(re.created).toBeGreaterThanOrEqual(3);
    expect(cnt).toHaveProperty('created');
  });

  it('export then import into an empty collection: same records (content blobs included), same listAsOf answers; a rerun writes nothing twice', async () => {
    const ex = await run(['export']);
    expect({ code: ex.code, stderr: ex.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
    const dump = lines(ex.stdout);
    expect(dump.length).toBeGreaterThan(0);
    expect(dump.find((r) => r.id === id)!.avatar).toBe(PNG);
    writeFileSync(join(dir, 'dump.ndjson'), ex.stdout);
    const im = await run(['--db', 'app2', 'import', join(dir, 'dump.ndjson')]);
    expect(im.code).toBe(0);
    expect(JSON.parse(im.stdout)).toEqual({ read: dump.length, imported: dump.length, failed: 0 });
    const again = await run(['--db', 'app2', 'import'], ex.stdout);
    expect(JSON.parse(again.stdout)).toEqual({ read: dump.length, imported: dump.length, failed: 0 });
    const { defaults, ...libConfig } = config;
    void defaults;
    const chronos = initChronos({ ...libConfig, localStorage: { enabled: true, basePath: join(dir, 'data') } });
    try {
      const a = chronos.with({ dbName: 'app', collection: 'users' });
      const b = chronos.with({ dbName: 'app2', collection: 'users' });
      // the same collection map applies in app2: the avatar is externalized there too (same bytes, same sha256)
      const strip = (rs: Record<string, unknown>[]) =>
        rs.map(({ _system, _meta, avatar, ...d }) => ({ ...d, ...(avatar ? { avatar: (avatar as { ref: { sha256: string } }).ref.sha256 } : {}) }));
      const at = new Date();
      const la = await a.listAsOf({ at }, { limit: 1000 });
      const lb = await b.listAsOf({ at }, { limit: 1000 });
      expect(la.items.length).toBeGreaterThan(0);
      expect(strip(lb.items as never)).toEqual(strip(la.items as never));
      for (const r of la.items) {
        expect((await b.history(r.id)).items).toHaveLength(1);
        if ((r as Record<string, unknown>).avatar)
          expect(Buffer.from(await b.getPropertyContent(r.id, 'avatar')).toString('base64')).toBe(
            Buffer.from(await a.getPropertyContent(r.id, 'avatar')).toString('base64'),
          );
      }
    } finally {
      await chronos.admin.shutdown();
    }
  });

  it('export of all of a context (no collection: every one of collectionMaps) then import: each collection restored to its own', async () => {
    const d = mkdtempSync(join(tmpdir(), 'chronos-cli-all-'));
    const maps = {
      users: { indexedProps: [], base64Props: { avatar: { contentType: 'image/png' } } },
      orders: { indexedProps: ['status'] },
      unused: { indexedProps: [] },
      // the target of a renamed import (externalizes the avatar as users does)
      people: { indexedProps: [], base64Props: { avatar: { contentType: 'image/png' } } },
    };
    writeFileSync(
      join(d, 'chronos.config.json'),
      JSON.stringify({ localStorage: { enabled: true, basePath: './data' }, collectionMaps: maps, defaults: { db: 'shop' } }),
    );
    const lib = () => initChronos({ localStorage: { enabled: true, basePath: join(d, 'data') }, collectionMaps: maps });
    const seed = lib();
    try {
      const users = seed.with({ dbName: 'shop', collection: 'users' });
      await users.create({ name: 'ann', avatar: PNG }, undefined, undefined, { id: 'u1' });
      await users.create({ name: 'bob' }, undefined, undefined, { id: 'u2' });
      const orders = seed.with({ dbName: 'shop', collection: 'orders' });
      for (const id of ['o1', 'o2', 'u1']) await orders.create({ status: 'new', total: id.length }, undefined, undefined, { id });
      await orders.update('o1', { status: 'paid', total: 3 });
      await orders.delete('o2');
      // a collection the config does not map: the store lists it
      await seed.with({ dbName: 'shop', collection: 'extra' }).create({ x: 1 }, undefined, undefined, { id: 'e1' });
      await seed.with({ dbName: 'elsewhere', collection: 'other' }).create({ x: 2 }, undefined, undefined, { id: 'x1' });
    } finally {
      await seed.admin.shutdown();
    }
    const at = (dir: string) => (args: string[], input?: string) => cli(args, { cwd: dir, input });
    const run2 = at(d);
    const ex = await run2(['export']);
    expect(ex.code).toBe(0);
    const dump = lines(ex.stdout) as Array<{ id: string; _meta: { collection: string }; avatar?: string }>;
    expect(dump.map((r) => `${r._meta.collection}/${r.id}`)).toEqual(['users/u1', 'users/u2', 'orders/o1', 'orders/u1', 'extra/e1']);
    expect(dump[0]!.avatar).toBe(PNG);
    expect(ex.stderr).toMatch(/exported 2 record\(s\) of users[\s\S]*exported 2 record\(s\) of orders[\s\S]*exported 0 record\(s\) of unused/);
    writeFileSync(join(d, 'all.ndjson'), ex.stdout);

    // bad combinations: exit 2, nothing written
    expect((await run2(['export', '--cv', '2'])).stderr).toContain('--cv is a version of one collection');
    expect((await run2(['export', '--all-collections', '--collection', 'users'])).code).toBe(2);
    const one = await run2(['--db', 'shop2', '--collection', 'users', 'import', 'all.ndjson']);
    expect({ code: one.code, err: one.stderr }).toEqual({
      code: 2,
      err: expect.stringContaining('the input holds more than one collection (users, orders, ...): drop --collection'),
    });

    const im = await run2(['--db', 'shop2', 'import', 'all.ndjson']);
    expect({ code: im.code, out: JSON.parse(im.stdout) }).toEqual({ code: 0, out: { read: 5, imported: 5, failed: 0, collections: 3 } });
    const again = await run2(['--db', 'shop2', 'import'], ex.stdout);
    expect(JSON.parse(again.stdout)).toEqual({ read: 5, imported: 5, failed: 0, collections: 3 });
    // a single collection of the dump, renamed: --collection with a one-collection input
    const usersOnly = await run2(['--collection', 'users', 'export']);
    const renamed = await run2(['--db', 'shop3', '--collection', 'people', 'import'], usersOnly.stdout);
    expect(JSON.parse(renamed.stdout)).toEqual({ read: 2, imported: 2, failed: 0 });

    const check = lib();
    try {
      const strip = (rs: Record<string, unknown>[]) =>
        rs.map(({ _system, _meta, avatar, ...r }) => ({ ...r, ...(avatar ? { avatar: (avatar as { ref: { sha256: string } }).ref.sha256 } : {}) }));
      const now = new Date();
      for (const [collection, db2, col2] of [
        ['users', 'shop2', 'users'],
        ['orders', 'shop2', 'orders'],
        ['extra', 'shop2', 'extra'],
        ['users', 'shop3', 'people'],
      ] as const) {
        const a = await check.with({ dbName: 'shop', collection }).listAsOf({ at: now }, { limit: 100 });
        const b = await check.with({ dbName: db2, collection: col2 }).listAsOf({ at: now }, { limit: 100 });
        expect([collection, strip(b.items as never)]).toEqual([collection, strip(a.items as never)]);
        for (const r of b.items) expect((await check.with({ dbName: db2, collection: col2 }).history(r.id)).items).toHaveLength(1);
      }
      const c2 = check.with({ dbName: 'shop2', collection: 'users' });
      expect(Buffer.from(await c2.getPropertyContent('u1', 'avatar')).toString('base64')).toBe(PNG);
      expect((await check.with({ dbName: 'shop2', collection: 'unused' }).listByMeta({ limit: 10 })).items).toEqual([]);
    } finally {
      await check.admin.shutdown();
    }
  });

  it('import past its memory budget (CHRONOS_IMPORT_MEMORY_BYTES): stdin spooled from the line it outgrew memory, read again; a bad line after that still writes nothing', async () => {
    const recs = Array.from({ length: 7 }, (_, i) => ({ id: `sp-${i}`, n: i, nested: { s: `é ${i}`, list: [i, null, true] }, _meta: { ov: 3 } }));
    const text = `${recs.map((r) => JSON.stringify(r)).join('\n')}\n`;
    // held for two lines, then spooled: the two re-written, the rest copied
    const budget = { CHRONOS_IMPORT_MEMORY_BYTES: String(JSON.stringify(recs[0]).length + JSON.stringify(recs[1]).length + 2) };
    const bad = await run(['--collection', 'spooled', 'import'], `${text}{"id":"sp-x",\n`, budget);
    expect({ code: bad.code, err: bad.stderr.trim() }).toEqual({ code: 2, err: 'error: invalid JSON at line 8 of stdin; nothing was imported' });
    expect(lines((await run(['--collection', 'spooled', 'ls'])).stdout)).toEqual([]);
    expect((await run(['--collection', 'spooled', 'import'], text, { CHRONOS_IMPORT_MEMORY_BYTES: 'lots' })).code).toBe(2);
    for (const env of [budget, { CHRONOS_IMPORT_MEMORY_BYTES: '0' }, {}]) {
      const im = await run(['--collection', 'spooled', 'import'], text, env);
      expect({ code: im.code, out: JSON.parse(im.stdout) }).toEqual({ code: 0, out: { read: 7, imported: 7, failed: 0 } });
    }
    const got = lines((await run(['--collection', 'spooled', 'ls', '--limit', '100'])).stdout).map(({ _system, _meta, ...d }) => d);
    expect(got).toEqual(recs.map(({ _meta, ...d }) => d));
    expect(lines((await run(['--collection', 'spooled', 'changes', '--all'])).stdout)).toHaveLength(7);
    // a file past the budget: the held records, then the file read again past them (a blank line between)
    const file = join(mkdtempSync(join(tmpdir(), 'chronos-cli-imp-')), 'in.ndjson');
    writeFileSync(
      file,
      `${JSON.stringify(recs[0])}\n\n${recs
        .slice(1)
        .map((r) => JSON.stringify(r))
        .join('\n')}\n`,
    );
    for (const [collection, env] of [
      ['held2', budget],
      ['held0', { CHRONOS_IMPORT_MEMORY_BYTES: '0' }],
    ] as const) {
      const im = await run(['--collection', collection, 'import', file], undefined, env);
      expect({ code: im.code, out: JSON.parse(im.stdout) }).toEqual({ code: 0, out: { read: 7, imported: 7, failed: 0 } });
      const fromFile = lines((await run(['--collection', collection, 'ls', '--limit', '100'])).stdout).map(({ _system, _meta, ...d }) => d);
      expect(fromFile).toEqual(recs.map(({ _meta, ...d }) => d));
      expect(lines((await run(['--collection', collection, 'changes', '--all'])).stdout)).toHaveLength(7);
    }
  });

  it('bad input: invalid JSON on stdin, an NDJSON with a bad line: exit 2, nothing written', async () => {
    const before = lines((await run(['changes', '--all'])).stdout).length;
    const j = await run(['create'], '{"email": ');
    expect(j.code).toBe(2);
    expect(j.stderr).toMatch(/^error: invalid JSON on stdin/);
    const arr = await run(['create'], '[1,2]');
    expect(arr.code).toBe(2);
    const nd = await run(['--collection', 'users3', 'import'], `${JSON.stringify({ id: 'ok-1', a: 1 })}\n{not json\n`);
    expect(nd.code).toBe(2);
    expect(nd.stderr).toContain('invalid JSON at line 2 of stdin; nothing was imported');
    expect(lines((await run(['--collection', 'users3', 'ls'])).stdout)).toEqual([]);
    expect(lines((await run(['changes', '--all'])).stdout).length).toBe(before);
  });

  it('config: --config, ${VAR} from .env beside it, CHRONOS_* context, unset ${VAR}, invalid config (no secret printed), missing config', async () => {
    const d2 = mkdtempSync(join(tmpdir(), 'chronos-cli-cfg-'));
    writeFileSync(join(d2, 'c.yaml'), 'localStorage:\n  enabled: true\n  basePath: ${STORE_DIR}\n');
    writeFileSync(join(d2, '.env'), 'STORE_DIR=./store\n');
    const w = await cli(['--config', 'c.yaml', 'create'], { cwd: d2, input: '{"x":1}', env: { CHRONOS_DB: 'envdb', CHRONOS_COLLECTION: 'things' } });
    expect(w.code).toBe(0);
    expect(existsSync(join(d2, 'store', 'chronos-metadata.sqlite'))).toBe(true);
    const r = await cli(['-c', join(d2, 'c.yaml'), '--db', 'envdb', '--collection', 'things', 'ls'], { cwd: tmpdir() });
    expect(lines(r.stdout)).toHaveLength(1);

    writeFileSync(join(d2, 'unset.json'), JSON.stringify({ localStorage: { enabled: true, basePath: '${NOT_SET_ANYWHERE_X}' } }));
    const u = await cli(['-c', 'unset.json', '--db', 'a', '--collection', 'b', 'ls'], { cwd: d2 });
    expect(u.code).toBe(2);
    expect(u.stderr).toBe(
      `error: config ${join(d2, 'unset.json')}: \${NOT_SET_ANYWHERE_X} in localStorage.basePath is not set (set it in the environment or in ${join(d2, '.env')})\n`,
    );

    const secret = 'sEcReT-Value-0123456789abcdef';
    writeFileSync(
      join(d2, 'bad.json'),
      JSON.stringify({
        spacesConns: [
          {
            endpoint: 'http://127.0.0.1:1',
            region: 'x',
            accessKey: 'AKIAEXAMPLE1',
            secretKey: secret,
            jsonBucket: 'j-b',
            contentBucket: 'c-b',
            backupsBucket: 'b-b',
            nope: 1,
          },
        ],
        databases: { metadata: { generic: { key: 'k', mongoUri: `mongodb://u:${secret}@127.0.0.1:1`, dbName: 'd' } } },
      }),
    );
    const bad = await cli(['-c', 'bad.json', '--db', 'd', '--collection', 'b', 'ls', '--verbose'], { cwd: d2 });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("spacesConns[0]: unknown key(s): 'nope'");
    expect(bad.stderr).not.toContain(secret);
    expect(bad.stderr).not.toMatch(/\n\s+at /); // no stack for a user mistake

    writeFileSync(join(d2, 'broken.json'), `{"localStorage": {"basePath": "${secret}", }`);
    const br = await cli(['-c', 'broken.json', 'ls'], { cwd: d2 });
    expect(br.code).toBe(2);
    expect(br.stderr).toMatch(/invalid JSON at line 1, column \d+/);
    expect(br.stderr).not.toContain(secret);

    const none = await cli(['ls'], { cwd: mkdtempSync(join(tmpdir(), 'chronos-cli-none-')) });
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/^error: no config found: looked for chronos\.config\.\{json,yaml,yml,mjs,js,ts\} in .* and every folder above it/);
    const gone = await cli(['-c', 'nowhere.json', 'ls'], { cwd: d2 });
    expect(gone.code).toBe(2);
    expect(gone.stderr).toBe(`error: config file not found: ${join(d2, 'nowhere.json')}\n`);
    const noDb = await cli(['-c', 'c.yaml', '--collection', 'things', 'ls'], { cwd: d2 });
    expect(noDb.code).toBe(2);
    expect(noDb.stderr).toContain('give --db <dbName> or --key');
  });

  it('module configs: chronos.config.mjs (ESM, found upward), .ts (transformed), .js (CommonJS), one that throws (exit 2)', async () => {
    const d = mkdtempSync(join(tmpdir(), 'chronos-cli-mod-'));
    const deep = join(d, 'x');
    mkdirSync(deep);
    writeFileSync(
      join(d, 'chronos.config.mjs'),
      "import { join } from 'node:path';\nexport default { localStorage: { enabled: true, basePath: join('.', 'm') }, defaults: { db: 'm', collection: 'c' } };\n",
    );
    expect((await cli(['create', '--id', 'm1'], { cwd: deep, input: '{"k":"mjs"}' })).code).toBe(0);
    expect(existsSync(join(d, 'm', 'chronos-metadata.sqlite'))).toBe(true);
    writeFileSync(
      join(d, 'c.ts'),
      "type C = { localStorage: { enabled: boolean; basePath: string } };\nconst config: C = { localStorage: { enabled: true, basePath: './m' } };\nexport default config;\n",
    );
    writeFileSync(join(d, 'c.js'), "module.exports = { localStorage: { enabled: true, basePath: './m' } };\n");
    for (const f of ['c.ts', 'c.js']) {
      const g = await cli(['-c', f, '--db', 'm', '--collection', 'c', 'get', 'm1'], { cwd: d });
      expect([f, g.code, g.stderr]).toEqual([f, 0, '']);
      expect(JSON.parse(g.stdout).k).toBe('mjs');
    }
    writeFileSync(join(d, 'bad.mjs'), "throw new TypeError('boom');\n");
    const bad = await cli(['-c', 'bad.mjs', '--db', 'm', '--collection', 'c', 'ls'], { cwd: d });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe(`error: config ${join(d, 'bad.mjs')}: the module failed to load (TypeError)\n`);
  });

  it('init writes a starter config once (exit 4 the second time) that the next commands find', async () => {
    const d3 = mkdtempSync(join(tmpdir(), 'chronos-cli-init-'));
    const i = await cli(['init'], { cwd: d3 });
    expect(i.code).toBe(0);
    expect(i.stderr).toContain('chronos doctor');
    expect((await cli(['init'], { cwd: d3 })).code).toBe(4);
    expect((await cli(['create'], { cwd: d3, input: '{"hello":"world"}' })).code).toBe(0);
    expect(lines((await cli(['ls'], { cwd: d3 })).stdout)).toHaveLength(1);
    const y = mkdtempSync(join(tmpdir(), 'chronos-cli-init-'));
    expect((await cli(['init', '--format', 'yaml', '--mongo', '--spaces', 'https://fra1.digitaloceanspaces.com'], { cwd: y })).code).toBe(0);
    const text = readFileSync(join(y, 'chronos.config.yaml'), 'utf8');
    expect(text).toContain('${DO_SPACES_SECRET_KEY}');
    const unset = await cli(['doctor'], { cwd: y, env: { MONGODB_URI: undefined, DO_SPACES_ACCESS_KEY: undefined } });
    expect(unset.code).toBe(2);
    expect(unset.stderr).toMatch(/\$\{(MONGODB_URI|DO_SPACES_ACCESS_KEY)\} in .* is not set/);
  });

  it('queue commands over the local journal (fallback on)', async () => {
    const d4 = mkdtempSync(join(tmpdir(), 'chronos-cli-q-'));
    writeFileSync(
      join(d4, 'chronos.config.json'),
      JSON.stringify({
        localStorage: { enabled: true, basePath: './data' },
        fallback: { enabled: true, maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 100, deadLetterCollection: 'dead' },
        defaults: { db: 'app', collection: 'c' },
      }),
    );
    expect((await cli(['create'], { cwd: d4, input: '{"a":1}' })).code).toBe(0);
    expect(JSON.parse((await cli(['queue', 'stats'], { cwd: d4 })).stdout)).toMatchObject({ pending: 0, claimed: 0, dead: 0 });
    expect((await cli(['queue', 'pending'], { cwd: d4 })).stdout).toBe('');
    const unknown = await cli(['queue', 'retry', 'no-such-op'], { cwd: d4 });
    expect(unknown.code).toBe(3);
    const work = await cli(['queue', 'work'], { cwd: d4 });
    expect(work.code).toBe(0);
    const off = await run(['queue', 'stats']);
    expect(off.code).toBe(2);
    expect(off.stderr).toContain('the fallback queue is off');
  });

  it('hard-delete: off by default (exit 2), refused without a terminal or --confirm <id>, erases with it', async () => {
    const d5 = mkdtempSync(join(tmpdir(), 'chronos-cli-hd-'));
    writeFileSync(
      join(d5, 'chronos.config.json'),
      JSON.stringify({ localStorage: { enabled: true, basePath: './data' }, hardDeleteEnabled: true, defaults: { db: 'app', collection: 'c' } }),
    );
    expect((await cli(['create', '--id', 'gone'], { cwd: d5, input: '{"pii":"x"}' })).code).toBe(0);
    const off = await run(['hard-delete', id, '--confirm', id]);
    expect(off.code).toBe(2);
    expect(off.stderr).toContain('hard-delete is off');
    const noTty = await cli(['hard-delete', 'gone', '--yes'], { cwd: d5 });
    expect(noTty.code).toBe(2);
    expect(noTty.stderr).toContain('--confirm <id>');
    expect((await cli(['hard-delete', 'gone', '--confirm', 'other'], { cwd: d5 })).code).toBe(2);
    expect((await cli(['get', 'gone'], { cwd: d5 })).code).toBe(0);
    const ok = await cli(['hard-delete', 'gone', '--confirm', 'gone', '--actor', 'dpo', '--reason', 'gdpr-17'], { cwd: d5 });
    expect(ok).toMatchObject({ code: 0 });
    expect(JSON.parse(ok.stdout)).toMatchObject({ id: 'gone' });
    expect((await cli(['get', 'gone', '--include-deleted'], { cwd: d5 })).code).toBe(3);
    expect((await cli(['hard-delete', 'gone', '--confirm', 'gone'], { cwd: d5 })).code).toBe(3);
    const er = lines((await cli(['erasures'], { cwd: d5 })).stdout);
    expect(er).toEqual([expect.objectContaining({ itemId: 'gone', status: 'done', actor: 'dpo', reason: 'gdpr-17' })]);
    expect(JSON.stringify(er)).not.toContain('"x"');
  });

  it('rollup then prune (retention maxVersions 1): rows move to manifests, old versions still read; prune asks first', async () => {
    const d6 = mkdtempSync(join(tmpdir(), 'chronos-cli-life-'));
    writeFileSync(
      join(d6, 'chronos.config.json'),
      JSON.stringify({ localStorage: { enabled: true, basePath: './data' }, retention: { ver: { maxVersions: 1 } }, defaults: { db: 'app', collection: 'c' } }),
    );
    expect((await cli(['create', '--id', 'k'], { cwd: d6, input: '{"v":0}' })).code).toBe(0);
    for (let v = 1; v <= 3; v++) expect((await cli(['update', 'k'], { cwd: d6, input: JSON.stringify({ v }) })).code).toBe(0);
    const r = await cli(['rollup'], { cwd: d6 });
    expect(r).toMatchObject({ code: 0 });
    expect(lines(r.stdout)[0]).toMatchObject({ dbName: 'app', collection: 'c', rows: 3, unlistedPartsDeleted: 0 });
    expect(JSON.parse((await cli(['rollup'], { cwd: d6 })).stdout).rows).toBe(0);
    expect((await cli(['prune'], { cwd: d6 })).code).toBe(2);
    const p = await cli(['prune', '--yes'], { cwd: d6 });
    expect(p).toMatchObject({ code: 0 });
    expect(lines(p.stdout)[0]).toMatchObject({ rows: 3 });
    expect(JSON.parse((await cli(['get', 'k', '--ov', '0'], { cwd: d6 })).stdout).v).toBe(0);
    expect((await cli(['maintain'], { cwd: d6 })).code).toBe(2);
    const m = await cli(['maintain', '--yes', '--skip', 'gc'], { cwd: d6 });
    expect(m).toMatchObject({ code: 0 });
    expect(lines(m.stdout)[0]).toMatchObject({ ran: true });
    expect((await cli(['maintain', '--yes', '--skip', 'nope'], { cwd: d6 })).code).toBe(2);
    const sh = await cli(['shrink', '--dry-run'], { cwd: d6 });
    expect(sh).toMatchObject({ code: 0 });
    expect(JSON.parse(sh.stdout)).toMatchObject({ dryRun: true });
  });
});
