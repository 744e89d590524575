/**
 * The `chronos` command line: health, backends, bucket checks and creation,
 * Spaces validation, and read-only record inspection, over a config file.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Command, CommanderError } from 'commander';
import { initChronos, isChronosError, type Chronos, type ChronosConfig, type QueuedWrite } from 'chronos-db';

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

async function loadConfig(file: string): Promise<ChronosConfig> {
  const path = resolve(file);
  if (path.endsWith('.json')) return JSON.parse(await readFile(path, 'utf8')) as ChronosConfig;
  const mod = (await import(pathToFileURL(path).href)) as { default?: unknown; config?: unknown };
  return (mod.default ?? mod.config) as ChronosConfig;
}

function ctxOf(o: { key?: string; db?: string; collection: string; tenant?: string }) {
  if (o.key) return { key: o.key, collection: o.collection, ...(o.tenant ? { tenantId: o.tenant } : {}) };
  if (!o.db) throw new CommanderError(2, 'chronos.usage', 'give --db <dbName> (or --key <backend key>)');
  return { dbName: o.db, collection: o.collection, ...(o.tenant ? { tenantId: o.tenant } : {}) };
}

/** Runs the CLI; resolves to the exit code. */
export async function run(
  argv: string[],
  io: Io = { out: (s) => process.stdout.write(`${s}\n`), err: (s) => process.stderr.write(`${s}\n`) },
): Promise<number> {
  let chronos: Chronos<QueuedWrite> | undefined; // a config file may turn the fallback queue on
  const open = async (o: { config: string }) => (chronos = initChronos(await loadConfig(o.config)));
  const print = (v: unknown) => io.out(JSON.stringify(v, null, 2));
  const program = new Command('chronos')
    .description('chronos-db: versioned JSON records on MongoDB + S3-compatible storage')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) });
  const ctxOpts = (c: Command) =>
    c
      .requiredOption('-c, --config <file>', 'config file (.json, or a module exporting the config)')
      .option('--db <dbName>', 'database name (hashed routing)')
      .option('--key <key>', 'backend key (key routing)')
      .option('--tenant <tenantId>', 'tenant id')
      .requiredOption('--collection <name>', 'collection');

  program
    .command('health')
    .description('check every backend, storage connection and the counters database')
    .requiredOption('-c, --config <file>', 'config file')
    .action(async (o) => {
      const h = await (await open(o)).admin.health();
      print(h);
      if (!h.ok) process.exitCode = 1;
    });
  program
    .command('backends')
    .description('list configured backends (no secrets)')
    .requiredOption('-c, --config <file>', 'config file')
    .action(async (o) => print((await open(o)).admin.listBackends()));
  ctxOpts(program.command('buckets').description('check (and with --create, create) the three buckets of a context'))
    .option('--create', 'create missing buckets')
    .option('--dry-run', 'only report')
    .action(async (o) => {
      const c = await open(o);
      const r = await c.admin.ensureBucketsExist(ctxOf(o), { confirm: true, createIfMissing: !!o.create, dryRun: !o.create || !!o.dryRun });
      for (const s of r.bucketStatuses) io.out(`${s.exists ? 'ok     ' : 'missing'} ${s.name}${s.created ? ' (created)' : ''}${s.error ? `  ${s.error}` : ''}`);
      if (r.bucketStatuses.some((s) => !s.exists)) process.exitCode = 1;
    });
  ctxOpts(program.command('validate').description('validate the Spaces / S3 configuration of a context')).action(async (o) => {
    const r = await (await open(o)).admin.validateSpacesConfiguration(ctxOf(o));
    print(r);
    if (!r.valid) process.exitCode = 1;
  });
  ctxOpts(program.command('s3-test').description('test S3 connectivity of a context')).action(async (o) => {
    const r = await (await open(o)).admin.testS3Connectivity(ctxOf(o));
    print(r);
    if (!r.success) process.exitCode = 1;
  });
  ctxOpts(program.command('get').description('print a record: latest, --ov N or --at <ISO time>').argument('<id>'))
    .option('--ov <n>', 'version number', (v) => Number(v))
    .option('--at <time>', 'as of this ISO time')
    .option('--include-deleted', 'show a deleted record')
    .action(async (id: string, o) => {
      const c = await open(o);
      const r = await c
        .with(ctxOf(o))
        .getItem(id, { ...(o.ov !== undefined ? { ov: o.ov } : {}), ...(o.at ? { at: o.at } : {}), includeMeta: true, includeDeleted: !!o.includeDeleted });
      print(r);
      if (!r) process.exitCode = 1;
    });
  ctxOpts(program.command('history').description("list a record's versions").argument('<id>')).action(async (id: string, o) => {
    const c = await open(o);
    const col = c.with(ctxOf(o));
    let pageToken: string | undefined;
    do {
      // oldest first, a page at a time: a record with many versions never sits in memory whole
      const page = await col.history(id, { dir: 'asc', limit: 1000, ...(pageToken ? { pageToken } : {}) });
      for (const h of page.items) io.out(`v${h.ov}\tcv=${h.cv}\t${h.op}\t${h.at.toISOString()}\t${h.actor ?? ''}\t${h.reason ?? ''}`);
      pageToken = page.pageToken;
    } while (pageToken);
  });

  try {
    process.exitCode = 0;
    await program.parseAsync(argv, { from: 'user' });
    return Number(process.exitCode ?? 0);
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    io.err(`error: ${isChronosError(e) ? `${e.name}: ${e.message}` : (e as Error).message}`);
    return 1;
  } finally {
    process.exitCode = undefined;
    await chronos?.admin.shutdown().catch(() => {});
  }
}
