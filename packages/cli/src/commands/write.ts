/** Writes from a file or stdin, and the restores (plan, confirm, progress). */
import { readFile } from 'node:fs/promises';
import { CliError, EXIT, usage } from '../errors.js';
import type { Session } from '../session.js';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The JSON object of a file, or of stdin for '-' / no file. Invalid JSON is exit 2 with its position, never its text. */
export async function readJsonInput(s: Session, file: string | undefined): Promise<Record<string, unknown>> {
  const from = !file || file === '-' ? 'stdin' : file;
  if (from === 'stdin' && s.term.stdinTTY) throw usage('give a JSON file, or pipe the JSON into stdin');
  let text: string;
  try {
    text = from === 'stdin' ? await readStdin() : await readFile(file!, 'utf8');
  } catch (e) {
    throw new CliError(
      `cannot read ${from} (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
      (e as NodeJS.ErrnoException).code === 'ENOENT' ? EXIT.notFound : EXIT.usage,
    );
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    const m = /position (\d+)/.exec((e as Error).message);
    throw usage(`invalid JSON on ${from}${m ? ` at position ${m[1]}` : text.trim() === '' ? ' (empty)' : ''}`);
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw usage(`${from} must hold one JSON object`);
  return v as Record<string, unknown>;
}

type WriteOpts = { requestId?: string; actor?: string; reason?: string; expectedOv?: number; id?: string };

async function report(s: Session, r: unknown) {
  await s.out.json(r);
  if (r && typeof r === 'object' && (r as { queued?: boolean }).queued)
    s.out.note('queued: MongoDB was unreachable; the fallback queue will apply it (chronos queue stats)');
}

export async function create(s: Session, file: string | undefined, o: WriteOpts) {
  const data = await readJsonInput(s, file);
  const col = (await s.open('write')).with(await s.ctx());
  await report(s, await col.create(data, o.actor, o.reason, { ...(o.requestId ? { requestId: o.requestId } : {}), ...(o.id ? { id: o.id } : {}) }));
}

export async function update(s: Session, id: string, file: string | undefined, o: WriteOpts) {
  const data = await readJsonInput(s, file);
  const col = (await s.open('write')).with(await s.ctx());
  await report(s, await col.update(id, data, o.expectedOv, o.actor, o.reason, o.requestId ? { requestId: o.requestId } : {}));
}

export async function enrich(s: Session, id: string, file: string | undefined, o: WriteOpts) {
  const patch = await readJsonInput(s, file);
  const col = (await s.open('write')).with(await s.ctx());
  await report(
    s,
    await col.enrich(id, patch, {
      ...(o.requestId ? { requestId: o.requestId } : {}),
      ...(o.expectedOv !== undefined ? { expectedOv: o.expectedOv } : {}),
      ...(o.actor ? { actor: o.actor } : {}),
      ...(o.reason ? { reason: o.reason } : {}),
    }),
  );
}

export async function del(s: Session, id: string, o: WriteOpts) {
  const col = (await s.open('write')).with(await s.ctx());
  await report(s, await col.delete(id, o.expectedOv, o.actor, o.reason, o.requestId ? { requestId: o.requestId } : {}));
}
export { del as delete };

export async function restore(s: Session, id: string, o: WriteOpts & { ov?: number; at?: string; dryRun?: boolean }) {
  if ((o.ov === undefined) === (o.at === undefined)) throw usage('give --ov N or --at <time>');
  const target = o.ov !== undefined ? { ov: o.ov } : { at: o.at as `${number}-${number}-${number}` };
  // the plan is read first: the record and the version to go back to must exist
  const col = (await s.open('read')).with(await s.ctx());
  const [head, tv] = await Promise.all([
    col.getItem(id, { includeMeta: true, includeDeleted: true }),
    col.getItem(id, { ...target, includeMeta: true, includeDeleted: true }),
  ]);
  if (!head) throw new CliError(`record '${id}' not found`, EXIT.notFound);
  if (!tv) throw new CliError(`record '${id}' has no version at ${o.ov !== undefined ? `ov ${o.ov}` : o.at}`, EXIT.notFound);
  const plan = { id, from: { ov: head._meta?.ov }, to: { ov: tv._meta?.ov, at: tv._meta?.at }, dryRun: !!o.dryRun };
  if (o.dryRun) return void (await s.out.json(plan));
  await s.confirm(`Restore '${id}' from v${head._meta?.ov} to the content of v${tv._meta?.ov} (a new version)?`);
  await s.out.json(
    await col.restoreObject(id, target, {
      ...(o.requestId ? { requestId: o.requestId } : {}),
      ...(o.actor ? { actor: o.actor } : {}),
      ...(o.reason ? { reason: o.reason } : {}),
      ...(head._meta ? { expectedHeadOv: head._meta.ov } : {}),
    }),
  );
}

export async function restoreCollection(s: Session, o: { at?: string; cv?: number; dryRun?: boolean; actor?: string; reason?: string; parallel: number }) {
  if ((o.cv === undefined) === (o.at === undefined)) throw usage('give --at <time> or --cv N');
  const target = o.cv !== undefined ? { cv: o.cv } : { at: o.at as `${number}-${number}-${number}` };
  const ctx = await s.ctx();
  const col = (await s.open('read')).with(ctx);
  const extra = { parallel: o.parallel, ...(o.actor ? { actor: o.actor } : {}), ...(o.reason ? { reason: o.reason } : {}) };
  // the plan: a dry run counts the records that would change (nothing is written)
  const plan = await col.restoreCollection(target, { ...extra, dryRun: true });
  const shown = { target: o.cv !== undefined ? { cv: o.cv } : { at: o.at }, scanned: plan.scanned, toRestore: plan.planned };
  if (o.dryRun) return void (await s.out.json({ ...shown, dryRun: true }));
  if (plan.planned === 0) {
    s.out.note('nothing to restore: every record is already as it was then');
    return void (await s.out.json({ ...shown, restored: 0 }));
  }
  const where = 'dbName' in ctx ? ctx.dbName : 'key' in ctx ? ctx.key : '';
  await s.confirm(`Restore ${plan.planned} of ${plan.scanned} record(s) of ${where}/${ctx.collection} to ${o.cv !== undefined ? `cv ${o.cv}` : o.at}?`);
  const bar = await s.progress(plan.scanned, 'records');
  try {
    const r = await col.restoreCollection(target, { ...extra, onProgress: (p) => bar.update(p.scanned) });
    bar.update(plan.scanned);
    bar.stop();
    await s.out.json({ ...shown, restored: r.restored, scanned: r.scanned });
  } catch (e) {
    bar.stop();
    s.out.note('interrupted: rerun the same command to resume (records already restored are skipped)');
    throw e;
  }
}
