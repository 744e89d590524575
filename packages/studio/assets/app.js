// chronos studio: the page. Plain ES module, no framework, no build step. Routes live in the
// hash (#/, #/c/<ctx>/<collection>, #/c/<ctx>/<collection>/r/<id>); every call goes to the
// relative api/ path, which carries the access token in the URL the studio printed.
import { diffView, jsonView } from './json-view.js';

const main = document.getElementById('main');
let session;
let feed; // the open EventSource, closed when the route changes
let keyHandler = null; // the current page's keyboard shortcuts
let routeGen = 0; // a page that finished loading after the route changed shows nothing

function h(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'class') e.className = v;
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== undefined && c !== null && c !== false) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

async function api(path, params = {}, init = {}) {
  const qs = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== undefined && v !== '')).toString();
  const r = await fetch(`api/${path}${qs ? `?${qs}` : ''}`, { cache: 'no-store', ...init });
  const body = await r.json().catch(() => ({ message: r.statusText }));
  if (!r.ok) throw Object.assign(new Error(body.message || r.statusText), { status: r.status });
  return body;
}

const fmt = (iso) => (iso ? iso.replace('T', ' ').replace('Z', ' UTC') : '');
const hashFor = (c, col, id, q) =>
  `#/c/${c}/${encodeURIComponent(col)}${id !== undefined ? `/r/${encodeURIComponent(id)}` : ''}${q ? `?${new URLSearchParams(q)}` : ''}`;
const errorBox = (e) => h('p', { class: 'error', role: 'alert' }, e.message);
const opBadge = (op, deleted) =>
  deleted ? h('span', { class: 'badge del' }, `${op} · deleted`) : op === 'RESTORE' ? h('span', { class: 'badge res' }, 'RESTORE') : op;

function show(...nodes) {
  main.replaceChildren(...nodes);
  main.focus({ preventScroll: true });
}

// ---------------------------------------------------------------- contexts
function contextsPage() {
  const sections = session.contexts.map((ctx) =>
    h(
      'section',
      { class: 'panel' },
      h('h2', {}, ctx.label),
      h(
        'table',
        {},
        h('thead', {}, h('tr', {}, h('th', {}, 'Collection'), h('th', {}, 'Records'), h('th', {}, 'Indexed properties'))),
        h(
          'tbody',
          {},
          ctx.collections.map((col) => {
            const count = h('td', { class: 'count', dataset: { col: col.name } }, h('span', { class: 'muted' }, 'counting…'));
            api('count', { c: ctx.index, col: col.name }).then(
              (r) => count.replaceChildren(`${r.count}${r.capped ? '+' : ''}`),
              (e) => count.replaceChildren(errorBox(e)),
            );
            return h('tr', {}, h('td', {}, h('a', { href: hashFor(ctx.index, col.name) }, col.name)), count, h('td', {}, col.indexedProps.join(', ')));
          }),
        ),
      ),
    ),
  );
  show(h('h1', {}, 'Contexts'), ...sections);
}

// ---------------------------------------------------------------- a collection's records
function collectionPage(ci, colName, q) {
  const ctx = session.contexts[ci];
  const col = ctx?.collections.find((c) => c.name === colName);
  if (!col) return show(errorBox(new Error('No such context or collection')));
  const filter = q.get('filter') ? JSON.parse(q.get('filter')) : {};
  const inputs = col.indexedProps.map((p) =>
    h('input', { type: 'text', name: p, value: filter[p] === undefined ? '' : typeof filter[p] === 'string' ? filter[p] : JSON.stringify(filter[p]) }),
  );
  const at = h('input', { type: 'text', name: 'at', id: 'list-at', placeholder: 'now, or 2026-01-31T12:00:00Z', value: q.get('at') ?? '' });
  const deleted = h('input', { type: 'checkbox', name: 'deleted', checked: q.get('deleted') === '1' });
  const form = h(
    'form',
    {
      class: 'inline',
      id: 'filter',
      onsubmit: (ev) => {
        ev.preventDefault();
        const f = {};
        for (const i of inputs) {
          if (i.value === '') continue;
          try {
            f[i.name] = JSON.parse(i.value); // 42, true, "text"
          } catch {
            f[i.name] = i.value;
          }
        }
        const nq = {};
        if (Object.keys(f).length) nq.filter = JSON.stringify(f);
        if (at.value) nq.at = at.value;
        if (deleted.checked) nq.deleted = '1';
        location.hash = hashFor(ci, colName, undefined, nq);
      },
    },
    inputs.map((i) => h('label', {}, i.name, i)),
    h('label', {}, 'As of (ISO time)', at),
    h('label', { class: 'check' }, deleted, 'include deleted'),
    h('button', { type: 'submit' }, 'Apply'),
  );
  const body = h('tbody', {});
  const pager = h('div', { class: 'actions' });
  const tokens = [undefined]; // keyset pages: the token of each page seen
  let pageNo = 0;
  const turn = (by) => {
    pageNo += by;
    load();
  };
  const load = async () => {
    body.replaceChildren(h('tr', {}, h('td', { colspan: 5, class: 'muted' }, 'Loading…')));
    try {
      const r = await api('records', {
        c: ci,
        col: colName,
        filter: q.get('filter') ?? undefined,
        at: q.get('at') ?? undefined,
        deleted: q.get('deleted') ?? undefined,
        pageToken: tokens[pageNo],
      });
      tokens[pageNo + 1] = r.pageToken;
      body.replaceChildren(
        ...(r.items.length
          ? r.items.map((it) =>
              h(
                'tr',
                { dataset: { id: it.id } },
                h('td', {}, h('a', { href: hashFor(ci, colName, it.id) }, it.id)),
                h('td', {}, `v${it.meta?.ov}`),
                h('td', {}, fmt(it.meta?.at)),
                h('td', {}, col.indexedProps.map((p) => `${p}=${JSON.stringify(it.meta?.metaIndexed?.[p])}`).join('  ')),
                h('td', {}, it.system?.deleted ? h('span', { class: 'badge del' }, 'deleted') : ''),
              ),
            )
          : [h('tr', {}, h('td', { colspan: 5, class: 'muted' }, 'No records'))]),
      );
      pager.replaceChildren(
        h('button', { type: 'button', id: 'prev-page', disabled: pageNo === 0, onclick: () => turn(-1) }, '← Previous page'),
        h('span', { class: 'muted' }, `page ${pageNo + 1}`),
        h('button', { type: 'button', id: 'next-page', disabled: !r.pageToken, onclick: () => turn(1) }, 'Next page →'),
      );
    } catch (e) {
      body.replaceChildren(h('tr', {}, h('td', { colspan: 5 }, errorBox(e))));
    }
  };
  const feedList = h('ol', {});
  const feedState = h('span', { class: 'badge', id: 'feed-state' }, 'connecting…');
  show(
    h('div', { class: 'crumbs' }, h('a', { href: '#/' }, 'Contexts'), ` / ${ctx.label} / `),
    h('h1', {}, colName, q.get('at') ? h('span', { class: 'muted' }, ` as of ${q.get('at')}`) : ''),
    form,
    h(
      'div',
      { class: 'grid' },
      h(
        'section',
        { class: 'panel' },
        h('h2', {}, 'Records'),
        h(
          'table',
          { id: 'records' },
          h('thead', {}, h('tr', {}, h('th', {}, 'id'), h('th', {}, 'version'), h('th', {}, 'time'), h('th', {}, 'indexed'), h('th', {}, ''))),
          body,
        ),
        pager,
      ),
      h('section', { class: 'panel', id: 'feed', 'aria-live': 'polite' }, h('h2', {}, 'Live changes ', feedState), feedList),
    ),
  );
  keyHandler = (ev) => {
    if (ev.key === '/') {
      ev.preventDefault();
      (inputs[0] ?? at).focus();
    }
  };
  load();
  feed = new EventSource(`api/feed?${new URLSearchParams({ c: ci, col: colName })}`);
  feed.addEventListener('ready', () => feedState.replaceChildren('live') || feedState.classList.add('live'));
  feed.addEventListener('failed', (ev) => feedState.replaceChildren(`stopped: ${JSON.parse(ev.data).message}`));
  feed.addEventListener('change', (ev) => {
    const c = JSON.parse(ev.data);
    feedList.prepend(
      h(
        'li',
        { dataset: { id: c.id, ov: c.ov } },
        h('a', { href: hashFor(ci, colName, c.id) }, c.id),
        ` v${c.ov} `,
        opBadge(c.op, c.deleted),
        ` ${c.actor ?? ''} `,
        h('span', { class: 'muted' }, fmt(c.at)),
      ),
    );
  });
}

// ---------------------------------------------------------------- one record
async function recordPage(ci, colName, id) {
  const ctx = session.contexts[ci];
  const col = ctx?.collections.find((c) => c.name === colName);
  if (!col) return show(errorBox(new Error('No such context or collection')));
  const p = { c: ci, col: colName, id };
  let head;
  const gen = routeGen;
  try {
    head = (await api('record', p)).record;
    if (gen !== routeGen) return;
  } catch (e) {
    if (gen !== routeGen) return;
    return show(h('div', { class: 'crumbs' }, h('a', { href: '#/' }, 'Contexts'), ' / ', h('a', { href: hashFor(ci, colName) }, colName)), errorBox(e));
  }
  const headOv = head.meta.ov;
  const rows = [];
  let selected = headOv;
  let nextToken;
  const tbody = h('tbody', {});
  const older = h('button', { type: 'button', id: 'older', onclick: () => loadHistory() }, 'Load older versions');
  const versionBox = h('section', { class: 'panel', id: 'version' });
  const diffBox = h('section', { class: 'panel', id: 'diff', hidden: true });
  const asofOut = h('div', { id: 'asof-view' });
  const atInput = h('input', { type: 'text', id: 'asof-input', placeholder: '2026-01-31T12:00:00Z' });

  const radio = (name, ov) => h('input', { type: 'radio', name, value: ov, 'aria-label': `${name === 'from' ? 'compare from' : 'compare to'} v${ov}` });
  async function loadHistory() {
    older.disabled = true;
    try {
      const r = await api('history', { ...p, pageToken: nextToken });
      for (const e of r.items) {
        const tr = h(
          'tr',
          { dataset: { ov: e.ov }, class: e.deleted || e.op === 'DELETE' ? 'deleted' : e.op === 'RESTORE' ? 'restored' : undefined },
          h('td', {}, radio('from', e.ov), radio('to', e.ov)),
          h('td', { class: 'ov' }, `v${e.ov}`),
          h('td', { class: 'op' }, opBadge(e.op, e.deleted)),
          h('td', { class: 'actor' }, e.actor ?? ''),
          h('td', { class: 'reason' }, e.reason ?? ''),
          h('td', { class: 'at' }, h('time', { datetime: e.at }, fmt(e.at))),
          h('td', {}, h('button', { type: 'button', class: 'view', onclick: () => selectVersion(e.ov) }, 'View')),
        );
        rows.push(tr);
        tbody.append(tr);
      }
      nextToken = r.pageToken;
      older.hidden = !nextToken;
      markSelected();
    } catch (e) {
      tbody.append(h('tr', {}, h('td', { colspan: 7 }, errorBox(e))));
    } finally {
      older.disabled = false;
    }
  }
  function markSelected() {
    for (const tr of rows) tr.classList.toggle('selected', Number(tr.dataset.ov) === selected);
    const def = (name, ov) => {
      const r = tbody.querySelector(`input[name=${name}][value="${ov}"]`);
      if (r && !tbody.querySelector(`input[name=${name}]:checked`)) r.checked = true;
    };
    def('to', selected);
    def('from', Math.max(0, selected - 1));
  }
  async function selectVersion(ov) {
    selected = ov;
    markSelected();
    versionBox.replaceChildren(h('p', { class: 'muted' }, 'Loading…'));
    try {
      const { record } = await api('version', { ...p, ov });
      const links = col.contentProps
        .filter((prop) => prop.split('.').reduce((o, k) => (o && typeof o === 'object' ? o[k] : undefined), record.data)?.ref)
        .map((prop) =>
          h(
            'li',
            {},
            h('a', { href: `api/content?${new URLSearchParams({ ...p, prop, ov })}`, target: '_blank', rel: 'noopener noreferrer' }, `${prop} (content)`),
          ),
        );
      versionBox.replaceChildren(
        h(
          'h2',
          {},
          `v${ov} · ${record.meta.op}`,
          record.system?.deleted ? h('span', { class: 'badge del' }, ' deleted') : '',
          h('span', { class: 'muted' }, ` · ${fmt(record.meta.at)}`),
        ),
        links.length ? h('ul', { class: 'content-links' }, links) : '',
        jsonView(record.data),
        session.allowRestore && ov !== headOv
          ? h(
              'div',
              { class: 'actions' },
              h('button', { type: 'button', id: 'restore', class: 'danger', onclick: () => confirmRestore(ov) }, `Restore to v${ov}…`),
            )
          : '',
      );
    } catch (e) {
      versionBox.replaceChildren(errorBox(e));
    }
  }
  async function compare() {
    const from = Number(tbody.querySelector('input[name=from]:checked')?.value ?? Math.max(0, selected - 1));
    const to = Number(tbody.querySelector('input[name=to]:checked')?.value ?? selected);
    diffBox.hidden = false;
    diffBox.replaceChildren(h('p', { class: 'muted' }, 'Loading…'));
    try {
      const d = await api('diff', { ...p, from, to });
      diffBox.replaceChildren(
        h('h2', {}, `Diff v${from} → v${to}`, h('span', { class: 'muted' }, ` · ${d.changes.length} change${d.changes.length === 1 ? '' : 's'}`)),
        diffView(`v${from}`, d.from.data, `v${to}`, d.to.data, d.changes),
      );
    } catch (e) {
      diffBox.replaceChildren(errorBox(e));
    }
  }
  async function confirmRestore(ov) {
    const dlg = document.getElementById('confirm');
    const msg = h('p', { id: 'restore-msg', role: 'status' });
    dlg.replaceChildren(h('h2', { id: 'confirm-title' }, `Restore ${id} to v${ov}?`), h('p', { class: 'muted' }, 'Loading the change it will make…'));
    dlg.showModal();
    try {
      const d = await api('diff', { ...p, from: headOv, to: ov });
      const go = h('button', { type: 'button', class: 'danger', id: 'confirm-restore' }, `Restore (a new version v${headOv + 1})`);
      go.addEventListener('click', async () => {
        go.disabled = true;
        try {
          const r = await api(
            'restore',
            {},
            {
              method: 'POST',
              headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': session.csrf },
              body: JSON.stringify({ c: ci, col: colName, id, ov, expectedHeadOv: headOv }),
            },
          );
          dlg.close();
          location.hash = hashFor(ci, colName, id, { restored: r.newOv });
        } catch (e) {
          msg.replaceChildren(errorBox(e));
        }
      });
      dlg.replaceChildren(
        h('h2', { id: 'confirm-title' }, `Restore ${id} to v${ov}?`),
        h('p', {}, `This appends a new version equal to v${ov}; the page saw v${headOv} as the latest. If the record changed since, nothing is written.`),
        diffView(`now (v${headOv})`, d.from.data, `after restore (as v${ov})`, d.to.data, d.changes),
        msg,
        h('div', { class: 'actions' }, go, h('button', { type: 'button', id: 'cancel-restore', onclick: () => dlg.close() }, 'Cancel')),
      );
      go.focus();
    } catch (e) {
      dlg.append(errorBox(e), h('button', { type: 'button', onclick: () => dlg.close() }, 'Close'));
    }
  }
  const asofForm = h(
    'form',
    {
      class: 'inline',
      id: 'asof',
      onsubmit: async (ev) => {
        ev.preventDefault();
        asofOut.replaceChildren(h('p', { class: 'muted' }, 'Loading…'));
        try {
          const { record } = await api('asof', { ...p, at: atInput.value.trim() });
          asofOut.replaceChildren(
            record
              ? h(
                  'div',
                  {},
                  h(
                    'p',
                    {},
                    `As of ${atInput.value.trim()}: v${record.meta.ov} (${record.meta.op}, ${fmt(record.meta.at)})`,
                    record.system?.deleted ? ' · deleted then' : '',
                  ),
                  jsonView(record.data),
                )
              : h('p', { class: 'muted' }, 'The record did not exist at that time.'),
          );
        } catch (e) {
          asofOut.replaceChildren(errorBox(e));
        }
      },
    },
    h('label', {}, 'Show the record as it was at (ISO time)', atInput),
    h('button', { type: 'submit' }, 'Show'),
  );
  show(
    h('div', { class: 'crumbs' }, h('a', { href: '#/' }, 'Contexts'), ` / ${ctx.label} / `, h('a', { href: hashFor(ci, colName) }, colName), ' /'),
    h(
      'h1',
      {},
      id,
      ' ',
      h('span', { class: 'badge', id: 'head-ov' }, `latest v${headOv}`),
      head.system?.deleted ? h('span', { class: 'badge del' }, 'deleted') : '',
    ),
    h(
      'div',
      { class: 'grid' },
      h(
        'div',
        {},
        h('section', { class: 'panel' }, h('h2', {}, 'Time picker'), asofForm, asofOut),
        h(
          'section',
          { class: 'panel' },
          h('h2', {}, 'Timeline'),
          h(
            'table',
            { id: 'timeline' },
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                h('th', {}, 'from / to'),
                h('th', {}, 'ov'),
                h('th', {}, 'op'),
                h('th', {}, 'actor'),
                h('th', {}, 'reason'),
                h('th', {}, 'time'),
                h('th', {}, ''),
              ),
            ),
            tbody,
          ),
          h('div', { class: 'actions' }, older, h('button', { type: 'button', id: 'compare', onclick: compare }, 'Compare selected (c)')),
        ),
      ),
      h('div', {}, versionBox, diffBox),
    ),
  );
  keyHandler = (ev) => {
    const i = rows.findIndex((r) => Number(r.dataset.ov) === selected);
    if (ev.key === 'j' && i >= 0 && i + 1 < rows.length) selectVersion(Number(rows[i + 1].dataset.ov));
    else if (ev.key === 'k' && i > 0) selectVersion(Number(rows[i - 1].dataset.ov));
    else if (ev.key === 'c') compare();
    else if (ev.key === '/') {
      ev.preventDefault();
      atInput.focus();
    } else return;
  };
  await loadHistory();
  await selectVersion(headOv);
}

// ---------------------------------------------------------------- routing
async function route() {
  routeGen++;
  feed?.close();
  feed = undefined;
  keyHandler = null;
  const [path, query] = location.hash.replace(/^#/, '').split('?');
  const q = new URLSearchParams(query ?? '');
  const parts = (path || '/').split('/').filter(Boolean).map(decodeURIComponent);
  try {
    if (parts[0] === 'c' && parts.length === 3) collectionPage(Number(parts[1]), parts[2], q);
    else if (parts[0] === 'c' && parts.length === 5 && parts[3] === 'r') await recordPage(Number(parts[1]), parts[2], parts[4]);
    else contextsPage();
  } catch (e) {
    show(errorBox(e));
  }
}

document.addEventListener('keydown', (ev) => {
  const t = ev.target;
  if (ev.ctrlKey || ev.metaKey || ev.altKey || (t instanceof HTMLElement && (t.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(t.tagName))))
    return;
  if (document.getElementById('confirm').open) return;
  if (ev.key === 'g') location.hash = '#/';
  else keyHandler?.(ev);
});
window.addEventListener('hashchange', route);

try {
  session = await api('session');
  const mode = document.getElementById('mode');
  mode.textContent = session.allowRestore ? 'restore allowed' : 'read-only';
  route();
} catch (e) {
  show(errorBox(e));
}
