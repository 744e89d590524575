// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${VAR} is the config syntax the CLI reads and writes
/**
 * The `chronos` command line: the commands, their flags and help (commander),
 * and the error-to-exit-code mapping. Each command's code is imported when the
 * command runs, so `chronos --version` and `chronos get` load only what they use.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { describe, EXIT, exitCodeOf } from './errors.js';
import type { Io } from './output.js';
import { type GlobalOpts, Session, type Term } from './session.js';

export type { Io };

declare const __CHRONOS_CLI_VERSION__: string | undefined;
export const VERSION: string = typeof __CHRONOS_CLI_VERSION__ === 'string' ? __CHRONOS_CLI_VERSION__ : '0.0.0-dev';

export const int =
  (min = 0) =>
  (v: string): number => {
    if (!/^-?\d+$/.test(v) || Number(v) < min || !Number.isSafeInteger(Number(v))) throw new InvalidArgumentError(`expected an integer >= ${min}`);
    return Number(v);
  };
const time = (v: string): string => {
  if (Number.isNaN(new Date(v).getTime())) throw new InvalidArgumentError('expected an ISO date or time, e.g. 2026-01-31T12:00:00Z');
  return v;
};

/** A repeatable, comma-separated option's values. */
const list = (v: string, prev: string[]): string[] => [
  ...prev,
  ...v
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean),
];

type Handler = (s: Session, ...args: unknown[]) => Promise<unknown>;
type Loader = () => Promise<Record<string, unknown>>;

const readCmds: Loader = () => import('./commands/read.js');
const writeCmds: Loader = () => import('./commands/write.js');
const adminCmds: Loader = () => import('./commands/admin.js');
const transferCmds: Loader = () => import('./commands/transfer.js');
const studioCmds: Loader = () => import('./commands/studio.js');

export interface RunEnv {
  io?: Io;
  term?: Partial<Term>;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Where results go (backpressure-aware); default: `io.out`. */
  stdout?: import('node:stream').Writable;
}

/** Runs the CLI; resolves to the exit code. */
export async function run(argv: string[], io?: Io, runEnv: RunEnv = {}): Promise<number> {
  const out: Io = io ?? runEnv.io ?? { out: (s) => process.stdout.write(`${s}\n`), err: (s) => process.stderr.write(`${s}\n`) };
  const term: Term = {
    stdoutTTY: runEnv.term?.stdoutTTY ?? (!io && !!process.stdout.isTTY),
    stderrTTY: runEnv.term?.stderrTTY ?? (!io && !!process.stderr.isTTY),
    stdinTTY: runEnv.term?.stdinTTY ?? (!io && !!process.stdin.isTTY),
  };
  let session: Session | undefined;
  let code: number = EXIT.ok;

  const act = (load: Loader, name: string) =>
    async function (this: Command, ...args: unknown[]) {
      const cmd = args.pop() as Command;
      const opts = args.pop();
      session = new Session(
        cmd.optsWithGlobals() as GlobalOpts,
        out,
        term,
        runEnv.env ?? process.env,
        runEnv.cwd ?? process.cwd(),
        io ? undefined : runEnv.stdout,
      );
      const fn = (await load())[name] as Handler;
      const r = await fn(session, ...args, opts);
      code = typeof r === 'number' ? r : EXIT.ok;
    };

  const program = new Command('chronos')
    .description('chronos-db from a shell: versioned JSON records on MongoDB + S3-compatible storage, or the embedded default')
    .version(VERSION, '-V, --version')
    .exitOverride()
    .showSuggestionAfterError(true)
    .configureOutput({ writeOut: (s) => out.out(s.trimEnd()), writeErr: (s) => out.err(s.trimEnd()) })
    .option('-c, --config <file>', 'config file (default: chronos.config.{json,yaml,yml,mjs,js,ts} found from here upward; env CHRONOS_CONFIG)')
    .option('--db <dbName>', 'database name (hashed routing; env CHRONOS_DB)')
    .option('--key <key>', 'backend key (key routing; env CHRONOS_KEY)')
    .option('--tenant <tenantId>', 'tenant id (env CHRONOS_TENANT)')
    .option('--collection <name>', 'collection (env CHRONOS_COLLECTION)')
    .option('--json', 'machine output: one JSON document, NDJSON for lists (the default when stdout is not a terminal)')
    .option('-v, --verbose', 'on error, print the cause too')
    .option('-y, --yes', 'answer yes to confirmation prompts (needed when stdin is not a terminal)')
    .addHelpText(
      'after',
      `
Exit codes: 0 ok, 1 a check or operation failed, 2 usage or config error, 3 not found,
4 conflict (e.g. a stale --expected-ov), 5 storage unreachable.

Examples:
  chronos init                                  write a starter chronos.config.json (embedded store)
  chronos doctor                                check everything the config points at
  chronos --db app --collection users ls --limit 20
  echo '{"email":"a@example.com"}' | chronos --db app --collection users create`,
    );
  const example = (c: Command, ...lines: string[]) => c.addHelpText('after', `\nExamples:\n${lines.map((l) => `  ${l}`).join('\n')}`);

  // ---- setup and checks
  example(
    program
      .command('init')
      .description('write a starter config (embedded default, or MongoDB + Spaces from flags) and say what to do next')
      .option('--format <fmt>', 'json or yaml', 'json')
      .option('--base-path <dir>', 'embedded store folder (relative to the config)', './chronos-data')
      .option('--mongo', 'a MongoDB backend (URI from ${MONGODB_URI}) instead of the embedded store')
      .option(
        '--spaces <endpoint>',
        'S3 / Spaces endpoint, e.g. https://fra1.digitaloceanspaces.com (keys from ${DO_SPACES_ACCESS_KEY}, ${DO_SPACES_SECRET_KEY})',
      )
      .option('--region <region>', 'Spaces region', 'fra1')
      .option('--bucket-prefix <prefix>', 'bucket names: <prefix>-json, -content, -backups', 'chronos')
      .option('--db-name <name>', 'database name for the defaults block', 'app')
      .option('--force', 'overwrite an existing config')
      .action(act(adminCmds, 'init')),
    'chronos init',
    'chronos init --mongo --spaces https://fra1.digitaloceanspaces.com --region fra1 --bucket-prefix myapp',
  );
  example(
    program
      .command('doctor')
      .description('health, connectivity, Spaces validation, buckets, indexes and queue depth: one line per check')
      .action(act(adminCmds, 'doctor')),
    'chronos doctor --db app --collection users',
  );
  example(
    program.command('health').description('check every backend, storage connection and the counters database').action(act(adminCmds, 'health')),
    'chronos health',
  );
  example(program.command('backends').description('list the configured backends (no secrets)').action(act(adminCmds, 'backends')), 'chronos backends --json');
  example(
    program
      .command('buckets')
      .description('check (and with --create, create) the buckets of a context')
      .option('--create', 'create the missing buckets')
      .action(act(adminCmds, 'buckets')),
    'chronos buckets --db app --collection users --create',
  );
  example(
    program.command('validate').description('validate the Spaces / S3 configuration of a context').action(act(adminCmds, 'validate')),
    'chronos validate --db app --collection users',
  );
  example(
    program.command('s3-test').description('test S3 connectivity of a context').action(act(adminCmds, 's3Test')),
    'chronos s3-test --db app --collection users',
  );

  // ---- reads
  example(
    program
      .command('ls')
      .description('list records (latest, or --as-of a time / --as-of-cv), filtered on indexed properties, in pages')
      .option('--filter <json>', 'filter on indexed properties, e.g. \'{"status":"active"}\'')
      .option('--where <k=v...>', 'equality filter(s) on indexed properties (values parse as JSON when they can)')
      .option('--limit <n>', 'records per page (1-1000)', int(1), 50)
      .option('--page-token <token>', 'continue after a previous page')
      .option('--all', 'every page')
      .option('--as-of <time>', 'the collection as it was at this time', time)
      .option('--as-of-cv <n>', 'the collection as it was at this collection version', int(0))
      .option('--include-deleted', 'deleted records too (latest only)')
      .action(act(readCmds, 'ls')),
    'chronos ls --where status=active --limit 20',
    'chronos ls --as-of 2026-01-01T00:00:00Z --all --json > snapshot.ndjson',
  );
  example(
    program
      .command('get')
      .description('print a record: latest, --ov N, --at <time> or --cv N')
      .argument('<id>')
      .option('--ov <n>', 'version number', int(0))
      .option('--at <time>', 'as of this time', time)
      .option('--cv <n>', 'as of this collection version', int(0))
      .option('--include-deleted', 'show a deleted record')
      .action(act(readCmds, 'get')),
    'chronos get 01J9ZX... --ov 2',
  );
  example(
    program
      .command('history')
      .description("list a record's versions, newest first, in pages")
      .argument('<id>')
      .option('--limit <n>', 'versions per page (1-1000)', int(1), 100)
      .option('--page-token <token>', 'continue after a previous page')
      .option('--all', 'every page')
      .option('--asc', 'oldest first')
      .action(act(readCmds, 'history')),
    'chronos history 01J9ZX... --all --asc',
  );
  example(
    program
      .command('diff')
      .description('what changed between two versions of a record: a coloured patch, or RFC 6902 JSON with --json')
      .argument('<id>')
      .requiredOption('--from <version>', 'ov:N, cv:N, at:<time>, a bare number (ov) or a time')
      .option('--to <version>', 'as --from (default: the latest)')
      .action(act(readCmds, 'diff')),
    'chronos diff 01J9ZX... --from 0 --to 3',
    'chronos diff 01J9ZX... --from at:2026-01-01T00:00:00Z --json',
  );
  example(
    program
      .command('changes')
      .description('the change feed: versions committed after a collection version, in cv order (NDJSON when piped)')
      .option('--after-cv <n>', 'resume point (exclusive)', int(0), 0)
      .option('--limit <n>', 'versions per page (1-1000; default 100, with --all 1000)', int(1))
      .option('--all', 'every page up to now')
      .option('--follow', 'keep watching for new changes (Ctrl-C stops)')
      .option('--include-payload', "each version's data too")
      .option('--filter <json>', 'filter on indexed properties')
      .action(act(readCmds, 'changes')),
    'chronos changes --after-cv 1200 --follow',
  );

  // ---- writes
  const writeOpts = (c: Command) =>
    c
      .option('--request-id <id>', 'idempotency key: a retry with the same key writes at most one version')
      .option('--actor <who>', 'who makes the change')
      .option('--reason <why>', 'why');
  example(
    writeOpts(
      program
        .command('create')
        .description('create a record from a JSON file or stdin')
        .argument('[file]', "JSON file ('-' or none: stdin)")
        .option('--id <id>', 'use this id instead of a generated one'),
    ).action(act(writeCmds, 'create')),
    'chronos create user.json --request-id import-42',
    'echo \'{"email":"a@example.com"}\' | chronos create',
  );
  example(
    writeOpts(
      program
        .command('update')
        .description('a new version with the JSON of a file or stdin as the whole record')
        .argument('<id>')
        .argument('[file]', "JSON file ('-' or none: stdin)")
        .option('--expected-ov <n>', 'refuse (exit 4) unless the latest version is this one', int(0)),
    ).action(act(writeCmds, 'update')),
    'chronos update 01J9ZX... user.json --expected-ov 3',
  );
  example(
    writeOpts(
      program
        .command('enrich')
        .description('deep-merge a JSON patch (file or stdin) into the latest version')
        .argument('<id>')
        .argument('[file]', "JSON file ('-' or none: stdin)")
        .option('--expected-ov <n>', 'refuse (exit 4) unless the latest version is this one', int(0)),
    ).action(act(writeCmds, 'enrich')),
    'echo \'{"tags":["vip"]}\' | chronos enrich 01J9ZX...',
  );
  example(
    writeOpts(
      program
        .command('delete')
        .description('a deleting version (the history stays)')
        .argument('<id>')
        .option('--expected-ov <n>', 'refuse (exit 4) unless the latest version is this one', int(0)),
    ).action(act(writeCmds, 'delete')),
    'chronos delete 01J9ZX... --expected-ov 4',
  );
  example(
    program
      .command('restore')
      .description('a new version of a record equal to an older one')
      .argument('<id>')
      .addOption(new Option('--ov <n>', 'the version to go back to').argParser(int(0)).conflicts('at'))
      .option('--at <time>', 'the version current at this time', time)
      .option('--dry-run', 'show the plan, change nothing')
      .option('--request-id <id>', 'idempotency key')
      .option('--actor <who>', 'who')
      .option('--reason <why>', 'why')
      .action(act(writeCmds, 'restore')),
    'chronos restore 01J9ZX... --ov 2 --yes',
  );
  example(
    program
      .command('restore-collection')
      .description('every record of the collection back to how it was at a time or cv (plan, confirm, progress; a rerun resumes)')
      .addOption(new Option('--at <time>', 'target time').argParser(time).conflicts('cv'))
      .option('--cv <n>', 'target collection version', int(0))
      .option('--dry-run', 'show the plan, change nothing')
      .option('--actor <who>', 'who')
      .option('--reason <why>', 'why')
      .option('--parallel <n>', 'records restored at once (1-64)', int(1), 4)
      .action(act(writeCmds, 'restoreCollection')),
    'chronos restore-collection --at 2026-01-01T00:00:00Z --dry-run',
    'chronos restore-collection --cv 1200 --yes',
  );

  // ---- maintenance
  example(
    program
      .command('gc')
      .description('delete payload objects no version references, older than the grace period')
      .option('--grace-ms <ms>', 'only objects older than this (default 1 hour)', int(1))
      .option('--dry-run', 'count what would go, delete nothing')
      .action(act(adminCmds, 'gc')),
    'chronos gc --dry-run',
  );
  for (const [name, desc, ex] of [
    ['rollup', 'write the version-index rows that retention will remove into manifests in the backups bucket (idempotent)', 'chronos rollup'],
    ['prune', 'remove from the version index the rows the manifests hold (checked by hash); history stays readable', 'chronos prune --yes'],
  ] as const)
    example(
      program.command(name).description(desc).option('--now <time>', 'judge retention at this time (default: now)', time).action(act(adminCmds, name)),
      ex,
    );
  example(
    program
      .command('erasures')
      .description('the erasure records of the context: who, when, why, how many objects went (no content)')
      .option('--limit <n>', 'records per page', int(1), 100)
      .option('--page-token <token>', 'continue after a previous page')
      .action(act(adminCmds, 'erasures')),
    'chronos erasures --json',
  );
  example(
    program
      .command('shrink')
      .description('drop devShadow copies past ttlHours or over maxBytesPerDoc (reads stay correct)')
      .option('--dry-run', 'count what would go, change nothing')
      .action(act(adminCmds, 'shrink')),
    'chronos shrink --dry-run',
  );
  example(
    program
      .command('maintain')
      .description('one maintenance pass (rollup, prune, shrink, TTL, GC, unfinished erasures), or one every --every ms until Ctrl-C')
      .option('--every <ms>', 'keep running a pass this often (at least 100)', int(100))
      .option('--ttl-hours <n>', 'TTL marking threshold (omitted: the step is skipped)', int(1))
      .option('--gc-grace-ms <ms>', 'GC grace period', int(1))
      .option('--skip <steps>', 'comma-separated steps to leave out: rollup,prune,shrink,ttl,gc,erasures')
      .action(act(adminCmds, 'maintain')),
    'chronos maintain --yes',
    'chronos maintain --every 600000 --yes',
  );
  example(
    program
      .command('hard-delete')
      .description('erase a record: every version, payload and blob (needs hardDeleteEnabled); you type the id to confirm')
      .argument('<id>')
      .option('--confirm <id>', 'the same id again, for scripts (no prompt)')
      .option('--actor <who>', 'who asked (kept in the erasure record)')
      .option('--reason <why>', 'why (kept in the erasure record)')
      .action(act(adminCmds, 'hardDelete')),
    'chronos hard-delete 01J9ZX...',
    'chronos hard-delete 01J9ZX... --confirm 01J9ZX...',
  );
  example(
    program
      .command('counters')
      .description("the collection's counter totals")
      .option('--recount', 'rebuild them from the version index first')
      .action(act(adminCmds, 'counters')),
    'chronos counters --recount',
  );
  example(
    program
      .command('rebalance')
      .description(
        'move hashed contexts to where the backends of the config place them (after adding or draining a backend): the plan, a confirmation, a progress bar; a rerun finishes an interrupted one',
      )
      .option('--plan', 'only show the moves (read-only): a table, or JSON with --json')
      .option('--drain <backend>', 'a backend key being removed: its contexts move to the others (repeat or comma-separate)', list, [])
      .option('--keep-source', 'keep the source copy of every moved context')
      .option('--batch-size <n>', 'contexts fenced at a time (default 32)', int(1))
      .option('--concurrency <n>', 'contexts of a batch copied at once (default 4)', int(1))
      .action(act(adminCmds, 'rebalance')),
    'chronos rebalance --plan',
    'chronos rebalance --yes',
    'chronos rebalance --drain old-server --yes && chronos rebalance --plan --drain old-server',
  );
  const queue = program.command('queue').description('the fallback queue: writes waiting for MongoDB');
  example(queue.command('stats').description('pending, claimed and dead-lettered ops').action(act(adminCmds, 'queueStats')), 'chronos queue stats');
  for (const [name, desc] of [
    ['pending', 'pending and claimed ops'],
    ['dead', 'dead-lettered ops'],
  ] as const)
    example(
      queue
        .command(name)
        .description(desc)
        .option('--limit <n>', 'ops per page', int(1), 100)
        .option('--after-id <id>', 'continue after this op id')
        .action(act(adminCmds, name === 'pending' ? 'queuePending' : 'queueDead')),
      `chronos queue ${name} --limit 20`,
    );
  example(
    queue.command('retry').description('queue a dead-lettered op again').argument('<opId>').action(act(adminCmds, 'queueRetry')),
    'chronos queue retry 0001-...',
  );
  example(queue.command('cancel').description('remove a pending op').argument('<opId>').action(act(adminCmds, 'queueCancel')), 'chronos queue cancel 0001-...');
  example(
    queue
      .command('work')
      .description('replay queued writes until the queue is empty (or, with --forever, until Ctrl-C)')
      .option('--concurrency <n>', 'ops at once (1-64)', int(1), 4)
      .option('--forever', 'keep working')
      .action(act(adminCmds, 'queueWork')),
    'chronos queue work',
  );

  // ---- browse
  example(
    program
      .command('studio')
      .description('a local history browser in the web page (@chronos-db/studio): records, timelines, diffs, as-of views, a live feed')
      .option('--port <n>', 'port (0: any free one)', int(0), 4400)
      .option('--host <host>', 'address to bind (default 127.0.0.1; any other is reachable from elsewhere: a warning says so)')
      .option('--allow-restore', 'offer "restore to this version" (behind a confirmation; default: read-only)')
      .option('--collections <a,b>', 'the collections to list (default: --collection, else the collectionMaps of the config)')
      .action(act(studioCmds, 'studio')),
    'chronos --db app studio --collections users,orders',
    'chronos --db app --collection users studio --port 4401 --allow-restore',
  );

  // ---- transfer
  example(
    program
      .command('export')
      .description(
        'a collection (or, with none given or --all-collections, every collection of collectionMaps) as it was (default: now), NDJSON on stdout, streamed, content blobs inlined',
      )
      .addOption(new Option('--at <time>', 'as it was at this time').argParser(time).conflicts('cv'))
      .option('--cv <n>', 'as it was at this collection version (one collection)', int(0))
      .option('--all-collections', "every collection of the config's collectionMaps, even with a default collection")
      .action(act(transferCmds, 'exportCmd')),
    'chronos export --at 2026-01-01T00:00:00Z > dump.ndjson',
    'chronos --db app export --all-collections > app.ndjson && chronos --db app-copy import app.ndjson',
  );
  example(
    program
      .command('import')
      .description(
        'records from NDJSON (file or stdin), ids kept, each to --collection or else the collection its line names; a rerun writes nothing twice; or a plain MongoDB collection (--from-mongo)',
      )
      .argument('[file]', "NDJSON file ('-' or none: stdin)")
      .option('--from-mongo <uri>', 'read a plain MongoDB collection: each document becomes version 0 of a record with the same id')
      .option('--source-db <name>', 'with --from-mongo: its database (else the database of the URI)')
      .option('--source-collection <name>', 'with --from-mongo: its collection (default: --collection)')
      .option('--batch-size <n>', 'records per batch (1-5000)', int(1), 500)
      .option('--actor <who>', 'who')
      .option('--reason <why>', 'why', 'import')
      .action(act(transferCmds, 'importCmd')),
    'chronos import dump.ndjson',
    'chronos --db app --collection users import --from-mongo "$LEGACY_URI" --source-db legacy --source-collection users',
  );

  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help' || e.exitCode === 0) return EXIT.ok;
      if (e.code === 'commander.executeSubCommandAsync') return EXIT.failed;
      // commander printed the message (with a suggestion for an unknown command or flag)
      return EXIT.usage;
    }
    const verbose = !!session?.g.verbose || argv.includes('--verbose') || argv.includes('-v');
    for (const l of describe(e, verbose, session?.hide ?? ((s) => s))) out.err(l);
    return exitCodeOf(e);
  } finally {
    await session?.close();
  }
}
