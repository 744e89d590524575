/**
 * Scheduled maintenance: `startMaintenance({ everyMs, onReport, ... })` runs, on a timer, per
 * context (default: every namespace of every configured backend, listed again at each pass, so
 * namespaces written by other processes are maintained too): rollup, prune, devShadow shrink, TTL marking, orphan GC (with its grace floor) and
 * the completion of interrupted erasures. Any number of processes may start it: passes are
 * numbered by time (pass = floor(now / everyMs)) and a pass runs in the one process that takes
 * its lease, a generation written with `putLease` in the metadata store (exactly one writer
 * wins a generation, on every store). A process that finds the pass taken, done, or an earlier
 * pass still running (its lease not expired) skips it. The holder renews the lease between
 * steps; a holder that died is replaced once the lease expires, and a pass a dead holder left
 * unfinished is rerun (every step is idempotent). `stopMaintenance()` clears the timer and
 * waits for a pass in progress. Each pass reports what it did, or why it skipped a step.
 */
import { randomBytes } from 'node:crypto';
import {
  MAINTENANCE_STEPS,
  ValidationError,
  type LeaseDoc,
  type MaintenanceOptions as CoreMaintenanceOptions,
  type MaintenanceReport,
  type MaintenanceStep,
  type MaintenanceStepReport,
  type MetadataStore,
} from '@chronos-db/core';
import { resolveContext, type ContextInput } from '@chronos-db/router';
import { targetLabel, type AdminRuntime, type AdminTarget } from './runtime.js';

/** The option and report types live in core (chronos-db names them too). */
export type MaintenanceOptions = CoreMaintenanceOptions<ContextInput>;
export type { MaintenanceReport, MaintenanceStep, MaintenanceStepReport };

/** What maintenance calls; `rollup` / `prune` are present once the rollup code is in this build. */
export interface MaintenanceSteps {
  rollup?: ((ctx: AdminTarget) => Promise<unknown>) | undefined;
  prune?: ((ctx: AdminTarget) => Promise<unknown>) | undefined;
  shrink: (ctx: AdminTarget) => Promise<unknown>;
  ttl: (ctx: AdminTarget, ttlHours: number) => Promise<unknown>;
  gc: (ctx: AdminTarget, graceMs: number | undefined) => Promise<unknown>;
  erasures: (ctx: AdminTarget) => Promise<unknown>;
}

const STEPS: readonly MaintenanceStep[] = MAINTENANCE_STEPS;
const LEASE = 'chronos.maintenance';

function check(o: MaintenanceOptions): void {
  if (!o || typeof o !== 'object') throw new ValidationError('startMaintenance needs { everyMs, onReport? }');
  if (!Number.isInteger(o.everyMs) || o.everyMs < 100) throw new ValidationError('everyMs must be an integer of at least 100 (ms)');
  if (o.onReport !== undefined && typeof o.onReport !== 'function') throw new ValidationError('onReport must be a function');
  if (o.leaseMs !== undefined && (!Number.isInteger(o.leaseMs) || o.leaseMs < 100))
    throw new ValidationError('leaseMs must be an integer of at least 100 (ms)');
  if (o.ttlHours !== undefined && (typeof o.ttlHours !== 'number' || !Number.isFinite(o.ttlHours) || o.ttlHours < 0))
    throw new ValidationError('ttlHours must be a non-negative number');
  if (o.gcGraceMs !== undefined && (!Number.isInteger(o.gcGraceMs) || o.gcGraceMs < 0))
    throw new ValidationError('gcGraceMs must be a non-negative integer (ms)');
  if (o.contexts !== undefined && (!Array.isArray(o.contexts) || o.contexts.length === 0)) throw new ValidationError('contexts must be a non-empty array');
  if (o.skip !== undefined && (!Array.isArray(o.skip) || o.skip.some((s) => !STEPS.includes(s))))
    throw new ValidationError(`skip takes step names: ${STEPS.join(', ')}`);
}

/** One scheduler per admin object. */
export function createMaintenance(rt: AdminRuntime, steps: () => MaintenanceSteps) {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopping = false;

  return {
    start(o: MaintenanceOptions): void {
      rt.assertOpen();
      check(o);
      if (timer || running) throw new ValidationError('maintenance is already running in this instance: stopMaintenance() first');
      const contexts = o.contexts;
      // every process must agree where the lease lives: the first context's metadata store (where that
      // context lives: a hashed one through the placement registry, resolved per pass), else the first backend's
      const first = contexts ? resolveContext(rt.topology, contexts[0]!) : undefined;
      const backend0 = rt.topology.backends[0]!;
      const kind = rt.metaFor(first ? first.backend : backend0);
      if (!kind.getLease || !kind.putLease) throw new ValidationError('maintenance needs a metadata store with leases (getLease, putLease); this one does not');
      const leaseStore = contexts ? async () => (await rt.resolvePlaced(contexts[0]!, 'read')).meta : async () => kind;
      const dbName = first ? first.ns.dbName : backend0.dbName;
      const holder = `${process.pid}-${randomBytes(6).toString('hex')}`;
      const leaseMs = o.leaseMs ?? Math.max(2 * o.everyMs, 60_000);
      const skip = new Set(o.skip ?? []);
      stopping = false;
      const tick = () => {
        if (running || stopping) return;
        running = pass(rt, { store: leaseStore, dbName, holder, leaseMs, contexts, o, skip, steps: steps(), stopped: () => stopping })
          .then((report) => o.onReport?.(rt.redactor.value(report)))
          .catch(() => {})
          .finally(() => {
            running = undefined;
          });
      };
      timer = setInterval(tick, o.everyMs);
      timer.unref?.();
      tick();
    },

    /** Clears the timer and waits for a pass in progress. Idempotent. */
    async stop(): Promise<void> {
      stopping = true;
      if (timer) clearInterval(timer);
      timer = undefined;
      while (running) await running;
    },
  };
}

interface PassInput {
  store: () => Promise<MetadataStore>;
  dbName: string;
  holder: string;
  leaseMs: number;
  /** Undefined: every namespace (`allNamespaces`), listed at each pass. */
  contexts: ContextInput[] | undefined;
  o: MaintenanceOptions;
  skip: Set<MaintenanceStep>;
  steps: MaintenanceSteps;
  stopped: () => boolean;
}

async function pass(rt: AdminRuntime, p: PassInput): Promise<MaintenanceReport> {
  const start = Date.now();
  const number = Math.floor(start / p.o.everyMs);
  const report: MaintenanceReport = { round: number, holder: p.holder, ran: false, startedAt: new Date(start).toISOString(), finishedAt: '', steps: [] };
  const finish = () => ({ ...report, finishedAt: new Date().toISOString() });
  const store = await p.store();
  const getLease = store.getLease!.bind(store);
  const putLease = store.putLease!.bind(store);

  // take the pass: read the newest generation, decide, write the next one (one writer wins it)
  const cur = await getLease(p.dbName, LEASE);
  const now = Date.now();
  if (cur) {
    const curPass = Number(cur.data?.round ?? -1);
    const live = cur.expiresAt > now;
    if (curPass >= number && (cur.data?.done === true || live)) return finish(); // this pass is taken or done
    if (cur.data?.done !== true && live) return finish(); // an earlier pass still runs
  }
  let gen = (cur?.gen ?? 0) + 1;
  const put = (l: Omit<LeaseDoc, 'name' | 'gen' | 'holder'>) => putLease(p.dbName, { name: LEASE, gen, holder: p.holder, ...l });
  if (!(await put({ expiresAt: now + p.leaseMs, data: { round: number, done: false } }))) return finish();
  report.ran = true;
  const renew = async (): Promise<boolean> => {
    gen++;
    return put({ expiresAt: Date.now() + p.leaseMs, data: { round: number, done: false } });
  };

  let targets: AdminTarget[];
  try {
    targets = p.contexts ?? (await rt.allNamespaces());
  } catch (e) {
    // not marked done: the next pass (here or elsewhere) lists again
    report.aborted = `listing the namespaces failed: ${rt.redactor.text(String((e as Error)?.message ?? e))}`;
    gen++;
    await put({ expiresAt: Date.now(), data: { round: number, done: false } }).catch(() => false); // released: the next tick may retry
    return finish();
  }
  outer: for (const ctx of targets) {
    for (const step of STEPS) {
      if (p.stopped()) {
        report.aborted = 'stopMaintenance() was called';
        break outer;
      }
      if (!(await renew())) {
        report.aborted = 'the lease was taken over by another process';
        break outer;
      }
      report.steps.push(await runStep(rt, p, ctx, step));
    }
  }
  if (!report.aborted) {
    gen++;
    await put({ expiresAt: Date.now(), data: { round: number, done: true } });
  }
  return finish();
}

async function runStep(rt: AdminRuntime, p: PassInput, ctx: AdminTarget, step: MaintenanceStep): Promise<MaintenanceStepReport> {
  const base = { context: targetLabel(ctx), step };
  if (p.skip.has(step)) return { ...base, status: 'skipped', reason: 'left out by the skip option' };
  let run: (() => Promise<unknown>) | undefined;
  let reason = '';
  switch (step) {
    case 'rollup':
    case 'prune': {
      const f = p.steps[step];
      if (!f) reason = `${step}Now is not available in this build`;
      else if (!rt.cfg.rollup?.enabled && step === 'rollup') reason = 'rollup.enabled is not set';
      else run = () => f(ctx);
      break;
    }
    case 'shrink':
      run = () => p.steps.shrink(ctx);
      break;
    case 'ttl':
      if (p.o.ttlHours === undefined) reason = 'no ttlHours given';
      else {
        const h = p.o.ttlHours;
        run = () => p.steps.ttl(ctx, h);
      }
      break;
    case 'gc':
      run = () => p.steps.gc(ctx, p.o.gcGraceMs);
      break;
    case 'erasures':
      if (!rt.cfg.hardDeleteEnabled) reason = 'hardDeleteEnabled is off';
      else run = () => p.steps.erasures(ctx);
      break;
  }
  if (!run) return { ...base, status: 'skipped', reason };
  try {
    return { ...base, status: 'done', result: await run() };
  } catch (e) {
    return { ...base, status: 'failed', reason: rt.redactor.text(String((e as Error)?.message ?? e)) };
  }
}
