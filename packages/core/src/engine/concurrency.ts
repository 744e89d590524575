/** Set once any item of a `mapLimit` run has failed: work not started yet should not start. */
export interface StopSignal {
  readonly stopped: boolean;
}

/**
 * Runs `fn` over `items` with at most `limit` in flight; results keep the input order.
 * On the first failure no further item is started, `signal.stopped` turns true for the
 * items in flight (so they can skip their next side effect), and once those have settled
 * the first error is thrown: nothing of the run is still working when the caller sees it.
 */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number, signal: StopSignal) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  const signal = { stopped: false };
  let failure: { error: unknown } | undefined;
  let next = 0;
  const worker = async () => {
    while (!signal.stopped && next < items.length) {
      const i = next++;
      try {
        out[i] = await fn(items[i]!, i, signal);
      } catch (error) {
        failure ??= { error };
        signal.stopped = true;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.error;
  return out;
}
