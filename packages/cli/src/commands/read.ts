/** Read-only commands: ls, get, history, diff, changes. None of them creates a store. */
import type { ChronosRecord, DiffResult } from 'chronos-db';
import { CliError, EXIT, usage } from '../errors.js';
import type { Session } from '../session.js';

/** The largest page `changes` takes (core's MAX_CHANGES_LIMIT). */
const CHANGES_PAGE_MAX = 1000;

export function parseJsonOption(v: string | undefined, flag: string): Record<string, unknown> | undefined {
  if (v === undefined) return undefined;
  let o: unknown;
  try {
    o = JSON.parse(v);
  } catch {
    throw usage(`${flag} must be a JSON object`);
  }
  if (!o || typeof o !== 'object' || Array.isArray(o)) throw usage(`${flag} must be a JSON object`);
  return o as Record<string, unknown>;
}

function whereFilter(where: string | string[] | undefined, filter: Record<string, unknown> | undefined) {
  const f = { ...(filter ?? {}) };
  for (const w of where === undefined ? [] : Array.isArray(where) ? where : [where]) {
    const i = w.indexOf('=');
    if (i < 1) throw usage(`--where needs key=value, got '${w.slice(0, 40)}'`);
    const raw = w.slice(i + 1);
    let v: unknown = raw;
    try {
      v = JSON.parse(raw);
    } catch {}
    f[w.slice(0, i)] = v;
  }
  return Object.keys(f).length ? f : undefined;
}

const summary = (r: ChronosRecord) => {
  const { id, _system, _meta, ...data } = r as ChronosRecord & Record<string, unknown>;
  return { id, ov: _meta?.ov, updatedAt: _system?.updatedAt, state: _system?.state, ...(_system?.deleted ? { deleted: true } : {}), data };
};

export async function ls(
  s: Session,
  o: { filter?: string; where?: string | string[]; limit: number; pageToken?: string; all?: boolean; asOf?: string; asOfCv?: number; includeDeleted?: boolean },
) {
  const filter = whereFilter(o.where, parseJsonOption(o.filter, '--filter'));
  if (o.asOf !== undefined && o.asOfCv !== undefined) throw usage('give --as-of or --as-of-cv, not both');
  const asOf = o.asOf !== undefined ? { at: o.asOf as `${number}-${number}-${number}` } : o.asOfCv !== undefined ? { cv: o.asOfCv } : undefined;
  if (asOf && o.includeDeleted) throw usage('--include-deleted applies to the latest state only');
  const col = (await s.open('read')).with(await s.ctx());
  let pageToken = o.pageToken;
  let n = 0;
  do {
    const page = asOf
      ? await col.listAsOf(asOf, { limit: o.limit, ...(filter ? { filter } : {}), ...(pageToken ? { pageToken } : {}) }, { includeMeta: true })
      : await col.listByMeta(
          { limit: o.limit, ...(filter ? { filter } : {}), ...(pageToken ? { pageToken } : {}) },
          { includeMeta: true, includeDeleted: !!o.includeDeleted },
        );
    n += page.items.length;
    if (s.out.machine) await s.out.lines(page.items.map((r) => JSON.stringify(r)));
    else await s.out.rows(page.items.map(summary), ['id', 'ov', 'updatedAt', 'state', 'data']);
    pageToken = page.pageToken;
    if (pageToken && !o.all) s.out.note(`more: --page-token ${pageToken}`);
  } while (o.all && pageToken);
  if (!s.out.machine) s.out.note(`${n} record(s)`);
}

export async function get(s: Session, id: string, o: { ov?: number; at?: string; cv?: number; includeDeleted?: boolean }) {
  if ([o.ov, o.at, o.cv].filter((x) => x !== undefined).length > 1) throw usage('give one of --ov, --at, --cv');
  const col = (await s.open('read')).with(await s.ctx());
  let ov = o.ov;
  if (o.cv !== undefined) {
    // the version of this record current at that cv: the newest with cv <= N
    let pageToken: string | undefined;
    search: do {
      const page = await col.history(id, { limit: 1000, ...(pageToken ? { pageToken } : {}) });
      for (const h of page.items)
        if (h.cv <= o.cv) {
          ov = h.ov;
          break search;
        }
      pageToken = page.pageToken;
    } while (pageToken);
    if (ov === undefined) throw new CliError(`record '${id}' did not exist at cv ${o.cv}`, EXIT.notFound);
  }
  const r = await col.getItem(id, {
    ...(ov !== undefined ? { ov } : {}),
    ...(o.at ? { at: o.at as `${number}-${number}-${number}` } : {}),
    includeMeta: true,
    includeDeleted: !!o.includeDeleted || ov !== undefined || !!o.at,
  });
  if (!r) throw new CliError(`record '${id}' not found${ov !== undefined ? ` at ov ${ov}` : o.at ? ` at ${o.at}` : ''}`, EXIT.notFound);
  await s.out.json(r);
}

export async function history(s: Session, id: string, o: { limit: number; pageToken?: string; all?: boolean; asc?: boolean }) {
  const col = (await s.open('read')).with(await s.ctx());
  let pageToken = o.pageToken;
  do {
    const page = await col.history(id, { limit: o.limit, ...(pageToken ? { pageToken } : { dir: o.asc ? 'asc' : 'desc' }) });
    if (s.out.machine) await s.out.lines(page.items.map((h) => JSON.stringify(h)));
    else await s.out.rows(page.items as unknown as Record<string, unknown>[], ['ov', 'cv', 'op', 'at', 'actor', 'reason', 'deleted', 'size']);
    pageToken = page.pageToken;
    if (pageToken && !o.all) s.out.note(`more: --page-token ${pageToken}`);
  } while (o.all && pageToken);
}

/** `ov:3`, `cv:12`, `at:<time>`, a bare integer (ov) or a time. */
export function selector(v: string, flag: string): { ov: number } | { cv: number } | { at: string } {
  const m = /^(ov|cv|at):(.+)$/.exec(v);
  const [kind, val] = m ? [m[1]!, m[2]!] : /^\d+$/.test(v) ? ['ov', v] : ['at', v];
  if (kind === 'at') {
    if (Number.isNaN(new Date(val).getTime())) throw usage(`${flag}: '${v.slice(0, 40)}' is not ov:N, cv:N, at:<time>, a number or a time`);
    return { at: val };
  }
  if (!/^\d+$/.test(val)) throw usage(`${flag}: ${kind} must be a non-negative integer`);
  return kind === 'ov' ? { ov: Number(val) } : { cv: Number(val) };
}

export async function diff(s: Session, id: string, o: { from: string; to?: string }) {
  const col = (await s.open('read')).with(await s.ctx());
  const from = selector(o.from, '--from');
  const to = o.to !== undefined ? selector(o.to, '--to') : undefined;
  const d = (await col.diff(id, from as never, to as never)) as DiffResult;
  if (s.out.machine) return void (await s.out.line(JSON.stringify(d.patch)));
  const pc = (await import('picocolors')).default;
  await s.out.line(pc.bold(`${id}: v${d.from.ov} (cv ${d.from.cv}, ${d.from.at}) -> v${d.to.ov} (cv ${d.to.cv}, ${d.to.at})`));
  if (d.patch.length === 0) return void (await s.out.line(pc.dim('  no changes')));
  for (const op of d.patch) {
    const val = 'value' in op ? ` ${JSON.stringify(op.value)}` : '';
    const line =
      op.op === 'add'
        ? pc.green(`+ ${op.path}${val}`)
        : op.op === 'remove'
          ? pc.red(`- ${op.path}`)
          : op.op === 'replace'
            ? pc.yellow(`~ ${op.path}${val}`)
            : pc.cyan(`${op.op} ${'from' in op ? `${op.from} -> ` : ''}${op.path}${val}`);
    await s.out.line(line);
  }
}

export async function changes(s: Session, o: { afterCv: number; limit?: number; all?: boolean; follow?: boolean; includePayload?: boolean; filter?: string }) {
  const col = (await s.open('read')).with(await s.ctx());
  const filter = parseJsonOption(o.filter, '--filter');
  // --all reads every page: the largest pages, as each costs a round trip (and on FerretDB a scan of the collection's versions)
  const limit = o.limit ?? (o.all ? CHANGES_PAGE_MAX : 100);
  const base = { limit, ...(filter ? { filter } : {}), ...(o.includePayload ? { includePayload: true } : {}) };
  const show = async (c: { op: string; id: string; ov: number; cv: number; at: Date; actor?: string; reason?: string }) => {
    if (s.out.machine) await s.out.line(JSON.stringify(c));
    else await s.out.line(`cv ${c.cv}\t${c.op}\t${c.id}\tv${c.ov}\t${c.at.toISOString()}\t${c.actor ?? ''}\t${c.reason ?? ''}`);
  };
  if (o.follow) {
    const ac = new AbortController();
    const stop = () => ac.abort();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    try {
      for await (const c of col.watch({ ...base, afterCv: o.afterCv, signal: ac.signal })) await show(c);
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    }
    return;
  }
  let afterCv = o.afterCv;
  let pages = 0;
  for (;;) {
    const page = await col.changes({ ...base, afterCv });
    pages++;
    for (const c of page.items) await show(c);
    const more = page.nextCv > afterCv;
    afterCv = page.nextCv;
    if (!o.all || !more) break;
  }
  s.out.note(`next: --after-cv ${afterCv} (${pages} page${pages === 1 ? '' : 's'} of up to ${limit})`);
}
