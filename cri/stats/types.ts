// What the stats collector reads (targets: the runtime's live containers and sandboxes) and
// what it keeps (samples). Everything that reports usage (CRI stats RPCs, /metrics,
// /stats/summary, eviction, the upstream reporter) reads these samples, never the files.
import type { CgroupStats } from "../../cgroups/stats.js";

/** A container as the collector needs to know it; built from the runtime's records. */
export interface ContainerTarget {
  readonly id: string;
  readonly sandboxId: string;
  /** The pod's metadata, for labelling (empty strings if its sandbox is unknown). */
  readonly pod: { readonly name: string; readonly namespace: string; readonly uid: string };
  /** CRI metadata.name and attempt. */
  readonly name: string;
  readonly attempt: number;
  readonly image: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  /** Only running containers are sampled; the others are known but have no usage. */
  readonly running: boolean;
  readonly cgroupPath: string;
  /** The overlay upper dir: what the container wrote to its root filesystem. */
  readonly writableLayerDir?: string;
  /** The CRI log file, "" when the container has none. */
  readonly logPath: string;
  /** Nanoseconds since the epoch; 0 when not started. */
  readonly createdAtNs: number;
  readonly startedAtNs: number;
}

export interface SandboxTarget {
  readonly id: string;
  readonly name: string;
  readonly namespace: string;
  readonly uid: string;
  readonly attempt: number;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly ready: boolean;
  /** The pod cgroup: parent of its containers' cgroups. */
  readonly cgroupPath: string;
  /** The infra process, whose /proc/<pid>/net/dev shows the pod's network namespace. */
  readonly infraPid?: number;
  /** False with host networking: the host's interfaces are not the pod's usage. */
  readonly ownNetwork: boolean;
  readonly createdAtNs: number;
}

/** Where the collector finds the runtime's containers and sandboxes (the registry, in berth). */
export interface StatsCatalog {
  containers(): ContainerTarget[];
  sandboxes(): SandboxTarget[];
  /** By full id or unique prefix. */
  container(idOrPrefix: string): ContainerTarget | undefined;
  sandbox(idOrPrefix: string): SandboxTarget | undefined;
}

/** Bytes and inodes used under a directory tree, as measured at `timestampMs`. */
export interface FsUsageSample {
  readonly timestampMs: number;
  readonly usedBytes: number;
  readonly inodesUsed: number;
}

/** A filesystem's size and what it holds, from statfs(2). */
export interface FsCapacity {
  readonly capacityBytes: number;
  readonly availableBytes: number;
  readonly inodes: number;
  readonly inodesFree: number;
}

export interface ContainerSample {
  readonly target: ContainerTarget;
  /** stats.timestamp (ms) is when the cgroup files were read. */
  readonly stats: CgroupStats;
  /** CPU usage rate over the interval since the previous sample; absent on the first one. */
  readonly cpuNanoCores?: number;
  readonly writableLayer?: FsUsageSample;
  readonly logs?: FsUsageSample;
}

export interface NetworkInterfaceSample {
  readonly name: string;
  readonly rxBytes: number;
  readonly rxErrors: number;
  readonly txBytes: number;
  readonly txErrors: number;
}

export interface NetworkSample {
  readonly timestampMs: number;
  readonly interfaces: readonly NetworkInterfaceSample[];
}

export interface SandboxSample {
  readonly target: SandboxTarget;
  readonly stats: CgroupStats;
  readonly cpuNanoCores?: number;
  readonly network?: NetworkSample;
}

export interface NodeSample {
  readonly timestampMs: number;
  /** Boot time, ms since the epoch. */
  readonly bootTimeMs: number;
  readonly cpuCores: number;
  readonly cpu: { readonly usageNanos: number; readonly nanoCores?: number };
  readonly memory: {
    readonly totalBytes: number;
    readonly availableBytes: number;
    readonly usageBytes: number;
    readonly workingSetBytes: number;
    readonly rssBytes: number;
    readonly pageFaults: number;
    readonly majorPageFaults: number;
  };
  /** The filesystem holding berth's state dir (the kubelet's "node fs"). */
  readonly rootFs?: FsCapacity & { readonly mountpoint: string };
  /** The filesystem holding images, with how much the image store uses of it. */
  readonly imageFs?: FsCapacity & FsUsageSample & { readonly mountpoint: string };
}

/** The whole cache after a pass, as listeners receive it. */
export interface StatsSnapshot {
  readonly containers: ReadonlyMap<string, ContainerSample>;
  readonly sandboxes: ReadonlyMap<string, SandboxSample>;
  readonly node?: NodeSample;
  /** Duration of the pass that produced this snapshot, seconds; 0 before the first. */
  readonly passSeconds: number;
}
