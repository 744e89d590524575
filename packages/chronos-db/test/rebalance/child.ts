/**
 * `admin.rebalance` in a separate process that SIGKILLs itself when the
 * `killAt`-th context has been copied (fenced, copied, not flipped): the
 * registry holds a 'moving' entry, the destination a partial or full copy.
 */
import { initChronos, type ChronosConfig } from 'chronos-db';

async function main() {
  const job = JSON.parse(process.env.REBALANCE_JOB!) as { config: ChronosConfig; drain?: string[]; killAt: number };
  const chronos = initChronos(job.config);
  let copied = 0;
  await chronos.admin.rebalance({
    confirm: true,
    batchSize: 4,
    concurrency: 1,
    ...(job.drain ? { drain: job.drain } : {}),
    onProgress: (p) => {
      if (p.phase === 'copied' && ++copied >= job.killAt) process.kill(process.pid, 'SIGKILL');
    },
  });
  process.stdout.write('finished without being killed\n');
  await chronos.admin.shutdown();
}

main().catch((e: unknown) => {
  process.stdout.write(`child failed: ${String((e as Error)?.stack ?? e)}\n`);
  process.exit(1);
});
