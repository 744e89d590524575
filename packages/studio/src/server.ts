/**
 * `startStudio`: one Hono app on Node's http server. Every path starts with the random access
 * token (`/<token>/...`): the page, its assets and its API are all relative to it, so a request
 * without the token, or with a wrong one, matches nothing and is refused (403) before any
 * handler or store is reached. Every response carries the security headers (CSP without inline
 * scripts, no caching, no referrer, no framing).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createAdaptorServer } from '@hono/node-server';
import { Hono } from 'hono';
import { configRedactor, createRedactor, parseConfig } from '@chronos-db/core';
import { apiRoutes } from './api.js';
import { checkOptions, isLoopback, type Studio, type StudioOptions } from './options.js';

/** The page's files, shipped in the package (no CDN, no build step): read once at start. */
const ASSETS: Record<string, string> = {
  'app.js': 'text/javascript; charset=utf-8',
  'json-view.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
};
// src/ (tests, tsx) and dist/ (the published build) both sit next to assets/; CommonJS has
// __dirname (jest's transform, the .cjs build), ES modules have import.meta.url (tsx, the .js build)
const here = typeof __dirname === 'string' ? __dirname : dirname(fileURLToPath(import.meta.url));
const assetsDir = join(here, '..', 'assets');

export const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export async function startStudio(options: StudioOptions): Promise<Studio> {
  const o = checkOptions(options);
  const redactor = options.config ? configRedactor(parseConfig(options.config)) : createRedactor([]);
  const token = randomBytes(24).toString('base64url');
  const csrf = randomBytes(24).toString('base64url');
  const files = new Map(Object.entries(ASSETS).map(([name, type]) => [name, { type, body: readFileSync(join(assetsDir, name)) }]));
  const page = readFileSync(join(assetsDir, 'index.html'));
  const feeds = new Set<AbortController>();

  const app = new Hono();
  app.use('*', async (c, next) => {
    await next();
    const h = c.res.headers;
    if (!h.has('Content-Security-Policy')) h.set('Content-Security-Policy', CSP);
    h.set('X-Content-Type-Options', 'nosniff');
    h.set('Referrer-Policy', 'no-referrer');
    h.set('X-Frame-Options', 'DENY');
    h.set('Cross-Origin-Opener-Policy', 'same-origin');
    h.set('Cross-Origin-Resource-Policy', 'same-origin');
    if (!h.has('Cache-Control')) h.set('Cache-Control', 'no-store');
  });
  // the token is the first path segment; nothing else is served
  app.use('*', async (c, next) => {
    const seg = c.req.path.split('/')[1] ?? '';
    if (!sameSecret(seg, token)) return c.text('Forbidden: open the URL chronos studio printed (it carries the access token)', 403);
    // with a loopback bind, only loopback Host names (a DNS-rebinding page has the token in no case, but is refused here too)
    if (isLoopback(o.host)) {
      const host = (c.req.header('host') ?? '').replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1');
      if (!isLoopback(host)) return c.text('Forbidden: unexpected Host header', 403);
    }
    await next();
  });
  const base = `/${token}`;
  app.get(base, (c) => c.redirect(`${base}/`, 302));
  app.get(`${base}/`, (c) => c.body(page, 200, { 'Content-Type': 'text/html; charset=utf-8' }));
  app.get(`${base}/assets/:name`, (c) => {
    const f = files.get(c.req.param('name'));
    if (!f) return c.text('Not found', 404);
    return c.body(f.body, 200, { 'Content-Type': f.type });
  });
  app.route(`${base}/api`, apiRoutes({ ...o, redactor, csrf, feeds, sameSecret }));
  app.notFound((c) => c.text('Not found', 404));

  const server = createAdaptorServer({ fetch: app.fetch, hostname: o.host });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  if (!isLoopback(o.host)) {
    (options.warn ?? ((m: string) => process.stderr.write(`${m}\n`)))(
      `chronos studio: listening on ${o.host}, not on 127.0.0.1: anyone who can reach this address and has the URL can read these records${o.allowRestore ? ' and restore them' : ''}`,
    );
  }
  const shownHost = o.host.includes(':') ? `[${o.host}]` : o.host;
  let closed = false;
  return {
    url: `http://${shownHost}:${port}/${token}/`,
    token,
    port,
    host: o.host,
    async close() {
      if (closed) return;
      closed = true;
      for (const f of feeds) f.abort();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        (server as { closeAllConnections?: () => void }).closeAllConnections?.();
      });
    },
  };
}
