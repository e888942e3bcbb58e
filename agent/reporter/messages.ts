// The reporter's message shapes: the node's status and the stats cache as berth.v1 report
// messages.
import type { StatsSnapshot } from "../../cri/stats/types.js";
import type {
  ContainerMetrics,
  EvictionSignal as EvictionSignalMessage,
  MetricsSample,
  NodeStatus,
} from "../api/generated/report.js";
import type { Observations } from "../eviction/signals.js";
import type { NodeStatusView } from "../node/node-status.js";

function u64(value: number): bigint {
  return BigInt(Math.max(0, Math.round(value)));
}

function i64(value: number): bigint {
  return BigInt(Math.round(value));
}

export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}

export function nodeStatusMessage(status: NodeStatusView, observations: Observations): NodeStatus {
  const info = status.info;
  const signals: EvictionSignalMessage[] = [...observations].map(([signal, o]) => ({
    signal,
    // PSI is a percentage with two decimals: sent in hundredths to stay an integer.
    available: signal === "memory.psiFullAvg10" ? i64(o.available * 100) : i64(o.available),
    capacity: signal === "memory.psiFullAvg10" ? i64(o.capacity * 100) : i64(o.capacity),
    observedAt: isoTime(o.timeMs),
  }));
  return {
    info: {
      hostname: info.hostname,
      operatingSystem: info.operatingSystem,
      osImage: info.osImage,
      kernelVersion: info.kernelVersion,
      architecture: info.architecture,
      cpuModel: info.cpuModel,
      cpuCount: info.cpuCount,
      memoryBytes: i64(info.memoryBytes),
      stateFilesystemBytes: i64(info.stateFilesystemBytes),
      bootTime: isoTime(info.bootTimeMs),
      berthVersion: info.berthVersion,
      containerRuntimeVersion: info.containerRuntimeVersion,
      cgroupMode: info.cgroupMode,
    },
    capacity: { ...status.capacity },
    allocatable: { ...status.allocatable },
    conditions: status.conditions.map((c) => ({
      type: c.type,
      status: c.status,
      reason: c.reason,
      message: c.message,
      lastTransitionTime: c.lastTransitionTime,
    })),
    evictionSignals: signals,
  };
}

/** One usage sample of the node and every running container; undefined before the first stats pass. */
export function metricsSample(snapshot: StatsSnapshot): MetricsSample | undefined {
  const containers: ContainerMetrics[] = [...snapshot.containers.values()].map((s) => ({
    podNamespace: s.target.pod.namespace,
    podName: s.target.pod.name,
    podUid: s.target.pod.uid,
    containerName: s.target.name,
    containerId: s.target.id,
    ...(s.cpuNanoCores !== undefined && { cpuUsageNanoCores: u64(s.cpuNanoCores) }),
    cpuUsageCoreNanoseconds: u64(s.stats.cpu.usageNanos),
    memoryWorkingSetBytes: u64(s.stats.memory.workingSetBytes),
    memoryUsageBytes: u64(s.stats.memory.usageBytes),
    memoryRssBytes: u64(s.stats.memory.rssBytes),
    ...(s.stats.memory.limitBytes !== undefined && { memoryLimitBytes: u64(s.stats.memory.limitBytes) }),
    rootfsUsedBytes: u64(s.writableLayer?.usedBytes ?? 0),
    logsUsedBytes: u64(s.logs?.usedBytes ?? 0),
  }));
  const node = snapshot.node;
  const times = [node?.timestampMs ?? 0, ...[...snapshot.containers.values()].map((s) => s.stats.timestamp)];
  const timestampMs = Math.max(...times);
  if (timestampMs === 0) return undefined;
  return {
    timestamp: isoTime(timestampMs),
    ...(node && {
      node: {
        cpuUsageNanoCores: u64(node.cpu.nanoCores ?? 0),
        memoryWorkingSetBytes: u64(node.memory.workingSetBytes),
        memoryAvailableBytes: u64(node.memory.availableBytes),
      },
    }),
    containers,
  };
}
