// JSON as lines, one per value, each with its JSON Pointer (data-path), and a side-by-side diff
// whose lines are marked from the RFC 6902 paths the server sends. Text only (textContent):
// record data never becomes markup.

const esc = (k) => String(k).replace(/~/g, '~0').replace(/\//g, '~1');

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

function scalar(v) {
  if (v === null) return el('span', 'z', 'null');
  if (typeof v === 'string') return el('span', 's', JSON.stringify(v));
  if (typeof v === 'number') return el('span', 'n', String(v));
  if (typeof v === 'boolean') return el('span', 'b', String(v));
  return el('span', 'z', JSON.stringify(v));
}

// marks: Map(path -> 'add' | 'remove' | 'replace') for this side
function mark(line, path, marks, closing) {
  if (!marks) return;
  const own = marks.get(path);
  if (own && !closing) {
    line.classList.add('changed', own);
    return;
  }
  for (const [p, kind] of marks) {
    if (path === p || path.startsWith(`${p}/`)) {
      line.classList.add('changed-in', kind);
      return;
    }
  }
}

function emit(out, key, value, path, depth, last, marks) {
  const line = el('div', 'ln');
  line.dataset.path = path;
  line.append(el('span', 'i', '  '.repeat(depth)));
  if (key !== undefined) line.append(el('span', 'k', JSON.stringify(String(key))), document.createTextNode(': '));
  const comma = last ? '' : ',';
  if (value !== null && typeof value === 'object') {
    const arr = Array.isArray(value);
    const entries = arr ? value.map((v, i) => [i, v]) : Object.entries(value);
    if (entries.length === 0) {
      line.append(document.createTextNode((arr ? '[]' : '{}') + comma));
      mark(line, path, marks, false);
      out.append(line);
      return;
    }
    line.append(document.createTextNode(arr ? '[' : '{'));
    mark(line, path, marks, false);
    out.append(line);
    entries.forEach(([k, v], i) => emit(out, arr ? undefined : k, v, `${path}/${esc(k)}`, depth + 1, i === entries.length - 1, marks));
    const close = el('div', 'ln close');
    close.dataset.path = path;
    close.append(el('span', 'i', '  '.repeat(depth)), document.createTextNode((arr ? ']' : '}') + comma));
    mark(close, path, marks, true);
    out.append(close);
    return;
  }
  line.append(scalar(value), document.createTextNode(comma));
  mark(line, path, marks, false);
  out.append(line);
}

/** A <pre> of `value`, lines marked by `marks` (optional). */
export function jsonView(value, marks) {
  const pre = el('pre', 'json');
  emit(pre, undefined, value, '', 0, true, marks);
  return pre;
}

/** Two columns: `from` with removed and replaced paths marked, `to` with added and replaced ones. */
export function diffView(fromTitle, fromData, toTitle, toData, changes) {
  const left = new Map();
  const right = new Map();
  for (const c of changes) {
    if (c.op === 'remove' || c.op === 'replace') left.set(c.path, c.op);
    if (c.op === 'add' || c.op === 'replace') right.set(c.path, c.op);
  }
  const box = el('div', 'diff');
  const a = el('section', 'side from');
  a.append(el('h3', '', fromTitle), jsonView(fromData, left));
  const b = el('section', 'side to');
  b.append(el('h3', '', toTitle), jsonView(toData, right));
  box.append(a, b);
  return box;
}
