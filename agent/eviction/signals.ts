// Eviction signals: what the eviction manager watches, computed from one reading of the host.
// The kubelet's signals keep their names and meanings (memory.available, nodefs.*, imagefs.*,
// pid.available); berth adds one of its own, memory.psiFullAvg10: the share of time in which
// every task of the pods was stalled waiting for memory, which rises before the free page
// count falls and catches thrashing that leaves "available" memory on paper.
import type { FsCapacity } from "../../cri/stats/types.js";

export const KUBELET_SIGNALS = [
  "memory.available",
  "nodefs.available",
  "nodefs.inodesFree",
  "imagefs.available",
  "imagefs.inodesFree",
  "pid.available",
] as const;
export type KubeletSignal = (typeof KUBELET_SIGNALS)[number];

export const PSI_MEMORY_SIGNAL = "memory.psiFullAvg10";
export type EvictionSignal = KubeletSignal | typeof PSI_MEMORY_SIGNAL;

/** The resource a signal measures, with the kubelet's names ("inodes" and "pids" are its own). */
export type ReclaimResource = "memory" | "ephemeral-storage" | "inodes" | "pids";

export const SIGNAL_RESOURCE: Readonly<Record<EvictionSignal, ReclaimResource>> = {
  "memory.available": "memory",
  "memory.psiFullAvg10": "memory",
  "nodefs.available": "ephemeral-storage",
  "nodefs.inodesFree": "inodes",
  "imagefs.available": "ephemeral-storage",
  "imagefs.inodesFree": "inodes",
  "pid.available": "pids",
};

export type PressureCondition = "MemoryPressure" | "DiskPressure" | "PIDPressure";

export const SIGNAL_CONDITION: Readonly<Record<EvictionSignal, PressureCondition>> = {
  "memory.available": "MemoryPressure",
  "memory.psiFullAvg10": "MemoryPressure",
  "nodefs.available": "DiskPressure",
  "nodefs.inodesFree": "DiskPressure",
  "imagefs.available": "DiskPressure",
  "imagefs.inodesFree": "DiskPressure",
  "pid.available": "PIDPressure",
};

export interface SignalObservation {
  /**
   * How much is left: bytes, inodes or pids. For memory.psiFullAvg10 it is the stall share
   * itself, in percent, which a threshold bounds from above.
   */
  readonly available: number;
  /** The whole: percentages of a threshold are of this. 100 for the PSI signal. */
  readonly capacity: number;
  /** When it was read, ms since the epoch. */
  readonly timeMs: number;
  /** Where it was read, for logs ("root memory cgroup", "/proc/meminfo MemAvailable", ...). */
  readonly source: string;
}

export type Observations = ReadonlyMap<EvictionSignal, SignalObservation>;

/** Node memory as read: a working set to subtract from capacity, or the kernel's own estimate. */
export type MemoryReading =
  | { readonly capacityBytes: number; readonly workingSetBytes: number; readonly source: string }
  | { readonly capacityBytes: number; readonly availableBytes: number; readonly source: string };

/** One reading of the host, taken at the start of an eviction pass. Absent parts are not observed. */
export interface HostReadings {
  readonly timeMs: number;
  readonly memory?: MemoryReading;
  /** The filesystem of berth's state directory (the kubelet's node fs). */
  readonly nodeFs?: FsCapacity;
  /** The filesystem of the image store. */
  readonly imageFs?: FsCapacity;
  /** True when images live on a filesystem of their own (the kubelet's dedicated image fs). */
  readonly dedicatedImageFs: boolean;
  /** min(pid_max, threads-max), and the tasks (threads) that exist now. */
  readonly pids?: { readonly max: number; readonly running: number };
  /** memory "full" avg10 of the pods' cgroup (or the host), percent. */
  readonly psiMemoryFullAvg10?: { readonly percent: number; readonly source: string };
}

/** The kubelet's observations from one reading: available and capacity per signal. */
export function computeObservations(readings: HostReadings): Observations {
  const observations = new Map<EvictionSignal, SignalObservation>();
  const timeMs = readings.timeMs;
  const memory = readings.memory;
  if (memory) {
    const available =
      "workingSetBytes" in memory
        ? Math.max(0, memory.capacityBytes - memory.workingSetBytes)
        : Math.max(0, memory.availableBytes);
    observations.set("memory.available", {
      available,
      capacity: memory.capacityBytes,
      timeMs,
      source: memory.source,
    });
  }
  const fsSignals = [
    ["nodefs", readings.nodeFs],
    ["imagefs", readings.imageFs],
  ] as const;
  for (const [prefix, fs] of fsSignals) {
    if (!fs) continue;
    observations.set(`${prefix}.available`, {
      available: fs.availableBytes,
      capacity: fs.capacityBytes,
      timeMs,
      source: "statfs",
    });
    // A filesystem without a fixed inode table (btrfs, some overlays) reports 0 inodes: no signal.
    if (fs.inodes > 0) {
      observations.set(`${prefix}.inodesFree`, {
        available: fs.inodesFree,
        capacity: fs.inodes,
        timeMs,
        source: "statfs",
      });
    }
  }
  if (readings.pids) {
    observations.set("pid.available", {
      available: Math.max(0, readings.pids.max - readings.pids.running),
      capacity: readings.pids.max,
      timeMs,
      source: "/proc/sys/kernel/{pid_max,threads-max} and /proc/loadavg",
    });
  }
  if (readings.psiMemoryFullAvg10) {
    observations.set(PSI_MEMORY_SIGNAL, {
      available: readings.psiMemoryFullAvg10.percent,
      capacity: 100,
      timeMs,
      source: readings.psiMemoryFullAvg10.source,
    });
  }
  return observations;
}
