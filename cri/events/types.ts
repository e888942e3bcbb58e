// berth's own container events, beyond the four lifecycle events of CRI: memory kills and
// CPU throttling, for the kubelet layer, metrics and logs.

/**
 * container-killed: the kernel's OOM killer ended the container's main process, so the
 * container exited (reason OOMKilled). process-killed: it ended another process in the
 * container while the main process kept running; the kubelet never sees these.
 */
export type OomKind = "container-killed" | "process-killed";

export interface OomEvent {
  readonly containerId: string;
  readonly sandboxId: string;
  readonly kind: OomKind;
  /** Milliseconds since the epoch when the kill was seen. */
  readonly time: number;
  /** Processes the kernel killed (memory.events oom_kill increase); at least 1. */
  readonly kills: number;
  /** memory.max (v2) or memory.limit_in_bytes (v1); absent when unlimited or unread. */
  readonly memoryLimitBytes?: number;
  /** Usage when the kill was seen (the victim may not have given back its memory yet). */
  readonly memoryUsageBytes?: number;
  /** Highest usage the kernel recorded for the cgroup (memory.peak), where it keeps one. */
  readonly memoryPeakBytes?: number;
  /** One line for people: what was killed, and the numbers. */
  readonly message: string;
}

export interface OomCounts {
  /** Times the main process was OOM-killed (0 or 1 per container: it does not restart in place). */
  readonly containerKills: number;
  /** Other processes OOM-killed while the container kept running. */
  readonly processKills: number;
}

export interface CpuThrottlingEvent {
  readonly containerId: string;
  readonly sandboxId: string;
  /** Milliseconds since the epoch: the time of the sample that closed the window. */
  readonly time: number;
  /** Throttled periods / periods over the window, 0..1. */
  readonly share: number;
  /** The span the share covers, seconds (at least the configured window). */
  readonly windowSeconds: number;
  readonly periods: number;
  readonly throttledPeriods: number;
  /** Time the container was held back by its quota over the window, seconds. */
  readonly throttledSeconds: number;
  readonly message: string;
}

export type OomListener = (event: OomEvent) => void;
export type CpuThrottlingListener = (event: CpuThrottlingEvent) => void;
