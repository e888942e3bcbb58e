// The CRI metrics RPCs (ListMetricDescriptors, ListPodSandboxMetrics): the same cadvisor
// series as /metrics, from the same collector cache, expressed as CRI metrics. A pod's
// metrics are those of its cgroup and network namespace; each container's, of its own
// cgroup. CRI values are unsigned integers: second counters are whole seconds (truncated),
// as other CRI runtimes report them.
import {
  MetricType,
  type ContainerMetrics,
  type Metric,
  type MetricDescriptor,
  type PodSandboxMetrics,
} from "../api/generated/api.js";
import type { RuntimeServiceApi } from "../service-types.js";
import type { StatsCollector } from "./collector.js";
import {
  CONTAINER_LABELS,
  NETWORK_SERIES,
  SERIES,
  containerSeries,
  podSeries,
  type LabelledSample,
} from "./metric-definitions.js";
import type { ContainerSample, SandboxSample, StatsSnapshot } from "./types.js";

const NETWORK_LABELS = [...CONTAINER_LABELS, "interface"] as const;

/** Every metric ListPodSandboxMetrics may return; fixed for the life of the process. */
export function metricDescriptors(): MetricDescriptor[] {
  return [
    ...SERIES.map((s) => ({ name: s.name, help: s.help, labelKeys: [...CONTAINER_LABELS] })),
    ...NETWORK_SERIES.map(([name, help]) => ({ name, help, labelKeys: [...NETWORK_LABELS] })),
  ];
}

/** A value for a CRI UInt64Value: finite, non-negative, whole. */
function uint64(value: number): bigint {
  return Number.isFinite(value) && value > 0 ? BigInt(Math.floor(value)) : 0n;
}

function msToNs(ms: number): bigint {
  return BigInt(Math.round(ms * 1e6));
}

function labelValues(sample: LabelledSample): string[] {
  return CONTAINER_LABELS.map((key) => sample.labels[key]);
}

function cgroupMetrics(sample: LabelledSample): Metric[] {
  const timestamp = msToNs(sample.stats.timestamp);
  const labels = labelValues(sample);
  const metrics: Metric[] = [];
  for (const spec of SERIES) {
    const value = spec.value(sample);
    if (value === undefined) continue;
    metrics.push({
      name: spec.name,
      timestamp,
      metricType: spec.type === "counter" ? MetricType.COUNTER : MetricType.GAUGE,
      labelValues: labels,
      value: { value: uint64(value) },
    });
  }
  return metrics;
}

function networkMetrics(sandbox: SandboxSample, labels: string[]): Metric[] {
  const network = sandbox.network;
  if (!network) return [];
  const timestamp = msToNs(network.timestampMs);
  return network.interfaces.flatMap((iface) =>
    NETWORK_SERIES.map(([name, , field]) => ({
      name,
      timestamp,
      metricType: MetricType.COUNTER,
      labelValues: [...labels, iface.name],
      value: { value: uint64(iface[field]) },
    })),
  );
}

/** One entry per pod in the snapshot, with the containers of that pod it sampled. */
export function podSandboxMetrics(snapshot: StatsSnapshot): PodSandboxMetrics[] {
  const containersBySandbox = new Map<string, ContainerSample[]>();
  for (const c of snapshot.containers.values()) {
    const list = containersBySandbox.get(c.target.sandboxId);
    if (list) list.push(c);
    else containersBySandbox.set(c.target.sandboxId, [c]);
  }
  return [...snapshot.sandboxes.values()].map((sandbox) => {
    const pod = podSeries(sandbox);
    const containerMetrics: ContainerMetrics[] = (containersBySandbox.get(sandbox.target.id) ?? []).map(
      (c) => ({ containerId: c.target.id, metrics: cgroupMetrics(containerSeries(c)) }),
    );
    return {
      podSandboxId: sandbox.target.id,
      metrics: [...cgroupMetrics(pod), ...networkMetrics(sandbox, labelValues(pod))],
      containerMetrics,
    };
  });
}

export type MetricsRpcs = Pick<
  RuntimeServiceApi,
  "listMetricDescriptors" | "listPodSandboxMetrics" | "streamPodSandboxMetrics"
>;

/** Pods per StreamPodSandboxMetrics message: keeps each well under gRPC's 4 MiB default. */
export const PODS_PER_STREAM_MESSAGE = 50;

/** Answers the CRI metrics RPCs from the collector's latest snapshot: no file is read. */
export class CriMetricsService implements MetricsRpcs {
  private readonly descriptors = metricDescriptors();

  constructor(private readonly cache: Pick<StatsCollector, "all">) {}

  listMetricDescriptors: MetricsRpcs["listMetricDescriptors"] = async () => ({
    descriptors: this.descriptors,
  });

  listPodSandboxMetrics: MetricsRpcs["listPodSandboxMetrics"] = async () => ({
    podMetrics: podSandboxMetrics(this.cache.all()),
  });

  /** The same metrics as ListPodSandboxMetrics, one snapshot, sent in chunks. */
  streamPodSandboxMetrics: MetricsRpcs["streamPodSandboxMetrics"] = (_req, signal) => {
    const all = podSandboxMetrics(this.cache.all());
    return (async function* () {
      for (let i = 0; i < all.length && !signal?.aborted; i += PODS_PER_STREAM_MESSAGE) {
        yield { podSandboxMetrics: all.slice(i, i + PODS_PER_STREAM_MESSAGE) };
      }
    })();
  };
}
