/** `pnpm bench`: see USAGE in run.ts. */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { remoteEnvFromProcess } from './remote-env.js';
import { renderMarkdown, writeJson } from './report.js';
import { USAGE, parseArgs, runBench } from './run.js';

async function main(): Promise<number> {
  let args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const envOrMissing = remoteEnvFromProcess();
  if ('missing' in envOrMissing && args.opts.remote) {
    process.stderr.write(
      `bench: ${envOrMissing.missing.join(', ')} not set (scripts/bench.sh starts the servers and sets them); use --no-remote for the embedded table only\n`,
    );
    return 2;
  }
  const env = 'missing' in envOrMissing ? undefined : envOrMissing;
  const log = (l: string) => process.stderr.write(`${l}\n`);
  const rep = await runBench({ preset: args.preset, opts: args.opts, ...(env ? { env } : {}), keep: args.keep, log });
  const md = renderMarkdown(rep);
  process.stdout.write(`\n${md}`);
  const here = dirname(fileURLToPath(import.meta.url));
  const file = writeJson(rep, args.out ?? join(here, '..', 'results'));
  process.stdout.write(`\nJSON: ${file}\n`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`bench failed: ${(e as Error)?.stack ?? e}\n`);
    process.exit(1);
  },
);
