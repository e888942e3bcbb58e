// Time is injected so that logic depending on it (backoff, probes, GC) is testable.
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Nanoseconds since the epoch, as CRI timestamps use. */
  nowNanos(): bigint;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  nowNanos: () => BigInt(Date.now()) * 1_000_000n,
};
