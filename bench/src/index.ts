/** The bench as a library (used by `pnpm bench` and by the smoke test in packages/chronos-db). */
export { runPair, measureOnce, percentile, summarize, type Side, type SideResult, type Counters, type PairOptions } from './measure.js';
export { PRESETS, selected, type BenchOptions, type BenchReport, type Target, type WorkloadResult } from './options.js';
export { openRemote, remoteEnvFromProcess, redactUrl, type RemoteEnv, type RemoteSetup } from './remote-env.js';
export { runRemoteWorkloads, payload } from './remote.js';
export { runLocalWorkloads } from './local.js';
export { renderMarkdown, writeJson } from './report.js';
export { runBench, parseArgs } from './run.js';
export { runBulkLocal, runBulkRemote, runLeanInstall } from './bulk.js';
export { runRebalanceRemote } from './rebalance.js';
