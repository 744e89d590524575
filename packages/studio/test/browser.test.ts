/**
 * The studio in a real browser: headless Chromium (Debian's `chromium` package, or
 * CHRONOS_CHROMIUM) driven by playwright-core, on a seeded embedded store. What a person sees:
 * the timeline lists every version in order, the diff highlights exactly the changed fields, the
 * time picker shows the old value, the feed shows a write made after the page opened, restore
 * is absent without allowRestore and works with it (and a stale page gets a conflict).
 *
 * Screenshots of the record page and the diff go to .tmp/studio-screenshots; with
 * CHRONOS_STUDIO_SCREENSHOTS=1 they replace the ones in packages/studio/docs (the README's).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startStudio, type Studio } from '@chronos-db/studio';
import { allOvs, seeded } from './seed';

const wanted = process.env.CHRONOS_CHROMIUM;
const exe = wanted
  ? existsSync(wanted)
    ? wanted
    : undefined
  : ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find((p) => existsSync(p));
const shotsDir =
  process.env.CHRONOS_STUDIO_SCREENSHOTS === '1' ? join(__dirname, '..', 'docs') : join(__dirname, '..', '..', '..', '.tmp', 'studio-screenshots');
// the page's globals inside page functions (the workspace compiles without the DOM lib)
type Dom = {
  dataset: Record<string, string>;
  textContent: string | null;
  innerText: string;
  className: string;
  scrollIntoView(): void;
  querySelector(s: string): Dom | null;
  querySelectorAll(s: string): Dom[];
};
declare const document: { querySelector(s: string): Dom | null; querySelectorAll(s: string): Dom[]; getElementById(id: string): Dom | null };
declare const window: { scrollTo(x: number, y: number): void };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const title = exe
  ? `chronos studio in headless Chromium (${exe})`
  : `chronos studio in headless Chromium: SKIPPED, ${wanted ? `CHRONOS_CHROMIUM=${wanted} does not exist` : 'no Chromium found (apt-get install chromium, or set CHRONOS_CHROMIUM to an executable)'}`;
if (!exe) console.log(`[skip] ${title}`);

(exe ? describe : describe.skip)(title, () => {
  let s: Awaited<ReturnType<typeof seeded>>;
  let browser: Browser;
  let ro: Studio;
  let rw: Studio;
  const at: Record<number, string> = {};

  beforeAll(async () => {
    s = await seeded();
    // carol: 60 versions (v0-v59): n counts up; v55 changes team and city only; v56 deletes; v57 restores v55
    const carol = s.t1;
    await carol.create({ name: 'Carol', team: 'red', n: 0, city: 'Oslo', tags: ['a'] }, 'seed', 'created', { id: 'carol' });
    for (let i = 1; i <= 54; i++) await carol.update('carol', { name: 'Carol', team: 'red', n: i, city: 'Oslo', tags: ['a'] }, i - 1, 'counter', `count ${i}`);
    await sleep(5); // v55 one clock tick after v54: the time picker at v54's time must not land on v55
    await carol.update('carol', { name: 'Carol', team: 'blue', n: 54, city: 'Rome', tags: ['a'] }, 54, 'ops', 'moved to Rome');
    await carol.delete('carol', 55, 'ops', 'left');
    await carol.restoreObject('carol', { ov: 55 }, { actor: 'ops', reason: 'came back' });
    for (const i of [58, 59]) await carol.update('carol', { name: 'Carol', team: 'blue', n: i, city: 'Rome', tags: ['a'] }, i - 1, 'counter', `count ${i}`);
    let pageToken: string | undefined;
    do {
      const p = await carol.history('carol', { dir: 'asc', limit: 1000, ...(pageToken ? { pageToken } : {}) });
      for (const e of p.items) at[e.ov] = e.at.toISOString();
      pageToken = p.pageToken;
    } while (pageToken);
    ro = await startStudio({ chronos: s.chronos, contexts: s.contexts, port: 0 });
    rw = await startStudio({ chronos: s.chronos, contexts: s.contexts, port: 0, allowRestore: true });
    browser = await chromium.launch({ executablePath: exe!, headless: true });
    mkdirSync(shotsDir, { recursive: true });
  });
  afterAll(async () => {
    await browser?.close();
    await ro?.close();
    await rw?.close();
    await s?.cleanup();
  });

  const open = async (st: Studio, hash: string): Promise<Page> => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    (page as Page & { errors: string[] }).errors = errors;
    await page.goto(`${st.url}${hash}`);
    return page;
  };
  const rowsOvs = (page: Page) => page.$$eval('#timeline tbody tr[data-ov]', (trs) => trs.map((tr) => Number((tr as Dom).dataset.ov)));
  const waitRows = (page: Page, n: number) => page.waitForFunction((k) => document.querySelectorAll('#timeline tbody tr[data-ov]').length === k, n);

  it('the home page lists the contexts and their collections with record counts', async () => {
    const page = await open(ro, '');
    await page.waitForFunction(() => [...document.querySelectorAll('td.count')].every((td) => /^\d+\+?$/.test(td.textContent ?? '')));
    const counts = await page.$$eval('section.panel', (ss) =>
      ss.map((sec) => [
        sec.querySelector('h2')!.textContent,
        [...sec.querySelectorAll('td.count')].map((td) => `${(td as Dom).dataset.col}=${td.textContent}`),
      ]),
    );
    expect(counts).toEqual([
      ['shop · tenant t1', ['users=2', 'docs=1']],
      ['shop · tenant t2', ['users=1']],
    ]);
    await page.click('text=docs');
    await page.waitForSelector('#records tbody tr[data-id="doc1"]');
    // a record with externalized content links it (the embedded store serves it as a download)
    await page.click('#records a:text("doc1")');
    await page.waitForSelector('#version .content-links a');
    expect(await page.getAttribute('#version .content-links a', 'href')).toBe('api/content?c=0&col=docs&id=doc1&prop=file&ov=1');
    await page.close();
  });

  it('the timeline lists every version in order, 50 a page, deletes and restores marked', async () => {
    const page = await open(ro, '#/c/0/users/r/carol');
    await waitRows(page, 50);
    expect(await rowsOvs(page)).toEqual(Array.from({ length: 50 }, (_, i) => 59 - i));
    await page.waitForSelector('#version h2');
    expect(await page.textContent('#version h2')).toContain('v59');
    await page.click('#older');
    await waitRows(page, 60);
    expect(await rowsOvs(page)).toEqual(Array.from({ length: 60 }, (_, i) => 59 - i));
    expect(await page.isHidden('#older')).toBe(true);
    // biome-ignore lint/performance/useDomNodeTextContent: innerText separates the cells, as a person reads the row
    const row = (ov: number) => page.$eval(`#timeline tr[data-ov="${ov}"]`, (tr) => ({ cls: tr.className, text: (tr as Dom).innerText }));
    expect(await row(56)).toMatchObject({ cls: expect.stringContaining('deleted') });
    expect((await row(56)).text).toMatch(/DELETE · deleted\s+ops\s+left/);
    expect(await row(57)).toMatchObject({ cls: expect.stringContaining('restored') });
    expect((await row(57)).text).toMatch(/RESTORE\s+ops\s+came back/);
    expect((await row(0)).text).toMatch(/v0\s+CREATE\s+seed\s+created\s+/);
    expect((await row(0)).text).toContain(at[0]!.replace('T', ' ').replace('Z', ' UTC'));
    // keyboard: j selects the next older version
    await page.keyboard.press('j');
    await page.waitForFunction(() => document.querySelector('#version h2')?.textContent?.includes('v58'));
    expect(await page.$eval('#timeline tr.selected', (tr) => (tr as Dom).dataset.ov)).toBe('58');
    expect((page as Page & { errors: string[] }).errors).toEqual([]);
    await page.close();
  });

  it('the diff of two versions highlights exactly the changed fields', async () => {
    const page = await open(ro, '#/c/0/users/r/carol');
    await waitRows(page, 50);
    await page.check('#timeline tr[data-ov="54"] input[name=from]');
    await page.check('#timeline tr[data-ov="55"] input[name=to]');
    await page.click('#compare');
    await page.waitForSelector('#diff .diff');
    const marked = (side: string) => page.$$eval(`#diff .side.${side} .ln.changed`, (ls) => ls.map((l) => (l as Dom).dataset.path).sort());
    expect(await marked('from')).toEqual(['/city', '/team']);
    expect(await marked('to')).toEqual(['/city', '/team']);
    expect(await page.$eval('#diff .side.from .ln[data-path="/team"]', (l) => l.textContent)).toContain('"red"');
    expect(await page.$eval('#diff .side.to .ln[data-path="/team"]', (l) => l.textContent)).toContain('"blue"');
    expect(await page.textContent('#diff h2')).toContain('2 changes');
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: join(shotsDir, 'record.png') }); // timeline, version and diff
    await (await page.$('#diff'))!.screenshot({ path: join(shotsDir, 'diff.png') });
    // from the keyboard: pick v0 and v1 with the radios, then "c"
    await page.click('#older');
    await waitRows(page, 60);
    await page.focus('#timeline tr[data-ov="0"] input[name=from]');
    await page.keyboard.press('Space');
    await page.focus('#timeline tr[data-ov="1"] input[name=to]');
    await page.keyboard.press('Space');
    await page.focus('#compare');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.querySelector('#diff h2')?.textContent?.includes('v0 → v1'));
    expect(await marked('from')).toEqual(['/n']);
    expect(await marked('to')).toEqual(['/n']);
    await page.close();
  });

  it('the time picker shows the record as it was', async () => {
    const page = await open(ro, '#/c/0/users/r/carol');
    await waitRows(page, 50);
    await page.press('body', '/');
    await page.keyboard.type(at[54]!);
    await page.keyboard.press('Enter');
    await page.waitForSelector('#asof-view pre');
    const text = (await page.textContent('#asof-view'))!;
    expect(text).toContain('v54');
    expect(text).toContain('"team": "red"');
    expect(text).toContain('"city": "Oslo"');
    // the head says otherwise
    expect(await page.textContent('#version')).toContain('"team": "blue"');
    await page.fill('#asof-input', '2000-01-01T00:00:00Z');
    await page.click('#asof button[type=submit]');
    await page.waitForFunction(() => document.querySelector('#asof-view')?.textContent?.includes('did not exist'));
    await page.close();
  });

  it("the collection page lists the tenant's records and its feed shows a write made after the page opened", async () => {
    const page = await open(ro, '#/c/0/users');
    await page.waitForSelector('#records tbody tr[data-id]');
    expect(await page.$$eval('#records tbody tr[data-id]', (trs) => trs.map((t) => (t as Dom).dataset.id))).toEqual(['alice', 'carol']);
    await page.waitForFunction(() => document.getElementById('feed-state')?.textContent === 'live');
    expect(await page.$$('#feed li')).toHaveLength(0); // from now on, not the past
    const head = (await s.t1.history('carol', { limit: 1 })).items[0]!.ov;
    await s.t1.update('carol', { name: 'Carol', team: 'green', n: 100, city: 'Rome', tags: ['a'] }, head, 'feed-test', 'live');
    await page.waitForSelector(`#feed li[data-id="carol"][data-ov="${head + 1}"]`);
    expect(await page.textContent('#feed li')).toContain('feed-test');
    // a filter on an indexed property
    await page.fill('#filter input[name=team]', 'blue');
    await page.press('#filter input[name=team]', 'Enter');
    await page.waitForFunction(() => [...document.querySelectorAll('#records tbody tr[data-id]')].map((t) => (t as Dom).dataset.id).join() === 'alice');
    await page.close();
  });

  it('restore is absent without allowRestore, and with it restores behind a confirmation; a stale page gets a conflict', async () => {
    const page = await open(ro, '#/c/0/users/r/carol');
    await waitRows(page, 50);
    expect(await page.textContent('#mode')).toBe('read-only');
    await page.click('#timeline tr[data-ov="55"] button.view');
    await page.waitForFunction(() => document.querySelector('#version h2')?.textContent?.includes('v55'));
    expect(await page.$$('#restore')).toHaveLength(0);
    await page.close();

    const before = await allOvs(s.t1, 'carol');
    const head = before.at(-1)!;
    const p2 = await open(rw, '#/c/0/users/r/carol');
    await waitRows(p2, 50);
    expect(await p2.textContent('#mode')).toBe('restore allowed');
    await p2.click('#timeline tr[data-ov="55"] button.view');
    await p2.waitForSelector('#restore');
    await p2.click('#restore');
    await p2.waitForSelector('#confirm[open] .diff');
    expect(await p2.$$eval('#confirm .side.to .ln.changed', (ls) => ls.map((l) => (l as Dom).dataset.path).sort())).toEqual(['/n', '/team']);
    await p2.click('#confirm-restore');
    await p2.waitForFunction((ov) => document.getElementById('head-ov')?.textContent === `latest v${ov}`, head + 1);
    const now = await s.t1.getLatest('carol', { includeMeta: true });
    expect(now).toMatchObject({ team: 'blue', n: 54, city: 'Rome', _meta: { op: 'RESTORE', ov: head + 1 } });
    expect(await allOvs(s.t1, 'carol')).toEqual([...before, head + 1]);

    // stale: another writer moves the head after the page read it
    await waitRows(p2, 50);
    await p2.click('#older');
    await p2.click('#timeline tr[data-ov="0"] button.view');
    await p2.waitForSelector('#restore');
    await s.t1.update('carol', { name: 'Carol', team: 'violet', n: 200, city: 'Rome', tags: ['a'] }, head + 1, 'someone-else', 'meanwhile');
    await p2.click('#restore');
    await p2.waitForSelector('#confirm-restore');
    await p2.click('#confirm-restore');
    await p2.waitForSelector('#restore-msg .error');
    expect(await p2.textContent('#restore-msg')).toMatch(/changed since the page read it.*Nothing was restored/);
    expect(await s.t1.getLatest('carol')).toMatchObject({ team: 'violet', n: 200 });
    expect(await allOvs(s.t1, 'carol')).toEqual([...before, head + 1, head + 2]);
    expect((p2 as Page & { errors: string[] }).errors.filter((e) => !/409/.test(e))).toEqual([]);
    await p2.close();
  });
});
