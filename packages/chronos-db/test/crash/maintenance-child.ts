/** A process running admin.startMaintenance on a given config; prints each pass it ran as a JSON line, stops after `ticks` reports. */
import { initChronos, type ChronosConfig, type MaintenanceReport } from 'chronos-db';

async function main() {
  const job = JSON.parse(process.env.MAINT_JOB!) as { config: ChronosConfig; everyMs: number; ticks: number };
  const chronos = initChronos(job.config);
  let seen = 0;
  let done!: () => void;
  const enough = new Promise<void>((r) => (done = r));
  chronos.admin.startMaintenance({
    everyMs: job.everyMs,
    gcGraceMs: 3_600_000,
    onReport: (r: MaintenanceReport) => {
      if (r.ran || process.env.MAINT_ALL)
        console.log(JSON.stringify({ ran: r.ran, round: r.round, steps: r.steps.map((s) => `${s.step}:${s.status}`), aborted: r.aborted ?? null }));
      if (++seen >= job.ticks) done();
    },
  });
  const keepAlive = setInterval(() => {}, 1000); // the maintenance timer does not hold the process open
  await enough;
  clearInterval(keepAlive);
  await chronos.admin.stopMaintenance();
  await chronos.admin.shutdown();
}

main().catch((e) => {
  console.error(e);
  process.exit(2);
});
