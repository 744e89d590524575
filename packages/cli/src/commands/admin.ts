// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${VAR} is the config syntax the CLI reads and writes
/** Setup and operations: init, doctor, health, backends, buckets, validate, s3-test, gc, counters, queue. */
import { existsSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { CliError, EXIT, usage } from '../errors.js';
import type { Session } from '../session.js';

// ---------------------------------------------------------------- init

export async function init(
  s: Session,
  o: { format: string; basePath: string; mongo?: boolean; spaces?: string; region: string; bucketPrefix: string; dbName: string; force?: boolean },
) {
  if (o.format !== 'json' && o.format !== 'yaml') throw usage("--format must be 'json' or 'yaml'");
  const file = join(s.cwd, `chronos.config.${o.format}`);
  if (existsSync(file) && !o.force) throw new CliError(`${file} exists (--force overwrites it)`, EXIT.conflict);
  const env: string[] = [];
  const cfg: Record<string, unknown> = {};
  if (o.mongo) {
    cfg.databases = { metadata: { generic: { key: 'main', mongoUri: '${MONGODB_URI}', dbName: o.dbName } } };
    env.push('MONGODB_URI=mongodb://user:password@host:27017/?authSource=admin');
  }
  if (o.spaces) {
    cfg.spacesConns = [
      {
        endpoint: o.spaces,
        region: o.region,
        accessKey: '${DO_SPACES_ACCESS_KEY}',
        secretKey: '${DO_SPACES_SECRET_KEY}',
        jsonBucket: `${o.bucketPrefix}-json`,
        contentBucket: `${o.bucketPrefix}-content`,
        backupsBucket: `${o.bucketPrefix}-backups`,
      },
    ];
    env.push('DO_SPACES_ACCESS_KEY=', 'DO_SPACES_SECRET_KEY=');
  }
  if (!o.mongo || !o.spaces) cfg.localStorage = { enabled: true, basePath: o.basePath };
  cfg.defaults = { db: o.dbName, collection: 'items' };
  const text = o.format === 'json' ? `${JSON.stringify(cfg, null, 2)}\n` : (await import('yaml')).stringify(cfg);
  writeFileSync(file, text);
  const rel = relative(s.cwd, file) || file;
  const next = [`wrote ${rel}`];
  if (env.length) {
    const example = join(s.cwd, '.env.example');
    if (!existsSync(example)) writeFileSync(example, `${env.join('\n')}\n`);
    next.push(`next: copy .env.example to .env beside the config and fill in the secrets (the config reads them as \${VAR})`);
    if (o.spaces) next.push('then: chronos buckets --create   (creates the three buckets)');
  }
  next.push('then: chronos doctor            (checks everything the config points at)');
  next.push(`then: echo '{"hello":"world"}' | chronos create   (writes a first record to ${o.dbName}/items)`);
  for (const l of next) s.out.note(l);
  await s.out.json({ file, written: true });
}

// ---------------------------------------------------------------- doctor

type Check = { check: string; status: 'ok' | 'warn' | 'fail'; detail: string; fix?: string };

export async function doctor(s: Session) {
  const checks: Check[] = [];
  const add = (c: Check) => checks.push(c);
  const loaded = await s.config();
  add({ check: 'config', status: 'ok', detail: loaded.file });
  const c = await s.open('read');
  const cfg = c.config;
  const h = await c.admin.health();
  for (const b of [...h.backends, ...h.storage, ...(h.counters ? [h.counters] : [])])
    add({
      check: `reach ${b.name}`,
      status: b.ok ? 'ok' : 'fail',
      detail: b.ok ? `${b.latencyMs} ms` : s.hide(b.error ?? 'unreachable'),
      ...(b.ok ? {} : { fix: 'check the URI / endpoint, the network and the credentials' }),
    });
  let ctx: Awaited<ReturnType<Session['ctx']>> | undefined;
  try {
    ctx = await s.ctx();
  } catch {
    add({
      check: 'context',
      status: 'warn',
      detail: 'no --db/--key and --collection: bucket, index and Spaces checks skipped',
      fix: 'give --db and --collection, or a defaults block',
    });
  }
  if (ctx) {
    try {
      const r = await c.admin.ensureBucketsExist(ctx, { dryRun: true, createIfMissing: false });
      const local = !cfg.spacesConns?.length;
      for (const b of r.bucketStatuses)
        add(
          local && !b.exists
            ? { check: `bucket ${b.name}`, status: 'ok', detail: 'embedded store: made on first use' }
            : {
                check: `bucket ${b.name}`,
                status: b.exists && b.accessible ? 'ok' : 'fail',
                detail: b.exists ? (b.accessible ? 'exists' : 'not accessible') : 'missing',
                ...(b.exists ? {} : { fix: 'chronos buckets --create' }),
              },
        );
    } catch (e) {
      add({ check: 'buckets', status: 'fail', detail: s.hide((e as Error).message) });
    }
    if (cfg.spacesConns?.length) {
      try {
        const v = await c.admin.validateSpacesConfiguration(ctx);
        add({
          check: 'spaces config',
          status: v.valid ? (v.recommendations.length ? 'warn' : 'ok') : 'fail',
          detail: s.hide([...v.issues, ...v.recommendations].join('; ') || 'valid'),
        });
      } catch (e) {
        add({ check: 'spaces config', status: 'fail', detail: s.hide((e as Error).message) });
      }
    }
    // listed, not made: a read through the context would create whatever is missing (and the collections)
    const label = `${'dbName' in ctx ? ctx.dbName : 'key' in ctx ? ctx.key : ''}/${ctx.collection}${ctx.tenantId ? ` (tenant ${ctx.tenantId})` : ''}`;
    try {
      const ix = await c.admin.checkIndexes(ctx);
      const missing = ix.collections.flatMap((x) => x.missing.map((m) => `${x.name}.${m}`));
      const present = ix.collections.reduce((n, x) => n + x.expected.length - x.missing.length, 0);
      const again = [
        'chronos',
        ...('key' in ctx && ctx.key ? ['--key', ctx.key] : 'dbName' in ctx ? ['--db', ctx.dbName] : []),
        ...(ctx.tenantId ? ['--tenant', ctx.tenantId] : []),
        '--collection',
        ctx.collection,
        'ls',
        '--limit',
        '1',
      ].join(' ');
      add(
        !ix.checked
          ? { check: 'indexes', status: 'ok', detail: `${label}: made with the embedded store's schema at every open` }
          : !ix.exists
            ? { check: 'indexes', status: 'ok', detail: `${label} on ${ix.backend}: no collection yet (the first write makes it, with its indexes)` }
            : missing.length
              ? {
                  check: 'indexes',
                  status: 'warn',
                  detail: `${label} on ${ix.backend}: missing ${missing.join(', ')}`,
                  fix: `'${again}' makes them (any command on the collection in a new process does); running apps make them when they restart`,
                }
              : { check: 'indexes', status: 'ok', detail: `${label} on ${ix.backend}: all ${present} present` },
      );
    } catch (e) {
      add({ check: 'indexes', status: 'fail', detail: s.hide(`${(e as Error).name}: ${(e as Error).message}`) });
    }
  }
  if (cfg.databases) {
    // hashed contexts whose data is not where this config places them (issue 17)
    try {
      const p = await c.admin.planRebalance();
      const [moves, gone, left] = [p.moves.length, p.unreachable.length, p.cleanups.length];
      add({
        check: 'placement',
        status: moves || gone || left ? 'warn' : 'ok',
        detail: `${p.contexts} hashed context(s) in the registry (${p.registry}): ${moves} not where the config places them, ${gone} on a backend the config lacks, ${left} source cop(ies) to remove`,
        ...(gone
          ? {
              fix: `add back backend(s) ${[...new Set(p.unreachable.map((u) => u.backend))].join(', ')}, or run 'chronos rebalance' with a config that has them`,
            }
          : moves || left
            ? { fix: "'chronos rebalance --plan' lists them, 'chronos rebalance --yes' moves them" }
            : {}),
      });
    } catch (e) {
      add({ check: 'placement', status: 'fail', detail: s.hide((e as Error).message) });
    }
  }
  if (cfg.fallback?.enabled) {
    try {
      const q = await c.fallback.getQueueStats();
      add({
        check: 'fallback queue',
        status: q.dead > 0 ? 'warn' : 'ok',
        detail: `${q.pending} pending, ${q.claimed} claimed, ${q.dead} dead`,
        ...(q.dead > 0 ? { fix: 'chronos queue dead, then queue retry <id> or queue cancel' } : {}),
      });
    } catch (e) {
      add({ check: 'fallback queue', status: 'fail', detail: s.hide((e as Error).message) });
    }
  } else add({ check: 'fallback queue', status: 'ok', detail: 'off' });
  if (s.out.machine) for (const ch of checks) await s.out.line(JSON.stringify(ch));
  else {
    const pc = (await import('picocolors')).default;
    const mark = { ok: pc.green('ok  '), warn: pc.yellow('warn'), fail: pc.red('FAIL') };
    for (const ch of checks) await s.out.line(`${mark[ch.status]}  ${ch.check}: ${ch.detail}${ch.fix ? pc.dim(`  -> ${ch.fix}`) : ''}`);
  }
  return checks.some((x) => x.status === 'fail') ? EXIT.failed : EXIT.ok;
}

// ---------------------------------------------------------------- checks

export async function health(s: Session) {
  const h = await (await s.open('read')).admin.health();
  await s.out.json(h);
  return h.ok ? EXIT.ok : EXIT.failed;
}

export async function backends(s: Session) {
  const list = (await s.open('read')).admin.listBackends();
  await s.out.rows(list as unknown as Record<string, unknown>[], ['key', 'databaseType', 'tier', 'dbName', 'uri']);
}

export async function buckets(s: Session, o: { create?: boolean }) {
  const ctx = await s.ctx();
  const c = await s.open(o.create ? 'write' : 'read');
  const r = await c.admin.ensureBucketsExist(ctx, o.create ? { confirm: true, createIfMissing: true } : { dryRun: true, createIfMissing: false });
  const rows = r.bucketStatuses.map((b) => ({
    bucket: b.name,
    status: b.exists ? (b.created ? 'created' : 'ok') : 'missing',
    ...(b.error ? { error: s.hide(b.error) } : {}),
  }));
  await s.out.rows(rows, ['bucket', 'status', 'error']);
  if (rows.some((x) => x.status === 'missing')) {
    if (!o.create) s.out.note('missing bucket(s): chronos buckets --create');
    return EXIT.failed;
  }
}

export async function validate(s: Session) {
  const r = await (await s.open('read')).admin.validateSpacesConfiguration(await s.ctx());
  await s.out.json(r);
  return r.valid ? EXIT.ok : EXIT.failed;
}

export async function s3Test(s: Session) {
  const r = await (await s.open('read')).admin.testS3Connectivity(await s.ctx());
  await s.out.json({ ...r, ...(r.error ? { error: s.hide(r.error) } : {}) });
  return r.success ? EXIT.ok : EXIT.failed;
}

// ---------------------------------------------------------------- maintenance

export async function gc(s: Session, o: { graceMs?: number; dryRun?: boolean }) {
  const ctx = await s.ctx();
  const c = await s.open(o.dryRun ? 'read' : 'write');
  if (!o.dryRun) await s.confirm(`Delete unreferenced payload objects of ${ctx.collection} older than ${o.graceMs ?? 3600000} ms?`);
  await s.out.json(await c.admin.gc(ctx, { ...(o.graceMs !== undefined ? { graceMs: o.graceMs } : {}), ...(o.dryRun ? { dryRun: true } : { confirm: true }) }));
}

type NsReport = { dbName: string; collection: string; tenant?: string; skipped?: string; result?: object };
async function lifecycle(s: Session, which: 'rollupNow' | 'pruneNow', o: { now?: string }) {
  const ctx = await s.ctx();
  const c = await s.open('read');
  if (which === 'pruneNow') await s.confirm(`Prune the version index of ${ctx.collection} (rows move to the manifests; reads still find them)?`);
  const r = (await c.admin[which](ctx, o.now ? { now: new Date(o.now) } : {})) as { namespaces: NsReport[] };
  await s.out.rows(
    r.namespaces.map((n) => ({
      dbName: n.dbName,
      collection: n.collection,
      ...(n.tenant ? { tenant: n.tenant } : {}),
      ...(n.skipped ? { skipped: n.skipped } : {}),
      ...(n.result ?? {}),
    })),
    [
      'dbName',
      'collection',
      'tenant',
      'skipped',
      ...(which === 'rollupNow' ? ['records', 'rows', 'parts', 'bytes', 'unlistedPartsDeleted'] : ['rows', 'partsVerified', 'partsPruned']),
    ],
  );
}
export const rollup = (s: Session, o: { now?: string }) => lifecycle(s, 'rollupNow', o);
export const prune = (s: Session, o: { now?: string }) => lifecycle(s, 'pruneNow', o);

export async function shrink(s: Session, o: { dryRun?: boolean }) {
  const ctx = await s.ctx();
  const c = await s.open(o.dryRun ? 'read' : 'write');
  if (!o.dryRun) await s.confirm(`Drop the expired or oversized shadows of ${ctx.collection}?`);
  await s.out.json(await c.admin.shrinkShadows(ctx, o.dryRun ? { dryRun: true } : { confirm: true }));
}

const STEPS = ['rollup', 'prune', 'shrink', 'ttl', 'gc', 'erasures'] as const;
export async function maintain(s: Session, o: { every?: number; ttlHours?: number; gcGraceMs?: number; skip?: string }) {
  const skip = (o.skip ?? '').split(',').filter(Boolean);
  for (const x of skip) if (!(STEPS as readonly string[]).includes(x)) throw usage(`--skip: unknown step '${x.slice(0, 20)}' (use ${STEPS.join(', ')})`);
  // with a context: that one; without: every collection of collectionMaps (the library's default)
  let contexts: Awaited<ReturnType<Session['ctx']>>[] | undefined;
  try {
    contexts = [await s.ctx()];
  } catch {
    contexts = undefined;
  }
  const c = await s.open('write');
  await s.confirm(
    `Run maintenance${o.every ? ` every ${o.every} ms` : ' once'} (rollup, prune, shrink, TTL, GC, erasures; minus ${skip.join(', ') || 'nothing'})?`,
  );
  let failed = false;
  let first: () => void = () => {};
  const once = new Promise<void>((r) => (first = r));
  c.admin.startMaintenance({
    everyMs: o.every ?? 1000,
    ...(contexts ? { contexts } : {}),
    ...(o.ttlHours !== undefined ? { ttlHours: o.ttlHours } : {}),
    ...(o.gcGraceMs !== undefined ? { gcGraceMs: o.gcGraceMs } : {}),
    ...(skip.length ? { skip: skip as (typeof STEPS)[number][] } : {}),
    onReport: (r) => {
      if (r.aborted) failed = true;
      void s.out.line(JSON.stringify(r));
      first();
    },
  });
  if (o.every) {
    await new Promise<void>((r) => {
      process.once('SIGINT', () => r());
      process.once('SIGTERM', () => r());
    });
  } else await once;
  await c.admin.stopMaintenance();
  return failed ? EXIT.failed : EXIT.ok;
}

export async function erasures(s: Session, o: { limit: number; pageToken?: string }) {
  const c = await s.open('read');
  const page = await c.admin.listErasures(await s.ctx(), { limit: o.limit, ...(o.pageToken ? { pageToken: o.pageToken } : {}) });
  await s.out.rows(
    page.items.map((e) => ({
      ...e,
      requestedAt: new Date(e.requestedAt).toISOString(),
      ...(e.finishedAt !== undefined ? { finishedAt: new Date(e.finishedAt).toISOString() } : {}),
    })),
    ['itemId', 'status', 'requestedAt', 'finishedAt', 'actor', 'reason', 'versionsDeleted', 'objectsDeleted'],
  );
  if (page.pageToken) s.out.note(`more: --page-token ${page.pageToken}`);
}

export async function hardDelete(s: Session, id: string, o: { confirm?: string; actor?: string; reason?: string }) {
  const ctx = await s.ctx();
  const c = await s.open('read');
  if (!c.config.hardDeleteEnabled) throw usage(`hard-delete is off: set hardDeleteEnabled: true in ${(await s.config()).file}`);
  if (o.confirm !== undefined && o.confirm !== id) throw usage('--confirm must repeat the id exactly');
  // the record must exist before anyone is asked to erase it
  const head = await c.with(ctx).getItem(id, { includeDeleted: true, includeMeta: true });
  if (!head) throw new CliError(`record '${id}' not found`, EXIT.notFound);
  if (o.confirm === undefined) await s.confirm(`Erase '${id}' and all ${(head._meta?.ov ?? 0) + 1} version(s) for good?`, { typeToConfirm: id });
  await s.out.json(await c.admin.hardDelete(ctx, id, { confirm: true, ...(o.actor ? { actor: o.actor } : {}), ...(o.reason ? { reason: o.reason } : {}) }));
}

export async function counters(s: Session, o: { recount?: boolean }) {
  const scope = await s.scope();
  const c = await s.open(o.recount ? 'write' : 'read');
  await s.out.json(o.recount ? await c.counters.recount(scope) : await c.counters.getTotals(scope));
}

// ---------------------------------------------------------------- queue

async function fallback(s: Session) {
  const c = await s.open('read');
  if (!c.config.fallback?.enabled) throw usage(`the fallback queue is off in ${(await s.config()).file} (fallback.enabled)`);
  return c.fallback;
}
const opRow = (op: {
  id: string;
  requestId: string;
  body: unknown;
  attempts: number;
  enqueuedAt: number;
  status?: string;
  lastError?: { message?: string };
}) => {
  const b = op.body as { op?: string; id?: string; ns?: { dbName?: string; collection?: string } } | undefined;
  return {
    id: op.id,
    op: b?.op,
    record: b?.id,
    attempts: op.attempts,
    enqueuedAt: new Date(op.enqueuedAt).toISOString(),
    ...(op.status ? { status: op.status } : {}),
    ...(op.lastError ? { lastError: s0(op.lastError.message) } : {}),
  };
};
const s0 = (m: string | undefined) => (m ?? '').slice(0, 200);

export async function queueStats(s: Session) {
  await s.out.json(await (await fallback(s)).getQueueStats());
}
export async function queuePending(s: Session, o: { limit: number; afterId?: string }) {
  const ops = await (await fallback(s)).getPendingOps({ limit: o.limit, ...(o.afterId ? { afterId: o.afterId } : {}) });
  await s.out.rows(ops.map(opRow), ['id', 'op', 'record', 'status', 'attempts', 'enqueuedAt', 'lastError']);
}
export async function queueDead(s: Session, o: { limit: number; afterId?: string }) {
  const ops = await (await fallback(s)).getDeadLetterOps({ limit: o.limit, ...(o.afterId ? { afterId: o.afterId } : {}) });
  await s.out.rows(ops.map(opRow), ['id', 'op', 'record', 'attempts', 'enqueuedAt', 'lastError']);
}
export async function queueRetry(s: Session, id: string) {
  await s.out.json(opRow(await (await fallback(s)).retryDeadLetter(id)));
}
export async function queueCancel(s: Session, id: string) {
  await (await fallback(s)).cancelOp(id);
  await s.out.json({ id, cancelled: true });
}
export async function queueWork(s: Session, o: { concurrency: number; forever?: boolean }) {
  const fb = await fallback(s);
  const before = await fb.getQueueStats();
  fb.startWorker({ concurrency: o.concurrency, pollMs: 200 });
  let stop = false;
  const onSig = () => {
    stop = true;
  };
  process.once('SIGINT', onSig);
  process.once('SIGTERM', onSig);
  try {
    for (;;) {
      await new Promise((r) => setTimeout(r, 250));
      if (stop) break;
      if (o.forever) continue;
      const q = await fb.getQueueStats();
      // done when nothing is claimable now: pending ops waiting for a backoff count as left
      if (q.pending + q.claimed === 0) break;
    }
  } finally {
    process.off('SIGINT', onSig);
    process.off('SIGTERM', onSig);
    await fb.stopWorker();
  }
  const after = await fb.getQueueStats();
  await s.out.json({ before, after });
  return after.dead > before.dead ? EXIT.failed : EXIT.ok;
}

// ---------------------------------------------------------------- rebalance (issue 17)

type RebalanceCtx = { dbName: string; collection: string; tenantId?: string };
const ctxName = (c: RebalanceCtx) => `${c.dbName}/${c.collection}${c.tenantId !== undefined ? ` (tenant ${c.tenantId})` : ''}`;

/**
 * `rebalance --plan`: the hashed contexts not where this config places them (read-only).
 * `rebalance`: the plan, a confirmation (`--yes`), then the moves, with a progress bar
 * on a terminal; a rerun finishes what an interrupted run left.
 */
export async function rebalance(s: Session, o: { plan?: boolean; drain?: string[]; keepSource?: boolean; batchSize?: number; concurrency?: number }) {
  const c = await s.open('read');
  if (!c.config.databases) throw usage(`rebalance moves hashed contexts between MongoDB backends: ${(await s.config()).file} has no databases`);
  const drain = o.drain?.length ? { drain: o.drain } : {};
  const plan = await c.admin.planRebalance(drain);
  const records = plan.moves.reduce((n, m) => n + m.records, 0);
  const versions = plan.moves.reduce((n, m) => n + m.versions, 0);
  const notes = () => {
    for (const u of plan.unreachable)
      s.out.note(`unreachable: ${ctxName(u.context)} lives on backend '${u.backend}', which this config lacks (add it back to move it)`);
    if (plan.cleanups.length) s.out.note(`${plan.cleanups.length} moved context(s) still have a source copy to remove (rebalance --yes removes it)`);
  };
  if (o.plan) {
    if (s.out.machine) await s.out.json(plan);
    else {
      await s.out.rows(
        plan.moves.map((m) => ({
          context: ctxName(m.context),
          from: m.from,
          to: m.to,
          records: m.records,
          versions: m.versions,
          ...(m.resume ? { resume: 'yes' } : {}),
        })),
        ['context', 'from', 'to', 'records', 'versions', 'resume'],
      );
      s.out.note(`${plan.moves.length} of ${plan.contexts} hashed context(s) to move (${records} records, ${versions} versions); registry: ${plan.registry}`);
      notes();
    }
    return plan.unreachable.length ? EXIT.failed : EXIT.ok;
  }
  if (plan.moves.length === 0 && plan.cleanups.length === 0) {
    notes();
    s.out.note(`nothing to move: every one of ${plan.contexts} hashed context(s) is where the config places it`);
    await s.out.json({ moved: 0, records: 0, versions: 0, failed: [], sourcesRemoved: 0, sourcesKept: [] });
    return plan.unreachable.length ? EXIT.failed : EXIT.ok;
  }
  if (!s.g.yes) notes();
  await s.confirm(
    `Move ${plan.moves.length} hashed context(s) (${records} records, ${versions} versions)${o.drain?.length ? ` off ${o.drain.join(', ')}` : ''}${o.keepSource ? ', keeping the source copies' : ''}${plan.cleanups.length ? ` and remove ${plan.cleanups.length} source cop(ies) left by an earlier run` : ''}?`,
  );
  const bar = await s.progress(plan.moves.length, 'contexts');
  try {
    const r = await c.admin.rebalance({
      confirm: true,
      ...drain,
      ...(o.keepSource ? { keepSource: true } : {}),
      ...(o.batchSize !== undefined ? { batchSize: o.batchSize } : {}),
      ...(o.concurrency !== undefined ? { concurrency: o.concurrency } : {}),
      onProgress: (p) => bar.update(p.done),
    });
    bar.update(plan.moves.length);
    bar.stop();
    for (const f of r.failed.slice(0, 20)) s.out.note(`failed ${ctxName(f.context)} (${f.from} -> ${f.to}): ${s.hide(f.error)}`);
    await s.out.json({ ...r, failed: r.failed.map((f) => ({ ...f, error: s.hide(f.error) })) });
    return r.failed.length ? EXIT.failed : EXIT.ok;
  } catch (e) {
    bar.stop();
    s.out.note('interrupted: rerun the same command to finish (a context caught mid-move is resumed, none is moved twice)');
    throw e;
  }
}
