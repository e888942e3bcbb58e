// The container and pod usage series berth reports, under the names cadvisor gives them
// (the names dashboards and alerts already query), each with how its value is read from a
// stats sample. One list for both reports: Prometheus /metrics (agent/http) and the CRI
// metrics RPCs (ListMetricDescriptors, ListPodSandboxMetrics).
import type { CgroupStats, MemoryUsage } from "../../cgroups/stats.js";
import type { Pressure } from "../../cgroups/v2/psi.js";
import type { ContainerSample, SandboxSample, StatsSnapshot } from "./types.js";

export const CONTAINER_LABELS = ["container", "pod", "namespace", "id", "image"] as const;
export type ContainerLabel = (typeof CONTAINER_LABELS)[number];
export type Labels = Record<ContainerLabel, string>;

/** One cgroup's sample with the labels of its series: a container's, or its pod's (container=""). */
export interface LabelledSample {
  readonly labels: Labels;
  readonly stats: CgroupStats;
  readonly startTimeSeconds: number;
}

export interface SeriesSpec {
  readonly name: string;
  readonly help: string;
  readonly type: "counter" | "gauge";
  /** undefined: no series for this cgroup (the host does not know the value). */
  readonly value: (sample: LabelledSample) => number | undefined;
}

const seconds = (nanos: number): number => nanos / 1e9;
const stallSeconds = (line: Pressure["some"] | undefined): number | undefined =>
  line === undefined ? undefined : line.totalUsec / 1e6;

/**
 * memory.failcnt is a v1 counter the normalized stats carry only where the cgroups reader
 * provides it; absent, the series is left out rather than reported as zero.
 */
function failcnt(memory: MemoryUsage): number | undefined {
  const value = (memory as MemoryUsage & { readonly failcnt?: number }).failcnt;
  return typeof value === "number" ? value : undefined;
}

export const SERIES: readonly SeriesSpec[] = [
  {
    name: "container_cpu_usage_seconds_total",
    help: "Cumulative cpu time consumed in seconds.",
    type: "counter",
    value: (s) => seconds(s.stats.cpu.usageNanos),
  },
  {
    name: "container_cpu_user_seconds_total",
    help: "Cumulative user cpu time consumed in seconds.",
    type: "counter",
    value: (s) => seconds(s.stats.cpu.userNanos),
  },
  {
    name: "container_cpu_system_seconds_total",
    help: "Cumulative system cpu time consumed in seconds.",
    type: "counter",
    value: (s) => seconds(s.stats.cpu.systemNanos),
  },
  {
    name: "container_cpu_cfs_periods_total",
    help: "Number of elapsed enforcement period intervals.",
    type: "counter",
    value: (s) => s.stats.cpu.periods,
  },
  {
    name: "container_cpu_cfs_throttled_periods_total",
    help: "Number of throttled period intervals.",
    type: "counter",
    value: (s) => s.stats.cpu.throttledPeriods,
  },
  {
    name: "container_cpu_cfs_throttled_seconds_total",
    help: "Total time duration the container has been throttled.",
    type: "counter",
    value: (s) => seconds(s.stats.cpu.throttledNanos),
  },
  {
    name: "container_memory_usage_bytes",
    help: "Current memory usage in bytes, including all memory regardless of when it was accessed.",
    type: "gauge",
    value: (s) => s.stats.memory.usageBytes,
  },
  {
    name: "container_memory_working_set_bytes",
    help: "Current working set in bytes.",
    type: "gauge",
    value: (s) => s.stats.memory.workingSetBytes,
  },
  {
    name: "container_memory_rss",
    help: "Size of RSS in bytes.",
    type: "gauge",
    value: (s) => s.stats.memory.rssBytes,
  },
  {
    name: "container_memory_swap",
    help: "Container swap usage in bytes.",
    type: "gauge",
    value: (s) => s.stats.memory.swapBytes,
  },
  {
    name: "container_memory_max_usage_bytes",
    help: "Maximum memory usage recorded in bytes.",
    type: "gauge",
    value: (s) => s.stats.memory.peakBytes,
  },
  {
    name: "container_memory_failcnt",
    help: "Number of memory usage hits limits.",
    type: "counter",
    value: (s) => failcnt(s.stats.memory),
  },
  {
    name: "container_oom_events_total",
    help: "Count of out of memory events observed for the container.",
    type: "counter",
    value: (s) => s.stats.memory.oomEvents,
  },
  {
    name: "container_spec_memory_limit_bytes",
    help: "Memory limit for the container (0: unlimited).",
    type: "gauge",
    value: (s) => s.stats.memory.limitBytes ?? 0,
  },
  {
    // The pids controller counts tasks: threads, not only processes.
    name: "container_processes",
    help: "Number of tasks (processes and threads) running inside the container, from the pids controller.",
    type: "gauge",
    value: (s) => s.stats.pids.current,
  },
  {
    name: "container_threads",
    help: "Number of threads running inside the container.",
    type: "gauge",
    value: (s) => s.stats.pids.current,
  },
  {
    name: "container_threads_max",
    help: "Maximum number of threads allowed inside the container (0: unlimited).",
    type: "gauge",
    value: (s) => s.stats.pids.limit ?? 0,
  },
  {
    name: "container_start_time_seconds",
    help: "Start time of the container since unix epoch in seconds.",
    type: "gauge",
    value: (s) => s.startTimeSeconds,
  },
  ...(["cpu", "memory", "io"] as const).flatMap((resource): SeriesSpec[] => [
    {
      name: `container_pressure_${resource}_waiting_seconds_total`,
      help: `Total time duration tasks in the container have waited due to ${resource} congestion.`,
      type: "counter",
      value: (s) => stallSeconds(s.stats.psi?.[resource]?.some),
    },
    {
      name: `container_pressure_${resource}_stalled_seconds_total`,
      help: `Total time duration no tasks in the container could make progress due to ${resource} congestion.`,
      type: "counter",
      value: (s) => stallSeconds(s.stats.psi?.[resource]?.full),
    },
  ]),
];

/** Per-interface counters of a pod's network namespace: name, help, field of the interface sample. */
export const NETWORK_SERIES = [
  ["container_network_receive_bytes_total", "Cumulative count of bytes received.", "rxBytes"],
  [
    "container_network_receive_errors_total",
    "Cumulative count of errors encountered while receiving.",
    "rxErrors",
  ],
  ["container_network_transmit_bytes_total", "Cumulative count of bytes transmitted.", "txBytes"],
  [
    "container_network_transmit_errors_total",
    "Cumulative count of errors encountered while transmitting.",
    "txErrors",
  ],
] as const;

/** cadvisor names a cgroup by its path from the hierarchy root. */
function cgroupId(path: string): string {
  return path.startsWith("/") ? path : `/${path}`;
}

export function containerSeries(sample: ContainerSample): LabelledSample {
  const t = sample.target;
  return {
    labels: {
      container: t.name,
      pod: t.pod.name,
      namespace: t.pod.namespace,
      id: cgroupId(t.cgroupPath),
      image: t.image,
    },
    stats: sample.stats,
    startTimeSeconds: t.startedAtNs / 1e9,
  };
}

export function podSeries(sample: SandboxSample): LabelledSample {
  const t = sample.target;
  return {
    labels: { container: "", pod: t.name, namespace: t.namespace, id: cgroupId(t.cgroupPath), image: "" },
    stats: sample.stats,
    startTimeSeconds: t.createdAtNs / 1e9,
  };
}

export function labelledSamples(snapshot: StatsSnapshot): LabelledSample[] {
  return [
    ...[...snapshot.containers.values()].map(containerSeries),
    ...[...snapshot.sandboxes.values()].map(podSeries),
  ];
}
