#!/usr/bin/env node
/** The `chronos` binary. `--version` answers before anything else loads. */
declare const __CHRONOS_CLI_VERSION__: string | undefined;

const argv = process.argv.slice(2);
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
  process.stdout.write(`${typeof __CHRONOS_CLI_VERSION__ === 'string' ? __CHRONOS_CLI_VERSION__ : '0.0.0-dev'}\n`);
} else {
  import('./run.js').then(async ({ run }) => {
    const code = await run(argv, undefined, { stdout: process.stdout });
    process.exitCode = code;
    // a driver's lingering socket must not keep a finished command alive
    setTimeout(() => process.exit(code), 3000).unref();
  });
}
