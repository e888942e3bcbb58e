// What `berth explain` analyses and what it concludes. The analysis is a pure function of
// these inputs (gathered by the command from the Node API, the CRI stats and the log files),
// so every diagnosis can be tested from fixtures.
import type { PodEvent } from "../../api/generated/berth.js";
import type { PodJson } from "../../node-api/pod-json.js";

/** One running container's latest stats sample, from CRI ListContainerStats. */
export interface ContainerUsage {
  name: string;
  containerId: string;
  /** Milliseconds since the epoch of the memory sample. */
  sampledAt?: number;
  workingSetBytes?: number;
  /** Working set plus available bytes: the limit the runtime applies. */
  memoryLimitBytes?: number;
  /** Average CPU rate over the collector's window, in nanocores (1e9 = one core). */
  cpuNanoCores?: number;
  /** CFS throttling over a window, when the stats carry it. */
  throttling?: { periods: number; throttledPeriods: number; windowSeconds?: number };
}

/** The last lines of a container's previous (terminated) instance's log. */
export interface LogTail {
  /** The log file read. */
  path: string;
  lines: string[];
}

export interface ExplainInput {
  pod: PodJson;
  /** The pod's events, in any order; duplicates are tolerated. */
  events: readonly PodEvent[];
  usage: readonly ContainerUsage[];
  /** By container name. */
  logTails: ReadonlyMap<string, LogTail>;
  /** Milliseconds since the epoch. */
  now: number;
  /** Times in UTC instead of the local time zone (tests). */
  utc?: boolean;
}

export type FindingKind =
  | "evicted"
  | "pod-failed"
  | "oom-killed"
  | "process-oom-killed"
  | "liveness-failed"
  | "startup-failed"
  | "crash-loop"
  | "restarted"
  | "container-failed"
  | "init-failed"
  | "not-ready"
  | "image-pull"
  | "cannot-start"
  | "pending"
  | "hook-failed"
  | "cpu-throttled"
  | "cpu-near-limit"
  | "memory-near-limit";

/** critical: the pod is not doing its job now. warning: it did not, or soon may not. */
export type Severity = "critical" | "warning";

export interface Evidence {
  /** RFC 3339, when the evidence has a time. */
  time?: string;
  text: string;
}

export interface Finding {
  kind: FindingKind;
  severity: Severity;
  /** The container the finding is about, when there is one. */
  container?: string;
  /** One sentence, the first thing to read. */
  headline: string;
  /** RFC 3339 of the earliest evidence seen (events keep only their latest occurrence). */
  firstTime?: string;
  /** RFC 3339 of the latest evidence; absent for a state that holds now. */
  lastTime?: string;
  /** Occurrences (kills, restarts, failures); 1 for a state. */
  count: number;
  evidence: Evidence[];
  /** The previous instance's last log lines, for crashes. */
  logTail?: LogTail;
}

export interface Explanation {
  pod: { namespace: string; name: string; uid: string };
  phase: string;
  healthy: boolean;
  /** One line: "no problems found: ..." or "N problems found". */
  summary: string;
  /** Newest first. */
  findings: Finding[];
}
