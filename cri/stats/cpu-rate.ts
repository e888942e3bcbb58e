// CPU usage rate from two cumulative readings: the counter only grows, so its slope over the
// interval between the readings is the rate, in nanoseconds of CPU per second (nano cores).

export interface CpuReading {
  /** Cumulative CPU time, nanoseconds. */
  readonly usageNanos: number;
  /** When it was read, ms since the epoch. */
  readonly timestampMs: number;
}

/**
 * undefined without a previous reading, when no time passed, or when the counter went back
 * (the cgroup was recreated under the same name): no rate is better than a wrong one.
 */
export function cpuNanoCores(previous: CpuReading | undefined, current: CpuReading): number | undefined {
  if (previous === undefined) return undefined;
  const elapsedMs = current.timestampMs - previous.timestampMs;
  const usedNanos = current.usageNanos - previous.usageNanos;
  if (elapsedMs <= 0 || usedNanos < 0) return undefined;
  return Math.round((usedNanos * 1000) / elapsedMs);
}
