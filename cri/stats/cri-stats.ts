// Cached samples in the shapes of the CRI stats messages. Pure: the RPCs look the samples
// up and these functions only translate (ms to ns timestamps, numbers to UInt64Value).
import type { CgroupStats } from "../../cgroups/stats.js";
import type { Pressure } from "../../cgroups/v2/psi.js";
import type {
  ContainerStats,
  CpuUsage,
  FilesystemUsage,
  MemoryUsage,
  NetworkUsage,
  PodSandboxStats,
  PsiStats,
  UInt64Value,
} from "../api/generated/api.js";
import type {
  ContainerSample,
  ContainerTarget,
  FsUsageSample,
  NetworkSample,
  SandboxSample,
  SandboxTarget,
} from "./types.js";

/** The interface the kubelet reports as a pod's network when the runtime names none. */
export const DEFAULT_POD_INTERFACE = "eth0";

/** Negative or non-finite readings (never expected from the kernel) become 0 rather than a thrown RangeError. */
export function u64(value: number): UInt64Value {
  return { value: Number.isFinite(value) ? BigInt(Math.max(0, Math.round(value))) : 0n };
}

export function msToNs(ms: number): bigint {
  return BigInt(Math.round(ms)) * 1_000_000n;
}

function psiOf(pressure: Pressure | undefined): PsiStats | undefined {
  if (!pressure) return undefined;
  const line = (l: Pressure["some"]) => ({
    Total: BigInt(Math.round(l.totalUsec)) * 1000n,
    Avg10: l.avg10,
    Avg60: l.avg60,
    Avg300: l.avg300,
  });
  return { Some: line(pressure.some), ...(pressure.full && { Full: line(pressure.full) }) };
}

export function cpuUsage(stats: CgroupStats, nanoCores: number | undefined): CpuUsage {
  const psi = psiOf(stats.psi?.cpu);
  return {
    timestamp: msToNs(stats.timestamp),
    usageCoreNanoSeconds: u64(stats.cpu.usageNanos),
    ...(nanoCores !== undefined && { usageNanoCores: u64(nanoCores) }),
    ...(psi && { psi }),
  };
}

/** Bytes left before the limit, as the kubelet computes it; undefined without a limit. */
export function availableBytes(memory: CgroupStats["memory"]): number | undefined {
  if (memory.limitBytes === undefined) return undefined;
  return Math.max(0, memory.limitBytes - memory.workingSetBytes);
}

export function memoryUsage(stats: CgroupStats): MemoryUsage {
  const m = stats.memory;
  const available = availableBytes(m);
  const psi = psiOf(stats.psi?.memory);
  return {
    timestamp: msToNs(stats.timestamp),
    workingSetBytes: u64(m.workingSetBytes),
    ...(available !== undefined && { availableBytes: u64(available) }),
    usageBytes: u64(m.usageBytes),
    rssBytes: u64(m.rssBytes),
    pageFaults: u64(m.pageFaults),
    majorPageFaults: u64(m.majorPageFaults),
    ...(psi && { psi }),
  };
}

export function filesystemUsage(fs: FsUsageSample, mountpoint: string): FilesystemUsage {
  return {
    timestamp: msToNs(fs.timestampMs),
    fsId: { mountpoint },
    usedBytes: u64(fs.usedBytes),
    inodesUsed: u64(fs.inodesUsed),
  };
}

function ioPsi(stats: CgroupStats): ContainerStats["io"] {
  const io = psiOf(stats.psi?.io);
  return io && { timestamp: msToNs(stats.timestamp), psi: io };
}

/** A container's stats; without a sample (not running) only its attributes. */
export function toContainerStats(
  target: ContainerTarget,
  sample: ContainerSample | undefined,
  writableLayerMountpoint: string,
): ContainerStats {
  const attributes = {
    id: target.id,
    metadata: { name: target.name, attempt: target.attempt },
    labels: { ...target.labels },
    annotations: { ...target.annotations },
  };
  if (!sample) return { attributes };
  const { stats } = sample;
  const io = ioPsi(stats);
  return {
    attributes,
    cpu: cpuUsage(stats, sample.cpuNanoCores),
    memory: memoryUsage(stats),
    ...(sample.writableLayer && {
      writableLayer: filesystemUsage(sample.writableLayer, writableLayerMountpoint),
    }),
    ...(stats.memory.swapBytes !== undefined && {
      swap: { timestamp: msToNs(stats.timestamp), swapUsageBytes: u64(stats.memory.swapBytes) },
    }),
    ...(io && { io }),
  };
}

export function networkUsage(network: NetworkSample): NetworkUsage {
  const interfaces = network.interfaces.map((i) => ({
    name: i.name,
    rxBytes: u64(i.rxBytes),
    rxErrors: u64(i.rxErrors),
    txBytes: u64(i.txBytes),
    txErrors: u64(i.txErrors),
  }));
  const defaultInterface = interfaces.find((i) => i.name === DEFAULT_POD_INTERFACE) ?? interfaces[0];
  return {
    timestamp: msToNs(network.timestampMs),
    ...(defaultInterface && { defaultInterface }),
    interfaces,
  };
}

/** A pod's stats: its cgroup's usage, its network, and its containers' stats. */
export function toPodSandboxStats(
  target: SandboxTarget,
  sample: SandboxSample | undefined,
  containers: ContainerStats[],
): PodSandboxStats {
  const attributes = {
    id: target.id,
    metadata: { name: target.name, namespace: target.namespace, uid: target.uid, attempt: target.attempt },
    labels: { ...target.labels },
    annotations: { ...target.annotations },
  };
  if (!sample) return { attributes, linux: { containers } };
  const { stats } = sample;
  const io = ioPsi(stats);
  return {
    attributes,
    linux: {
      cpu: cpuUsage(stats, sample.cpuNanoCores),
      memory: memoryUsage(stats),
      ...(sample.network && { network: networkUsage(sample.network) }),
      process: { timestamp: msToNs(stats.timestamp), processCount: u64(stats.pids.current) },
      containers,
      ...(io && { io }),
    },
  };
}
