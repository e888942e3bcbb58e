// Test doubles for the stats collector and its readers: cgroup stats built from a few
// numbers, a catalog held in arrays, a reader backed by a map, a timer ticked by hand.
import type { CgroupStats } from "../../../../cgroups/stats.js";
import type { Clock } from "../../../../common/clock.js";
import { NotFoundError } from "../../../../common/errors.js";
import type { IntervalTimer } from "../../../../cri/stats/collector.js";
import type { HostMemory, ProcStat } from "../../../../cri/stats/proc-files.js";
import type {
  ContainerTarget,
  NetworkInterfaceSample,
  SandboxTarget,
  StatsCatalog,
} from "../../../../cri/stats/types.js";

export interface StatsNumbers {
  timestamp?: number;
  cpuNanos?: number;
  workingSet?: number;
  usage?: number;
  limit?: number;
  pids?: number;
  oom?: number;
  psi?: boolean;
}

export function cgroupStats(n: StatsNumbers = {}): CgroupStats {
  return {
    timestamp: n.timestamp ?? 1_700_000_000_000,
    cpu: {
      usageNanos: n.cpuNanos ?? 0,
      userNanos: (n.cpuNanos ?? 0) * 0.75,
      systemNanos: (n.cpuNanos ?? 0) * 0.25,
      periods: 10,
      throttledPeriods: 3,
      throttledNanos: 2_500_000_000,
    },
    memory: {
      usageBytes: n.usage ?? (n.workingSet ?? 0) + 4096,
      workingSetBytes: n.workingSet ?? 0,
      rssBytes: 1000,
      pageFaults: 50,
      majorPageFaults: 2,
      ...(n.limit !== undefined && { limitBytes: n.limit }),
      oomEvents: n.oom ?? 0,
      oomKillEvents: n.oom ?? 0,
    },
    pids: { current: n.pids ?? 1 },
    ...(n.psi && {
      psi: {
        cpu: {
          some: { avg10: 1, avg60: 2, avg300: 3, totalUsec: 1_500_000 },
          full: { avg10: 0, avg60: 0, avg300: 0, totalUsec: 500_000 },
        },
      },
    }),
  };
}

export function containerTarget(id: string, extra: Partial<ContainerTarget> = {}): ContainerTarget {
  return {
    id,
    sandboxId: "sb1",
    pod: { name: "web", namespace: "shop", uid: "uid-web" },
    name: `c-${id}`,
    attempt: 0,
    image: "busybox:latest",
    labels: { app: "web" },
    annotations: {},
    running: true,
    cgroupPath: `pods/pod-sb1/${id}`,
    writableLayerDir: `/snapshots/${id}/upper`,
    logPath: `/logs/${id}.log`,
    createdAtNs: 1_699_999_000_000_000_000,
    startedAtNs: 1_699_999_001_000_000_000,
    ...extra,
  };
}

export function sandboxTarget(id: string, extra: Partial<SandboxTarget> = {}): SandboxTarget {
  return {
    id,
    name: "web",
    namespace: "shop",
    uid: "uid-web",
    attempt: 0,
    labels: { app: "web" },
    annotations: {},
    ready: true,
    cgroupPath: `pods/pod-${id}`,
    infraPid: 4242,
    ownNetwork: true,
    createdAtNs: 1_699_998_000_000_000_000,
    ...extra,
  };
}

export class FakeCatalog implements StatsCatalog {
  constructor(
    public containerList: ContainerTarget[] = [],
    public sandboxList: SandboxTarget[] = [],
  ) {}
  containers(): ContainerTarget[] {
    return this.containerList;
  }
  sandboxes(): SandboxTarget[] {
    return this.sandboxList;
  }
  container(idOrPrefix: string): ContainerTarget | undefined {
    return this.containerList.find((c) => c.id === idOrPrefix) ?? unique(this.containerList, idOrPrefix);
  }
  sandbox(idOrPrefix: string): SandboxTarget | undefined {
    return this.sandboxList.find((s) => s.id === idOrPrefix) ?? unique(this.sandboxList, idOrPrefix);
  }
}

function unique<T extends { id: string }>(list: T[], prefix: string): T | undefined {
  const found = list.filter((t) => t.id.startsWith(prefix));
  return found.length === 1 ? found[0] : undefined;
}

/** Reads from a map of cgroup path to stats; a missing path is a vanished cgroup. */
export class FakeReader {
  readonly cgroups = new Map<string, CgroupStats>();
  readonly failing = new Set<string>();
  reads = 0;
  async read(path: string): Promise<CgroupStats> {
    this.reads++;
    if (this.failing.has(path)) throw new Error(`cannot parse ${path}`);
    const stats = this.cgroups.get(path);
    if (!stats) throw new NotFoundError("cgroup", path);
    return stats;
  }
}

export class FakeProc {
  busyNanos = 0;
  memory_: HostMemory = {
    totalBytes: 8 * 2 ** 30,
    availableBytes: 6 * 2 ** 30,
    usageBytes: 2 * 2 ** 30,
    workingSetBytes: 2 ** 30,
    rssBytes: 512 << 20,
    pageFaults: 100,
    majorPageFaults: 1,
  };
  interfaces: NetworkInterfaceSample[] | undefined = [
    { name: "eth0", rxBytes: 1000, rxErrors: 0, txBytes: 2000, txErrors: 1 },
  ];
  async stat(): Promise<ProcStat> {
    return { busyNanos: this.busyNanos, bootTimeMs: 1_600_000_000_000 };
  }
  async memory(): Promise<HostMemory> {
    return this.memory_;
  }
  async netDev(): Promise<NetworkInterfaceSample[] | undefined> {
    return this.interfaces;
  }
}

export class ManualTimer implements IntervalTimer {
  ticks: (() => void)[] = [];
  intervals: number[] = [];
  every(ms: number, tick: () => void): { cancel(): void } {
    this.ticks.push(tick);
    this.intervals.push(ms);
    return { cancel: () => (this.ticks = this.ticks.filter((t) => t !== tick)) };
  }
  fire(): void {
    for (const tick of this.ticks) tick();
  }
}

export class FakeClock implements Clock {
  constructor(public ms = 1_700_000_000_000) {}
  now(): number {
    return this.ms;
  }
  nowNanos(): bigint {
    return BigInt(this.ms) * 1_000_000n;
  }
}
