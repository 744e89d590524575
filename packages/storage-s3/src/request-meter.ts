/**
 * Requests per space (bucket) in the last hour, against DigitalOcean's limit
 * of 10,000 requests per hour per space. A sliding window of 60 one-minute
 * buckets, shared by every client of the process that talks to the same
 * endpoint and bucket, plus a running total.
 */

export const SPACES_HOURLY_LIMIT = 10_000;
const MINUTE = 60_000;
const SLOTS = 60;

export class SlidingHourCounter {
  private readonly counts = new Array<number>(SLOTS).fill(0);
  private readonly minutes = new Array<number>(SLOTS).fill(-1);
  total = 0;

  constructor(private readonly now: () => number = Date.now) {}

  add(n = 1): void {
    const m = Math.floor(this.now() / MINUTE);
    const i = m % SLOTS;
    if (this.minutes[i] !== m) {
      this.minutes[i] = m;
      this.counts[i] = 0;
    }
    this.counts[i] = (this.counts[i] ?? 0) + n;
    this.total += n;
  }

  /** Requests in the current minute and the 59 before it. */
  lastHour(): number {
    const m = Math.floor(this.now() / MINUTE);
    let sum = 0;
    for (let i = 0; i < SLOTS; i++) {
      const at = this.minutes[i] ?? -1;
      if (at > m - SLOTS && at <= m) sum += this.counts[i] ?? 0;
    }
    return sum;
  }
}

const meters = new Map<string, SlidingHourCounter>();

function spaceId(endpoint: string, bucket: string): string {
  let host = endpoint;
  try {
    host = new URL(endpoint).host;
  } catch {
    /* keep as is */
  }
  return `${host.toLowerCase()}/${bucket}`;
}

/** The process-wide counter of one space (endpoint host + bucket). */
export function spaceMeter(endpoint: string, bucket: string): SlidingHourCounter {
  const id = spaceId(endpoint, bucket);
  let m = meters.get(id);
  if (!m) {
    m = new SlidingHourCounter();
    meters.set(id, m);
  }
  return m;
}

export interface SpaceRequestStats {
  bucket: string;
  requestsLastHour: number;
  requestsTotal: number;
}

/** Counts of one space as seen by this process. */
export function spaceRequestStats(endpoint: string, bucket: string): SpaceRequestStats {
  const m = spaceMeter(endpoint, bucket);
  return { bucket, requestsLastHour: m.lastHour(), requestsTotal: m.total };
}
