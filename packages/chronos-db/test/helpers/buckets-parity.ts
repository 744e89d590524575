/**
 * The one contract of `admin.ensureBucketsExist`, run on the embedded store
 * and on S3 alike: same refusal, same dryRun semantics, same result shape.
 */
import { ValidationError, type Chronos } from 'chronos-db';

type Ctx = Parameters<Chronos['with']>[0];

export async function expectBucketsContract(chronos: Chronos, ctx: Ctx, names: string[]): Promise<void> {
  // Refused without confirm or dryRun, before anything is checked.
  for (const opts of [{}, { createIfMissing: true }, { confirm: false }, undefined]) {
    await expect(chronos.admin.ensureBucketsExist(ctx, opts as never)).rejects.toBeInstanceOf(ValidationError);
  }
  // dryRun: reports every bucket missing, creates nothing.
  const dry = await chronos.admin.ensureBucketsExist(ctx, { dryRun: true });
  expect(dry).toEqual({
    bucketsChecked: names.length,
    bucketsCreated: 0,
    bucketStatuses: names.map((name) => ({ name, exists: false, accessible: false, created: false, error: `Bucket '${name}' does not exist` })),
  });
  // confirm + createIfMissing: false: reports, creates nothing.
  expect((await chronos.admin.ensureBucketsExist(ctx, { confirm: true, createIfMissing: false })).bucketsCreated).toBe(0);
  // confirm alone: createIfMissing defaults to true.
  const made = await chronos.admin.ensureBucketsExist(ctx, { confirm: true });
  expect(made).toEqual({
    bucketsChecked: names.length,
    bucketsCreated: names.length,
    bucketStatuses: names.map((name) => ({ name, exists: true, accessible: true, created: true })),
  });
  // Again, and dryRun: everything exists, nothing created.
  for (const opts of [{ confirm: true, createIfMissing: true }, { dryRun: true }]) {
    expect(await chronos.admin.ensureBucketsExist(ctx, opts)).toEqual({
      bucketsChecked: names.length,
      bucketsCreated: 0,
      bucketStatuses: names.map((name) => ({ name, exists: true, accessible: true })),
    });
  }
}
