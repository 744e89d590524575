/**
 * The page's JSON API (under `/<token>/api/`). Each call names a context by its index in the
 * studio's list and a collection of that context: the bound collection comes from the list, never
 * from the request, so a page reads exactly what `chronos.with(thatContext)` reads (a tenant's
 * page cannot name another tenant). Everything sent back passes the redactor (keys that name a
 * secret, URI passwords, the config's secrets); error messages too.
 */
import { Hono, type Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import { ChronosError, NotFoundError, OptimisticLockError, ValidationError, type Redactor } from '@chronos-db/core';
import type { Chronos, ChronosRecord, ContextInput, HistoryEntry } from 'chronos-db';
import type { CheckedContext } from './options.js';

export interface ApiDeps {
  chronos: Chronos<unknown>;
  contexts: CheckedContext[];
  allowRestore: boolean;
  actor: string;
  redactor: Redactor;
  csrf: string;
  feeds: Set<AbortController>;
  sameSecret: (a: string, b: string) => boolean;
}

/** Records counted per collection on the contexts page, at most (past it the page says "5000+"). */
export const COUNT_CAP = 5000;
const FEED_SKIP_PAGE = 1000;

function int(v: string | undefined, name: string, dflt?: number, max = Number.MAX_SAFE_INTEGER): number {
  if (v === undefined || v === '') {
    if (dflt !== undefined) return dflt;
    throw new ValidationError(`${name} is required`);
  }
  const n = Number(v);
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n > max) throw new ValidationError(`${name} must be an integer from 0 to ${max}`);
  return n;
}

function str(v: string | undefined, name: string): string {
  if (v === undefined || v === '') throw new ValidationError(`${name} is required`);
  return v;
}

const mapOf = (chronos: Chronos<unknown>, col: string) => chronos.config.collectionMaps?.[col];

export function apiRoutes(d: ApiDeps): Hono {
  const { chronos, redactor } = d;
  const api = new Hono();

  const boundOf = (ci: string | undefined, col: string | undefined) => {
    const ctx = d.contexts[int(ci, 'c')];
    if (!ctx || col === undefined || !ctx.collections.includes(col)) throw new NotFoundError('No such context or collection in this studio');
    return chronos.with({ ...ctx.base, collection: col } as ContextInput);
  };
  const bound = (c: Context) => boundOf(c.req.query('c'), c.req.query('col'));
  /** A record as the page shows it: its data (without the system fields), its version meta and state. */
  const view = (r: ChronosRecord | null) => {
    if (!r) return null;
    const { id, _system, _meta, ...data } = r;
    return { id, data: redactor.value(data), system: _system, meta: _meta ? redactor.value(_meta) : undefined };
  };
  const entry = (h: HistoryEntry) => ({
    ov: h.ov,
    cv: h.cv,
    op: h.op,
    at: h.at.toISOString(),
    deleted: h.deleted,
    size: h.size,
    ...(h.actor !== undefined ? { actor: redactor.text(h.actor) } : {}),
    ...(h.reason !== undefined ? { reason: redactor.text(h.reason) } : {}),
  });

  api.onError((e, c) => {
    if (e instanceof ChronosError) {
      const status = e.statusCode >= 400 && e.statusCode < 600 ? e.statusCode : 500;
      return c.json({ error: e.name, message: redactor.text(e.message) }, status as 400);
    }
    return c.json({ error: 'Error', message: redactor.text((e as Error)?.message ?? String(e)) }, 500);
  });

  api.get('/session', (c) =>
    c.json({
      allowRestore: d.allowRestore,
      ...(d.allowRestore ? { csrf: d.csrf } : {}),
      contexts: d.contexts.map((x) => ({
        index: x.index,
        label: redactor.text(x.label),
        collections: x.collections.map((name) => {
          const m = mapOf(chronos, name);
          return { name, indexedProps: m?.indexedProps ?? [], contentProps: Object.keys(m?.base64Props ?? {}) };
        }),
      })),
    }),
  );

  api.get('/count', async (c) => {
    const col = bound(c);
    let n = 0;
    let pageToken: string | undefined;
    do {
      const p = await col.listByMeta({ limit: 1000, ...(pageToken ? { pageToken } : {}) });
      n += p.items.length;
      pageToken = p.pageToken;
    } while (pageToken && n < COUNT_CAP);
    return c.json({ count: Math.min(n, COUNT_CAP), capped: n >= COUNT_CAP && !!pageToken });
  });

  api.get('/records', async (c) => {
    const col = bound(c);
    const rawFilter = c.req.query('filter');
    let filter: Record<string, unknown> | undefined;
    if (rawFilter) {
      try {
        filter = JSON.parse(rawFilter) as Record<string, unknown>;
      } catch {
        throw new ValidationError('filter must be a JSON object');
      }
      if (!filter || typeof filter !== 'object' || Array.isArray(filter)) throw new ValidationError('filter must be a JSON object');
    }
    const limit = int(c.req.query('limit'), 'limit', 25, 200);
    const pageToken = c.req.query('pageToken') || undefined;
    const at = c.req.query('at') || undefined;
    const read = { includeMeta: true, includeDeleted: c.req.query('deleted') === '1' };
    if (at && read.includeDeleted) throw new ValidationError('an "as of" list shows the records that existed then: it has no deleted ones to include');
    const q = { ...(filter ? { filter } : {}), limit, ...(pageToken ? { pageToken } : {}) };
    const p = at ? await col.listAsOf({ at: at as `${number}-${number}-${number}` }, q, { includeMeta: true }) : await col.listByMeta(q, read);
    return c.json({ items: p.items.map(view), ...(p.pageToken ? { pageToken: p.pageToken } : {}) });
  });

  api.get('/record', async (c) => {
    const col = bound(c);
    const id = str(c.req.query('id'), 'id');
    const r = await col.getLatest(id, { includeMeta: true, includeDeleted: true });
    if (!r) throw new NotFoundError(`Record '${id.slice(0, 100)}' not found`);
    return c.json({ record: view(r) });
  });

  api.get('/history', async (c) => {
    const col = bound(c);
    const id = str(c.req.query('id'), 'id');
    const pageToken = c.req.query('pageToken') || undefined;
    const p = await col.history(id, { limit: int(c.req.query('limit'), 'limit', 50, 1000), ...(pageToken ? { pageToken } : {}) });
    return c.json({ items: p.items.map(entry), ...(p.pageToken ? { pageToken: p.pageToken } : {}) });
  });

  api.get('/version', async (c) => {
    const col = bound(c);
    const id = str(c.req.query('id'), 'id');
    const ov = int(c.req.query('ov'), 'ov');
    const r = await col.getVersion(id, ov, { includeMeta: true, includeDeleted: true });
    if (!r) throw new NotFoundError(`Record '${id.slice(0, 100)}' has no version ${ov}`);
    return c.json({ record: view(r) });
  });

  api.get('/asof', async (c) => {
    const col = bound(c);
    const id = str(c.req.query('id'), 'id');
    const at = str(c.req.query('at'), 'at');
    const r = await col.getAsOf(id, at as `${number}-${number}-${number}`, { includeMeta: true, includeDeleted: true });
    return c.json({ record: view(r) });
  });

  api.get('/diff', async (c) => {
    const col = bound(c);
    const id = str(c.req.query('id'), 'id');
    const from = int(c.req.query('from'), 'from');
    const to = int(c.req.query('to'), 'to');
    const [p, a, b] = await Promise.all([
      col.diff(id, { ov: from }, { ov: to }),
      col.getVersion(id, from, { includeMeta: true, includeDeleted: true }),
      col.getVersion(id, to, { includeMeta: true, includeDeleted: true }),
    ]);
    // paths and kinds only: the values are shown from both sides' (redacted) data
    return c.json({ changes: p.patch.map((op) => ({ op: op.op, path: op.path })), from: view(a), to: view(b) });
  });

  api.get('/content', async (c) => {
    const col = bound(c);
    const id = str(c.req.query('id'), 'id');
    const prop = str(c.req.query('prop'), 'prop');
    const ovQ = c.req.query('ov');
    const ov = ovQ ? int(ovQ, 'ov') : undefined;
    const head = await col.getLatest(id, { includeMeta: true, includeDeleted: true });
    if (!head) throw new NotFoundError(`Record '${id.slice(0, 100)}' not found`);
    if (ov === undefined || ov === head._meta?.ov) {
      // S3-compatible storage: a presigned link to the object (the bytes never pass through here)
      const url = await col.presignProperty(id, prop, 300).catch((e: unknown) => {
        if (e instanceof ValidationError) return null; // this storage cannot presign (the embedded store): served below
        throw e;
      });
      if (url) return c.redirect(url, 302);
    }
    const bytes = await col.getPropertyContent(id, prop, ov !== undefined ? { ov } : {});
    // never rendered as a page of this origin: a download, sandboxed, its type not sniffed
    return c.body(Buffer.from(bytes), 200, {
      'Content-Type': 'application/octet-stream',
      'Content-Disposition': `attachment; filename="${`${id}-${prop}`.replace(/[^A-Za-z0-9._-]/g, '_')}"`,
      'Content-Security-Policy': "default-src 'none'; sandbox",
    });
  });

  api.get('/feed', (c) => {
    const col = bound(c);
    const ac = new AbortController();
    d.feeds.add(ac);
    const last = c.req.header('last-event-id');
    return streamSSE(
      c,
      async (stream) => {
        stream.onAbort(() => ac.abort());
        try {
          let afterCv = last && /^\d+$/.test(last) ? Number(last) : -1;
          if (afterCv < 0) {
            // from now on: skip what is there (no payloads read), then watch
            afterCv = 0;
            for (;;) {
              const p = await col.changes({ afterCv, limit: FEED_SKIP_PAGE });
              afterCv = p.nextCv;
              if (p.items.length < FEED_SKIP_PAGE || ac.signal.aborted) break;
            }
          }
          await stream.writeSSE({ event: 'ready', data: JSON.stringify({ afterCv }) });
          for await (const e of col.watch({ afterCv, signal: ac.signal, minDelayMs: 100, maxDelayMs: 1000 })) {
            const item = {
              op: e.op,
              id: e.id,
              ov: e.ov,
              cv: e.cv,
              at: e.at.toISOString(),
              deleted: e.deleted,
              ...(e.actor !== undefined ? { actor: redactor.text(e.actor) } : {}),
              ...(e.reason !== undefined ? { reason: redactor.text(e.reason) } : {}),
            };
            await stream.writeSSE({ event: 'change', id: String(e.cv), data: JSON.stringify(item) });
          }
        } catch (e) {
          if (!ac.signal.aborted)
            await stream.writeSSE({ event: 'failed', data: JSON.stringify({ message: redactor.text((e as Error).message) }) }).catch(() => {});
        } finally {
          d.feeds.delete(ac);
        }
      },
      async () => {
        d.feeds.delete(ac);
      },
    );
  });

  api.post('/restore', async (c) => {
    // refused before the body is read: read-only studio, missing or wrong CSRF token, a foreign origin
    if (!d.allowRestore) return c.json({ error: 'Forbidden', message: 'This studio is read-only (start it with --allow-restore)' }, 403);
    const sent = c.req.header('x-csrf-token') ?? '';
    if (!d.sameSecret(sent, d.csrf)) return c.json({ error: 'Forbidden', message: 'Missing or wrong CSRF token: reload the page' }, 403);
    const origin = c.req.header('origin');
    if (origin && origin !== new URL(c.req.url).origin) return c.json({ error: 'Forbidden', message: 'Cross-origin request refused' }, 403);
    if (!(c.req.header('content-type') ?? '').startsWith('application/json')) throw new ValidationError('restore takes a JSON body');
    const body = (await c.req.json().catch(() => null)) as Record<string, unknown> | null;
    if (!body || typeof body !== 'object') throw new ValidationError('restore takes { c, col, id, ov, expectedHeadOv }');
    const col = boundOf(String(body.c ?? ''), typeof body.col === 'string' ? body.col : undefined);
    const id = str(typeof body.id === 'string' ? body.id : undefined, 'id');
    if (!Number.isSafeInteger(body.ov) || (body.ov as number) < 0) throw new ValidationError('ov must be a non-negative integer');
    if (!Number.isSafeInteger(body.expectedHeadOv) || (body.expectedHeadOv as number) < 0)
      throw new ValidationError('expectedHeadOv (the head version the page showed) must be a non-negative integer');
    const ov = body.ov as number;
    const expectedHeadOv = body.expectedHeadOv as number;
    try {
      const r = await col.restoreObject(id, { ov }, { expectedHeadOv, actor: d.actor, reason: `restored to v${ov} in chronos studio` });
      return c.json({ id: r.id, newOv: r.newOv, newCv: r.newCv });
    } catch (e) {
      if (e instanceof OptimisticLockError)
        return c.json(
          {
            error: 'Conflict',
            message: `This record changed since the page read it (the page saw v${expectedHeadOv} as the latest). Nothing was restored: reload to see the newer versions.`,
          },
          409,
        );
      throw e;
    }
  });

  return api;
}
