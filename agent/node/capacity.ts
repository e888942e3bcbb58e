// Capacity and allocatable with the kubelet's formula:
//   allocatable = capacity - kube-reserved - system-reserved - hard eviction threshold
// where the hard eviction threshold counts for memory (memory.available) and for
// ephemeral-storage (nodefs.available), so that pods are never admitted into the margin the
// eviction manager defends. A negative result is 0.
import { thresholdQuantity, type Threshold } from "../eviction/thresholds.js";
import { formatBytes, formatMilliCpu, parseBytesSetting, parseMilliCpuSetting } from "./quantities.js";
import type { NodeFacts } from "./host-facts.js";

/** Kubernetes quantities by resource name; "" reserves nothing. */
export interface ResourceSettings {
  cpu: string;
  memory: string;
  "ephemeral-storage": string;
}

/** The `reservations` section of the config. */
export interface ReservationsConfig {
  /** Set aside for berth itself (the kubelet's kubeReserved). */
  kubeReserved: ResourceSettings;
  /** Set aside for the operating system's daemons (systemReserved). */
  systemReserved: ResourceSettings;
}

/** The `nodeStatus` section of the config. */
export interface NodeStatusConfig {
  /** Most pods the node runs (the kubelet's maxPods): the "pods" capacity. */
  maxPods: number;
}

export function defaultNodeStatusConfig(): NodeStatusConfig {
  return { maxPods: 110 };
}

export function defaultReservationsConfig(): ReservationsConfig {
  const none = (): ResourceSettings => ({ cpu: "", memory: "", "ephemeral-storage": "" });
  return { kubeReserved: none(), systemReserved: none() };
}

export interface NodeResources {
  readonly cpuMilli: number;
  readonly memoryBytes: number;
  readonly ephemeralStorageBytes: number;
  readonly pods: number;
}

export type Reservation = Omit<NodeResources, "pods">;

/** kube-reserved plus system-reserved; errors name the field. */
export function parseReservations(config: ReservationsConfig, section = "reservations"): Reservation {
  const parse = (settings: ResourceSettings, name: string): Reservation => ({
    cpuMilli: parseMilliCpuSetting(settings.cpu, `${section}: ${name}: cpu`),
    memoryBytes: parseBytesSetting(settings.memory, `${section}: ${name}: memory`),
    ephemeralStorageBytes: parseBytesSetting(
      settings["ephemeral-storage"],
      `${section}: ${name}: ephemeral-storage`,
    ),
  });
  const kube = parse(config.kubeReserved, "kubeReserved");
  const system = parse(config.systemReserved, "systemReserved");
  return {
    cpuMilli: kube.cpuMilli + system.cpuMilli,
    memoryBytes: kube.memoryBytes + system.memoryBytes,
    ephemeralStorageBytes: kube.ephemeralStorageBytes + system.ephemeralStorageBytes,
  };
}

export function nodeCapacity(
  facts: Pick<NodeFacts, "cpuCount" | "memoryBytes" | "stateFilesystemBytes">,
  maxPods: number,
): NodeResources {
  return {
    cpuMilli: facts.cpuCount * 1000,
    memoryBytes: facts.memoryBytes,
    ephemeralStorageBytes: facts.stateFilesystemBytes,
    pods: maxPods,
  };
}

/** What the hard thresholds of memory.available and nodefs.available hold back, in bytes. */
export function hardEvictionReservation(
  capacity: NodeResources,
  hardThresholds: readonly Threshold[],
): Reservation {
  let memoryBytes = 0;
  let ephemeralStorageBytes = 0;
  for (const t of hardThresholds) {
    if (t.gracePeriodMs !== 0 || t.operator !== "LessThan") continue;
    if (t.signal === "memory.available") memoryBytes = thresholdQuantity(t.value, capacity.memoryBytes);
    if (t.signal === "nodefs.available")
      ephemeralStorageBytes = thresholdQuantity(t.value, capacity.ephemeralStorageBytes);
  }
  return { cpuMilli: 0, memoryBytes, ephemeralStorageBytes };
}

export function nodeAllocatable(
  capacity: NodeResources,
  reserved: Reservation,
  hardThresholds: readonly Threshold[],
): NodeResources {
  const eviction = hardEvictionReservation(capacity, hardThresholds);
  return {
    cpuMilli: Math.max(0, capacity.cpuMilli - reserved.cpuMilli),
    memoryBytes: Math.max(0, capacity.memoryBytes - reserved.memoryBytes - eviction.memoryBytes),
    ephemeralStorageBytes: Math.max(
      0,
      capacity.ephemeralStorageBytes - reserved.ephemeralStorageBytes - eviction.ephemeralStorageBytes,
    ),
    pods: capacity.pods,
  };
}

/** As Kubernetes lists them: {"cpu": "2", "memory": "24684084Ki", "pods": "110", "ephemeral-storage": ...}. */
export function resourceList(resources: NodeResources): Record<string, string> {
  return {
    cpu: formatMilliCpu(resources.cpuMilli),
    memory: formatBytes(resources.memoryBytes),
    pods: String(resources.pods),
    "ephemeral-storage": formatBytes(resources.ephemeralStorageBytes),
  };
}
