// /stats/summary: the kubelet's Summary document (stats/v1alpha1) built from the stats
// collector's cache, so tools that read a kubelet's summary (metrics-server, kubectl top
// through it, eviction tooling) can read berth's.
import type { CgroupStats } from "../../cgroups/stats.js";
import { availableBytes } from "../../cri/stats/cri-stats.js";
import type {
  ContainerSample,
  FsCapacity,
  FsUsageSample,
  NodeSample,
  SandboxSample,
  StatsSnapshot,
} from "../../cri/stats/types.js";

export interface CpuStats {
  time: string;
  usageNanoCores?: number;
  usageCoreNanoSeconds?: number;
}

export interface MemoryStats {
  time: string;
  availableBytes?: number;
  usageBytes?: number;
  workingSetBytes?: number;
  rssBytes?: number;
  pageFaults?: number;
  majorPageFaults?: number;
}

export interface FsStats {
  time: string;
  availableBytes?: number;
  capacityBytes?: number;
  usedBytes?: number;
  inodesFree?: number;
  inodes?: number;
  inodesUsed?: number;
}

export interface InterfaceStats {
  name: string;
  rxBytes: number;
  rxErrors: number;
  txBytes: number;
  txErrors: number;
}

export interface NetworkStats extends InterfaceStats {
  time: string;
  interfaces: InterfaceStats[];
}

export interface ContainerStats {
  name: string;
  startTime: string;
  cpu?: CpuStats;
  memory?: MemoryStats;
  rootfs?: FsStats;
  logs?: FsStats;
}

export interface PodStats {
  podRef: { name: string; namespace: string; uid: string };
  startTime: string;
  containers: ContainerStats[];
  cpu?: CpuStats;
  memory?: MemoryStats;
  network?: NetworkStats;
  "ephemeral-storage"?: FsStats;
  process_stats?: { process_count: number };
}

export interface NodeStats {
  nodeName: string;
  startTime?: string;
  cpu?: CpuStats;
  memory?: MemoryStats;
  fs?: FsStats;
  runtime?: { imageFs?: FsStats };
}

export interface Summary {
  node: NodeStats;
  pods: PodStats[];
}

export interface SummaryOptions {
  nodeName: string;
}

/** RFC 3339 at second precision, as the kubelet's timestamps marshal. */
export function rfc3339(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.000Z$/, "Z");
}

function cpuStats(stats: CgroupStats, nanoCores: number | undefined): CpuStats {
  return {
    time: rfc3339(stats.timestamp),
    ...(nanoCores !== undefined && { usageNanoCores: nanoCores }),
    usageCoreNanoSeconds: stats.cpu.usageNanos,
  };
}

function memoryStats(stats: CgroupStats): MemoryStats {
  const m = stats.memory;
  const available = availableBytes(m);
  return {
    time: rfc3339(stats.timestamp),
    ...(available !== undefined && { availableBytes: available }),
    usageBytes: m.usageBytes,
    workingSetBytes: m.workingSetBytes,
    rssBytes: m.rssBytes,
    pageFaults: m.pageFaults,
    majorPageFaults: m.majorPageFaults,
  };
}

/** Usage of a tree on a filesystem whose capacity is known (or not). */
function fsStats(usage: FsUsageSample, fs: FsCapacity | undefined): FsStats {
  return {
    time: rfc3339(usage.timestampMs),
    ...(fs && {
      availableBytes: fs.availableBytes,
      capacityBytes: fs.capacityBytes,
      inodesFree: fs.inodesFree,
      inodes: fs.inodes,
    }),
    usedBytes: usage.usedBytes,
    inodesUsed: usage.inodesUsed,
  };
}

function containerStats(sample: ContainerSample, node: NodeSample | undefined): ContainerStats {
  const t = sample.target;
  return {
    name: t.name,
    startTime: rfc3339((t.startedAtNs || t.createdAtNs) / 1e6),
    cpu: cpuStats(sample.stats, sample.cpuNanoCores),
    memory: memoryStats(sample.stats),
    // Writable layers live beside the images, logs on the node's filesystem.
    ...(sample.writableLayer && { rootfs: fsStats(sample.writableLayer, node?.imageFs) }),
    ...(sample.logs && { logs: fsStats(sample.logs, node?.rootFs) }),
  };
}

function ephemeralStorage(containers: ContainerSample[], node: NodeSample | undefined): FsStats | undefined {
  const parts = containers.flatMap((c) => [c.writableLayer, c.logs]).filter((u) => u !== undefined);
  if (parts.length === 0) return undefined;
  return fsStats(
    {
      timestampMs: Math.max(...parts.map((p) => p.timestampMs)),
      usedBytes: parts.reduce((sum, p) => sum + p.usedBytes, 0),
      inodesUsed: parts.reduce((sum, p) => sum + p.inodesUsed, 0),
    },
    node?.rootFs,
  );
}

function networkStats(sandbox: SandboxSample): NetworkStats | undefined {
  const network = sandbox.network;
  if (!network) return undefined;
  const interfaces = network.interfaces.map(({ name, rxBytes, rxErrors, txBytes, txErrors }) => ({
    name,
    rxBytes,
    rxErrors,
    txBytes,
    txErrors,
  }));
  const first = interfaces.find((i) => i.name === "eth0") ?? interfaces[0];
  if (!first) return undefined;
  return { time: rfc3339(network.timestampMs), ...first, interfaces };
}

function podStats(
  podRef: PodStats["podRef"],
  startMs: number,
  sandbox: SandboxSample | undefined,
  containers: ContainerSample[],
  node: NodeSample | undefined,
): PodStats {
  const network = sandbox && networkStats(sandbox);
  const ephemeral = ephemeralStorage(containers, node);
  return {
    podRef,
    startTime: rfc3339(startMs),
    containers: containers.map((c) => containerStats(c, node)),
    ...(sandbox && {
      cpu: cpuStats(sandbox.stats, sandbox.cpuNanoCores),
      memory: memoryStats(sandbox.stats),
    }),
    ...(network && { network }),
    ...(ephemeral && { "ephemeral-storage": ephemeral }),
    ...(sandbox && { process_stats: { process_count: sandbox.stats.pids.current } }),
  };
}

function nodeStats(node: NodeSample | undefined, nodeName: string): NodeStats {
  if (!node) return { nodeName };
  const time = rfc3339(node.timestampMs);
  const m = node.memory;
  return {
    nodeName,
    startTime: rfc3339(node.bootTimeMs),
    cpu: {
      time,
      ...(node.cpu.nanoCores !== undefined && { usageNanoCores: node.cpu.nanoCores }),
      usageCoreNanoSeconds: node.cpu.usageNanos,
    },
    memory: {
      time,
      availableBytes: m.availableBytes,
      usageBytes: m.usageBytes,
      workingSetBytes: m.workingSetBytes,
      rssBytes: m.rssBytes,
      pageFaults: m.pageFaults,
      majorPageFaults: m.majorPageFaults,
    },
    ...(node.rootFs && {
      fs: fsStats(
        {
          timestampMs: node.timestampMs,
          usedBytes: node.rootFs.capacityBytes - node.rootFs.availableBytes,
          inodesUsed: node.rootFs.inodes - node.rootFs.inodesFree,
        },
        node.rootFs,
      ),
    }),
    ...(node.imageFs && { runtime: { imageFs: fsStats(node.imageFs, node.imageFs) } }),
  };
}

/** Pods are those with a sampled pod cgroup or a sampled container, in a stable order. */
export function buildSummary(snapshot: StatsSnapshot, opts: SummaryOptions): Summary {
  const containersBySandbox = new Map<string, ContainerSample[]>();
  for (const sample of snapshot.containers.values()) {
    const list = containersBySandbox.get(sample.target.sandboxId);
    if (list) list.push(sample);
    else containersBySandbox.set(sample.target.sandboxId, [sample]);
  }
  const sandboxIds = [...new Set([...snapshot.sandboxes.keys(), ...containersBySandbox.keys()])];
  const pods = sandboxIds.map((id) => {
    const sandbox = snapshot.sandboxes.get(id);
    const containers = (containersBySandbox.get(id) ?? []).sort((a, b) =>
      a.target.name.localeCompare(b.target.name),
    );
    const pod = sandbox?.target ?? containers[0]?.target.pod;
    const podRef = { name: pod?.name ?? "", namespace: pod?.namespace ?? "", uid: pod?.uid ?? "" };
    const startMs = (sandbox?.target.createdAtNs ?? containers[0]?.target.createdAtNs ?? 0) / 1e6;
    return podStats(podRef, startMs, sandbox, containers, snapshot.node);
  });
  pods.sort(
    (a, b) =>
      a.podRef.namespace.localeCompare(b.podRef.namespace) || a.podRef.name.localeCompare(b.podRef.name),
  );
  return { node: nodeStats(snapshot.node, opts.nodeName), pods };
}
