// Container and pod resources turned into the numbers the kernel takes, with the kubelet's
// formulas, so a pod gets the same cpu shares, CFS quota and memory limit as on a Kubernetes
// node. cgroup v2 files (cpu.weight, cpu.max, memory.max) are derived from these by cgroups/.
import { quantityFromNanos, quantityToBytes, quantityToMilli, type Quantity } from "./quantity.js";
import { containerOomScoreAdj, type CriticalityOptions, podQosClass, type QosClass } from "./qos.js";
import type { Container, PodSpec, ResourceList } from "./types.js";

export const MIN_CPU_SHARES = 2;
export const MAX_CPU_SHARES = 262_144;
const SHARES_PER_CPU = 1024;
const MILLI_PER_CPU = 1000;
/** The CFS period the kubelet uses, in microseconds (100 ms). */
export const DEFAULT_CPU_PERIOD_US = 100_000;
/** The kernel refuses a CFS quota under 1 ms. */
export const MIN_CPU_QUOTA_US = 1000;

/** cpu.shares for a cpu request: 1024 per core, at least 2 (also for no request), at most 262144. */
export function milliCpuToShares(milliCpu: number): number {
  if (milliCpu === 0) return MIN_CPU_SHARES;
  const shares = Math.trunc((milliCpu * SHARES_PER_CPU) / MILLI_PER_CPU);
  return Math.min(MAX_CPU_SHARES, Math.max(MIN_CPU_SHARES, shares));
}

/** CFS quota (µs per period) for a cpu limit; 0 (no limit) stays 0, anything else is at least 1 ms. */
export function milliCpuToQuota(milliCpu: number, periodUs: number = DEFAULT_CPU_PERIOD_US): number {
  if (milliCpu === 0) return 0;
  const quota = Math.trunc((milliCpu * periodUs) / MILLI_PER_CPU);
  return Math.max(MIN_CPU_QUOTA_US, quota);
}

/** The shape of CRI's LinuxContainerResources fields berth fills from a pod spec. */
export interface LinuxContainerResources {
  readonly cpuShares: number;
  /** 0 means no CFS quota. */
  readonly cpuQuota: number;
  /** 0 when CFS quota enforcement is off. */
  readonly cpuPeriod: number;
  /** 0 means no memory limit. */
  readonly memoryLimitInBytes: number;
  readonly oomScoreAdj: number;
}

export interface NodeCapacity {
  readonly memoryCapacityBytes: number;
}

export interface ContainerResourceOptions extends CriticalityOptions {
  /** Enforce cpu limits with CFS quota (the kubelet's cpuCFSQuota); default true. */
  readonly cpuCfsQuota?: boolean;
  readonly cpuPeriodUs?: number;
}

export function containerLinuxResources(
  pod: PodSpec,
  container: Container,
  node: NodeCapacity,
  options: ContainerResourceOptions = {},
): LinuxContainerResources {
  const { requests, limits } = container.resources;
  const cpuLimitMilli = limits.cpu === undefined ? 0 : quantityToMilli(limits.cpu);
  // Validation already copies a lone limit into the request; the fallback keeps the kubelet's
  // rule true for specs built elsewhere.
  const cpuRequest = requests.cpu ?? (cpuLimitMilli === 0 ? undefined : limits.cpu);
  const enforceQuota = options.cpuCfsQuota ?? true;
  const period = options.cpuPeriodUs ?? DEFAULT_CPU_PERIOD_US;
  return {
    cpuShares: milliCpuToShares(cpuRequest === undefined ? 0 : quantityToMilli(cpuRequest)),
    cpuQuota: enforceQuota ? milliCpuToQuota(cpuLimitMilli, period) : 0,
    cpuPeriod: enforceQuota ? period : 0,
    memoryLimitInBytes: limits.memory === undefined ? 0 : quantityToBytes(limits.memory),
    oomScoreAdj: containerOomScoreAdj(pod, container, node.memoryCapacityBytes, options),
  };
}

/**
 * The pod's effective requests and limits, as Kubernetes computes them: the sum over app
 * containers, raised to any single init container's value where that is larger (init
 * containers run one at a time, before the app containers).
 */
export function podResourceTotals(pod: Pick<PodSpec, "containers" | "initContainers">): {
  requests: ResourceList;
  limits: ResourceList;
} {
  return { requests: effective(pod, "requests"), limits: effective(pod, "limits") };
}

const RESOURCE_NAMES = ["cpu", "memory", "ephemeralStorage"] as const;

function effective(
  pod: Pick<PodSpec, "containers" | "initContainers">,
  kind: "requests" | "limits",
): ResourceList {
  const totals = new Map<(typeof RESOURCE_NAMES)[number], bigint>();
  for (const container of pod.containers) {
    for (const name of RESOURCE_NAMES) {
      const q = container.resources[kind][name];
      if (q !== undefined) totals.set(name, (totals.get(name) ?? 0n) + q.nanos);
    }
  }
  for (const container of pod.initContainers) {
    for (const name of RESOURCE_NAMES) {
      const q = container.resources[kind][name];
      const current = totals.get(name);
      if (q !== undefined && (current === undefined || q.nanos > current)) totals.set(name, q.nanos);
    }
  }
  const list: { -readonly [K in keyof ResourceList]: Quantity } = {};
  for (const [name, nanos] of totals) list[name] = quantityFromNanos(nanos);
  return list;
}

export const QOS_CGROUP_NAMES: Readonly<Record<QosClass, string>> = {
  Guaranteed: "pods/guaranteed",
  Burstable: "pods/burstable",
  BestEffort: "pods/besteffort",
};

/** The pod's cgroup, relative to berth's cgroup root: `pods/<qos>/pod-<uid>`. */
export function podCgroupName(pod: Pick<PodSpec, "metadata" | "containers" | "initContainers">): string {
  return `${QOS_CGROUP_NAMES[podQosClass(pod)]}/pod-${pod.metadata.uid}`;
}

/** Settings for the pod-level cgroup; an absent field is left unlimited. */
export interface PodCgroupResources {
  readonly qosClass: QosClass;
  readonly cgroupName: string;
  readonly cpuShares: number;
  /** -1 when cpu limits are not enforced (the kubelet's value for "no quota"). */
  readonly cpuQuota?: number;
  readonly cpuPeriod?: number;
  readonly memoryLimitInBytes?: number;
}

export interface PodCgroupOptions {
  /** The kubelet's cpuCFSQuota; default true. */
  readonly enforceCpuLimits?: boolean;
  readonly cpuPeriodUs?: number;
}

/**
 * The kubelet's pod cgroup settings. Guaranteed pods get shares, quota and a memory limit;
 * Burstable pods get shares, and a quota or a memory limit only when every container (init
 * included) declares that limit, since one unlimited container makes the pod unlimited;
 * BestEffort pods get the minimum shares and nothing else.
 */
export function podCgroupResources(pod: PodSpec, options: PodCgroupOptions = {}): PodCgroupResources {
  const qosClass = podQosClass(pod);
  const cgroupName = podCgroupName(pod);
  if (qosClass === "BestEffort") return { qosClass, cgroupName, cpuShares: MIN_CPU_SHARES };

  const { requests, limits } = podResourceTotals(pod);
  const period = options.cpuPeriodUs ?? DEFAULT_CPU_PERIOD_US;
  const cpuShares = milliCpuToShares(requests.cpu === undefined ? 0 : quantityToMilli(requests.cpu));
  const cpuLimitMilli = limits.cpu === undefined ? 0 : quantityToMilli(limits.cpu);
  const cpuQuota = (options.enforceCpuLimits ?? true) ? milliCpuToQuota(cpuLimitMilli, period) : -1;
  const memoryLimitInBytes = limits.memory === undefined ? 0 : quantityToBytes(limits.memory);

  const all = [...pod.containers, ...pod.initContainers];
  const declared = (name: "cpu" | "memory"): boolean =>
    all.every((c) => c.resources.limits[name] !== undefined && c.resources.limits[name].nanos !== 0n);
  const cpu = qosClass === "Guaranteed" || declared("cpu") ? { cpuQuota, cpuPeriod: period } : {};
  const memory = qosClass === "Guaranteed" || declared("memory") ? { memoryLimitInBytes } : {};
  return { qosClass, cgroupName, cpuShares, ...cpu, ...memory };
}
