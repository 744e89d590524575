/**
 * One invocation's state: the global flags, the config (loaded on first use),
 * the chronos instance (opened on first use, shut down at the end), the
 * context (flags, then CHRONOS_* variables, then the config's `defaults`),
 * and the terminal: prompts and progress only where stderr and stdin are one.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Chronos, ContextInput, QueuedWrite } from 'chronos-db';
import { type LoadedConfig, loadConfig } from './config.js';
import { CliError, EXIT, usage } from './errors.js';
import { type Io, Output } from './output.js';

export interface GlobalOpts {
  config?: string;
  db?: string;
  key?: string;
  tenant?: string;
  collection?: string;
  json?: boolean;
  verbose?: boolean;
  yes?: boolean;
}

export interface Term {
  stdoutTTY: boolean;
  stderrTTY: boolean;
  stdinTTY: boolean;
}

/** The embedded store's metadata file under basePath (storage-local's METADATA_FILE). */
const METADATA_FILE = 'chronos-metadata.sqlite';

export class Session {
  loaded?: LoadedConfig;
  private chronos?: Chronos<QueuedWrite>;
  readonly out: Output;

  constructor(
    readonly g: GlobalOpts,
    readonly io: Io,
    readonly term: Term,
    readonly env: NodeJS.ProcessEnv,
    readonly cwd: string,
    stdout: import('node:stream').Writable | undefined,
  ) {
    this.out = new Output(stdout, io, { json: !!g.json, tty: term.stdoutTTY });
  }

  async config(): Promise<LoadedConfig> {
    this.loaded ??= await loadConfig({ config: this.g.config, cwd: this.cwd, env: this.env });
    return this.loaded;
  }

  /** Hides the config's secrets in a message. */
  hide = (s: string): string => {
    let r = s.replace(/(mongodb(?:\+srv)?:\/\/)[^@/\s]+@/g, '$1***@');
    for (const x of this.loaded?.secrets ?? []) r = r.split(x).join('***');
    return r;
  };

  /**
   * The chronos instance. `readOnly` commands never create a store: on the
   * embedded default a missing store is an error that says where it looked.
   */
  async open(mode: 'read' | 'write'): Promise<Chronos<QueuedWrite>> {
    if (this.chronos) return this.chronos;
    const { file, config } = await this.config();
    const ls = config.localStorage;
    const hasDbs = !!config.databases && Object.values(config.databases).some((t) => t && (t.generic || t.domains?.length || t.tenants?.length));
    if (mode === 'read' && ls?.enabled && !hasDbs) {
      const meta = join(ls.basePath, METADATA_FILE);
      if (!existsSync(meta))
        throw new CliError(
          `no chronos store at ${ls.basePath} (localStorage.basePath of ${file}; looked for ${METADATA_FILE}); nothing was created`,
          EXIT.notFound,
        );
    }
    const { initChronos } = await import('chronos-db');
    this.chronos = initChronos(config) as unknown as Chronos<QueuedWrite>;
    return this.chronos;
  }

  /** The collection named by `--collection` or CHRONOS_COLLECTION (not the config's defaults). */
  explicitCollection(): string | undefined {
    return this.g.collection ?? (this.env.CHRONOS_COLLECTION || undefined);
  }

  /**
   * The context of the command: flags, then CHRONOS_* variables, then the config's defaults.
   * `collection: 'name'` binds that collection instead; `false`: none is needed.
   */
  async ctx(opts: { collection?: boolean | string } = {}): Promise<ContextInput & { collection: string }> {
    const d = (await this.config()).defaults;
    const pick = (flag: string | undefined, env: string, def: string | undefined) => flag ?? (this.env[env] || undefined) ?? def;
    if (this.g.key && this.g.db) throw usage('give --db or --key, not both');
    const collection = typeof opts.collection === 'string' ? opts.collection : pick(this.g.collection, 'CHRONOS_COLLECTION', d.collection);
    if (opts.collection !== false && !collection) throw usage('give --collection <name> (or CHRONOS_COLLECTION, or defaults.collection in the config)');
    const col = collection ?? '_';
    const tenant = pick(this.g.tenant, 'CHRONOS_TENANT', d.tenant);
    const t = tenant ? { tenantId: tenant } : {};
    // flags, then the environment, then the config's defaults; a key beats a db at the same level
    const levels: Array<[string | undefined, string | undefined]> = [
      [this.g.key, this.g.db],
      [this.env.CHRONOS_KEY || undefined, this.env.CHRONOS_DB || undefined],
      [d.key, d.db],
    ];
    for (const [key, db] of levels) {
      if (key) return { key, collection: col, ...t } as ContextInput & { collection: string };
      if (db) return { dbName: db, collection: col, ...t };
    }
    throw usage('give --db <dbName> or --key <backend key> (or CHRONOS_DB / CHRONOS_KEY, or defaults in the config)');
  }
  /** Counter / namespace scope of the context (hashed form). */
  async scope(): Promise<{ dbName: string; collection: string; tenant?: string }> {
    const c = (await this.ctx()) as { dbName?: string; key?: string; collection: string; tenantId?: string };
    if (!c.dbName) throw usage('this command needs --db <dbName>');
    return { dbName: c.dbName, collection: c.collection, ...(c.tenantId ? { tenant: c.tenantId } : {}) };
  }

  /**
   * Asks before a change: `--yes` skips the question; without `--yes` and no
   * terminal on stdin it is refused (exit 2); a "no" exits 1.
   */
  async confirm(question: string, opts: { typeToConfirm?: string } = {}): Promise<void> {
    if (this.g.yes && !opts.typeToConfirm) return;
    if (!this.term.stdinTTY || !this.term.stderrTTY)
      throw usage(
        opts.typeToConfirm
          ? 'refusing: type the id on a terminal to confirm, or repeat it with --confirm <id>'
          : 'refusing without --yes: stdin is not a terminal to ask on',
      );
    const ctx = { input: process.stdin, output: process.stderr };
    let ok: boolean;
    try {
      if (opts.typeToConfirm) {
        const { default: input } = await import('@inquirer/input');
        ok = (await input({ message: `${question} Type ${opts.typeToConfirm} to confirm:` }, ctx)) === opts.typeToConfirm;
      } else {
        const { default: confirm } = await import('@inquirer/confirm');
        ok = await confirm({ message: question, default: false }, ctx);
      }
    } catch (e) {
      if ((e as Error).name === 'ExitPromptError') throw new CliError('cancelled', EXIT.failed);
      throw e;
    }
    if (!ok) throw new CliError('cancelled: nothing was changed', EXIT.failed);
  }

  /** A progress bar on stderr (rate and ETA) when stderr is a terminal; a no-op otherwise. */
  async progress(total: number, unit: string): Promise<{ update(n: number): void; stop(): void }> {
    if (!this.term.stderrTTY || total <= 0) return { update() {}, stop() {} };
    const { SingleBar } = await import('cli-progress');
    const started = Date.now();
    const bar = new SingleBar({
      stream: process.stderr,
      format: ` {bar} {percentage}% | {value}/{total} ${unit} | {rate}/s | ETA {eta_formatted}`,
      hideCursor: true,
      clearOnComplete: false,
      etaBuffer: 50,
    });
    bar.start(total, 0, { rate: '0' });
    return {
      update: (n) => bar.update(Math.min(n, total), { rate: (n / Math.max((Date.now() - started) / 1000, 0.001)).toFixed(0) }),
      stop: () => bar.stop(),
    };
  }

  async close(): Promise<void> {
    await this.chronos?.admin.shutdown().catch(() => {});
  }
}
