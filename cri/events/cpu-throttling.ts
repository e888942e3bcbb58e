// Decides when a container is throttled enough to say so: when more than a set share of its
// CFS periods were throttled over the last window (cpu.stat nr_throttled / nr_periods
// deltas). It reports once per window while the throttling lasts, so a container pinned at
// its quota yields one event a window, not one per stats pass.
import type { StatsSnapshot } from "../stats/types.js";
import type { CpuThrottlingEvent } from "./types.js";

export interface CpuThrottlingOptions {
  /** Report above this share of throttled periods (default 0.25). */
  readonly share?: number;
  /** Over this window (default 60 s). */
  readonly windowSeconds?: number;
  /**
   * Fewer periods than this in a window says nothing (default 10): nr_periods only counts
   * periods in which the container wanted CPU, so a nearly idle one would swing 0 to 100%.
   */
  readonly minPeriods?: number;
}

export const DEFAULT_THROTTLING_SHARE = 0.25;
export const DEFAULT_THROTTLING_WINDOW_SECONDS = 60;
export const DEFAULT_THROTTLING_MIN_PERIODS = 10;

export interface CpuCounters {
  /** Milliseconds since the epoch when cpu.stat was read. */
  readonly timestampMs: number;
  readonly periods: number;
  readonly throttledPeriods: number;
  readonly throttledNanos: number;
}

export interface ThrottlingVerdict {
  readonly share: number;
  readonly spanMs: number;
  readonly periods: number;
  readonly throttledPeriods: number;
  readonly throttledNanos: number;
}

/** One container's recent cpu.stat counters and when it was last reported. */
export class ThrottlingWindow {
  private samples: CpuCounters[] = [];
  private lastReportMs: number | undefined;

  constructor(
    private readonly windowMs: number,
    private readonly share: number,
    private readonly minPeriods: number,
  ) {}

  /** Adds a sample; returns a verdict when the window just closed over too much throttling. */
  add(sample: CpuCounters): ThrottlingVerdict | undefined {
    const last = this.samples[this.samples.length - 1];
    if (last && sample.timestampMs <= last.timestampMs) return undefined;
    // Counters only grow; smaller ones mean a new cgroup under the same name: start over.
    if (last && (sample.periods < last.periods || sample.throttledPeriods < last.throttledPeriods)) {
      this.samples = [];
      this.lastReportMs = undefined;
    }
    this.samples.push(sample);
    const windowStart = sample.timestampMs - this.windowMs;
    // Keep the newest sample at or before the window's start (the base) and all after it.
    let baseIndex = -1;
    for (let i = 0; i < this.samples.length; i++) {
      if ((this.samples[i] as CpuCounters).timestampMs <= windowStart) baseIndex = i;
      else break;
    }
    if (baseIndex > 0) this.samples = this.samples.slice(baseIndex);
    if (baseIndex < 0) return undefined; // history shorter than the window
    const base = this.samples[0] as CpuCounters;
    // One report per window: the next one covers only time after the previous report.
    if (this.lastReportMs !== undefined && base.timestampMs < this.lastReportMs) return undefined;
    const periods = sample.periods - base.periods;
    const throttledPeriods = sample.throttledPeriods - base.throttledPeriods;
    if (periods < this.minPeriods || periods <= 0) return undefined;
    const share = throttledPeriods / periods;
    if (!(share > this.share)) return undefined;
    this.lastReportMs = sample.timestampMs;
    return {
      share,
      spanMs: sample.timestampMs - base.timestampMs,
      periods,
      throttledPeriods,
      throttledNanos: Math.max(0, sample.throttledNanos - base.throttledNanos),
    };
  }
}

/** Follows every running container through the stats collector's snapshots. */
export class CpuThrottlingDetector {
  readonly share: number;
  readonly windowMs: number;
  readonly minPeriods: number;
  private readonly windows = new Map<string, ThrottlingWindow>();

  constructor(options: CpuThrottlingOptions = {}) {
    this.share = options.share ?? DEFAULT_THROTTLING_SHARE;
    this.windowMs = (options.windowSeconds ?? DEFAULT_THROTTLING_WINDOW_SECONDS) * 1000;
    this.minPeriods = options.minPeriods ?? DEFAULT_THROTTLING_MIN_PERIODS;
  }

  /** Containers currently followed. */
  get size(): number {
    return this.windows.size;
  }

  observe(snapshot: Pick<StatsSnapshot, "containers">): CpuThrottlingEvent[] {
    const events: CpuThrottlingEvent[] = [];
    for (const id of this.windows.keys()) if (!snapshot.containers.has(id)) this.windows.delete(id);
    for (const [id, sample] of snapshot.containers) {
      let window = this.windows.get(id);
      if (!window) {
        window = new ThrottlingWindow(this.windowMs, this.share, this.minPeriods);
        this.windows.set(id, window);
      }
      const cpu = sample.stats.cpu;
      const verdict = window.add({
        timestampMs: sample.stats.timestamp,
        periods: cpu.periods,
        throttledPeriods: cpu.throttledPeriods,
        throttledNanos: cpu.throttledNanos,
      });
      if (verdict) events.push(throttlingEvent(id, sample.target.sandboxId, sample.stats.timestamp, verdict));
    }
    return events;
  }
}

export function throttlingEvent(
  containerId: string,
  sandboxId: string,
  time: number,
  verdict: ThrottlingVerdict,
): CpuThrottlingEvent {
  const windowSeconds = verdict.spanMs / 1000;
  const throttledSeconds = verdict.throttledNanos / 1e9;
  const percent = Math.round(verdict.share * 100);
  return {
    containerId,
    sandboxId,
    time,
    share: verdict.share,
    windowSeconds,
    periods: verdict.periods,
    throttledPeriods: verdict.throttledPeriods,
    throttledSeconds,
    message:
      `CPU throttled in ${percent}% of CFS periods over the last ${formatSeconds(windowSeconds)} ` +
      `(${verdict.throttledPeriods} of ${verdict.periods} periods, ${formatSeconds(throttledSeconds)} held back): ` +
      `the container needs more CPU than its limit`,
  };
}

function formatSeconds(seconds: number): string {
  return seconds >= 10 ? `${Math.round(seconds)} s` : `${seconds.toFixed(1)} s`;
}
