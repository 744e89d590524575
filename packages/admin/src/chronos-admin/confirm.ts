import { ValidationError } from '@chronos-db/core';

/** Refuses an operation that changes stored data unless `{ confirm: true }` (or, where allowed, `{ dryRun: true }`). */
export function requireConfirm(opts: { confirm?: boolean; dryRun?: boolean } | undefined, what: string, allowDryRun = true): void {
  if (!opts || typeof opts !== 'object' || (opts.confirm !== true && !(allowDryRun && opts.dryRun === true))) {
    throw new ValidationError(`${what} changes stored data: pass { confirm: true }${allowDryRun ? ' (or { dryRun: true } to only report)' : ''}`);
  }
}
