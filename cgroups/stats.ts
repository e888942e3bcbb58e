// One normalized snapshot of a cgroup's usage, whatever the host's cgroup version, so the
// stats collector and everything behind it never branch on v1 versus v2.
import { systemClock, type Clock } from "../common/clock.js";
import { FailedPreconditionError, NotFoundError } from "../common/errors.js";
import { DEFAULT_CGROUP_ROOT, type CgroupLayout } from "./detect.js";
import { dirExists, requireCgroupDir } from "./files.js";
import { resolveCgroupDirs } from "./paths.js";
import { readCpuV1 } from "./v1/cpu.js";
import { DEFAULT_USER_HZ, readCpuacctV1, ticksToNanos } from "./v1/cpuacct.js";
import { hierarchicalStat, readMemoryV1 } from "./v1/memory.js";
import { pidsV1 } from "./v1/pids.js";
import { readCpuV2 } from "./v2/cpu.js";
import { readIoV2, type IoDeviceStats } from "./v2/io.js";
import { readMemoryV2 } from "./v2/memory.js";
import { readPidsV2 } from "./v2/pids.js";
import { readPsi, type PsiStats } from "./v2/psi.js";

export interface CpuUsage {
  readonly usageNanos: number;
  readonly userNanos: number;
  readonly systemNanos: number;
  /** CFS enforcement periods elapsed, and how many of them throttled the cgroup. */
  readonly periods: number;
  readonly throttledPeriods: number;
  readonly throttledNanos: number;
}

export interface MemoryUsage {
  readonly usageBytes: number;
  /** Usage minus inactive file pages: what the kubelet compares with limits and eviction thresholds. */
  readonly workingSetBytes: number;
  /** Anonymous memory (v2 "anon", v1 "rss"). */
  readonly rssBytes: number;
  readonly pageFaults: number;
  readonly majorPageFaults: number;
  /** Absent when unlimited. */
  readonly limitBytes?: number;
  /** Times the cgroup hit its limit and the OOM killer was invoked (v1 only counts kills: same as oomKillEvents). */
  readonly oomEvents: number;
  readonly oomKillEvents: number;
  /** High-water mark of usage, where the kernel keeps one. */
  readonly peakBytes?: number;
  readonly swapBytes?: number;
}

export interface PidsUsage {
  readonly current: number;
  /** Absent when unlimited. */
  readonly limit?: number;
}

export interface IoUsage {
  readonly readBytes: number;
  readonly writeBytes: number;
  readonly readOps: number;
  readonly writeOps: number;
  readonly discardBytes: number;
  readonly discardOps: number;
  readonly devices: readonly IoDeviceStats[];
}

export interface CgroupStats {
  /** Milliseconds since the epoch when the files were read. */
  readonly timestamp: number;
  readonly cpu: CpuUsage;
  readonly memory: MemoryUsage;
  readonly pids: PidsUsage;
  /** cgroup v2 only. */
  readonly io?: IoUsage;
  /** Where the kernel has PSI (on hybrid hosts, from the cgroup2 companion directory). */
  readonly psi?: PsiStats;
}

export interface CgroupStatsReader {
  /** Which files it reads. */
  readonly version: "v1" | "v2";
  /** Reads a cgroup by berth path (see resolveCgroupDirs); NotFoundError("cgroup", path) if it does not exist. */
  read(path: string): Promise<CgroupStats>;
}

export interface StatsReaderOptions {
  readonly clock?: Clock;
  /** Tick rate of cpuacct.stat (v1 only). */
  readonly userHz?: number;
}

const ZERO_CPU: CpuUsage = {
  usageNanos: 0,
  userNanos: 0,
  systemNanos: 0,
  periods: 0,
  throttledPeriods: 0,
  throttledNanos: 0,
};

function ioUsage(devices: readonly IoDeviceStats[]): IoUsage {
  const sum = (pick: (device: IoDeviceStats) => number): number =>
    devices.reduce((total, device) => total + pick(device), 0);
  return {
    readBytes: sum((d) => d.rbytes),
    writeBytes: sum((d) => d.wbytes),
    readOps: sum((d) => d.rios),
    writeOps: sum((d) => d.wios),
    discardBytes: sum((d) => d.dbytes),
    discardOps: sum((d) => d.dios),
    devices,
  };
}

function withOptional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

/**
 * Reads the cgroup v2 files of a unified host. A controller that is not enabled for the cgroup
 * (or the root cgroup, which lacks some files) reads as zero usage and no limit.
 */
export class V2StatsReader implements CgroupStatsReader {
  readonly version = "v2";
  private readonly clock: Clock;

  constructor(
    private readonly layout: CgroupLayout,
    private readonly root: string = DEFAULT_CGROUP_ROOT,
    options: StatsReaderOptions = {},
  ) {
    if (layout.mode !== "unified") {
      throw new FailedPreconditionError(`cgroup v2 stats need a unified host, this one is ${layout.mode}`);
    }
    this.clock = options.clock ?? systemClock;
  }

  async read(path: string): Promise<CgroupStats> {
    const dir = resolveCgroupDirs(this.layout, path, this.root).unified;
    if (dir === undefined) throw new NotFoundError("cgroup", path);
    await requireCgroupDir(dir, path);
    const timestamp = this.clock.now();
    const [cpu, memory, pids, io, psi] = await Promise.all([
      readCpuV2(dir),
      readMemoryV2(dir),
      readPidsV2(dir),
      readIoV2(dir),
      readPsi(dir),
    ]);
    // cpu.stat exists in every v2 cgroup; without it the cgroup vanished while being read.
    if (cpu === undefined) throw new NotFoundError("cgroup", path);
    return {
      timestamp,
      cpu: {
        usageNanos: cpu.stat.usageUsec * 1000,
        userNanos: cpu.stat.userUsec * 1000,
        systemNanos: cpu.stat.systemUsec * 1000,
        periods: cpu.stat.nrPeriods,
        throttledPeriods: cpu.stat.nrThrottled,
        throttledNanos: cpu.stat.throttledUsec * 1000,
      },
      memory: {
        usageBytes: memory?.currentBytes ?? 0,
        workingSetBytes: memory?.workingSetBytes ?? 0,
        rssBytes: memory?.stat["anon"] ?? 0,
        pageFaults: memory?.stat["pgfault"] ?? 0,
        majorPageFaults: memory?.stat["pgmajfault"] ?? 0,
        ...withOptional("limitBytes", memory?.maxBytes),
        oomEvents: memory?.events.oom ?? 0,
        oomKillEvents: memory?.events.oomKill ?? 0,
        ...withOptional("peakBytes", memory?.peakBytes),
        ...withOptional("swapBytes", memory?.swapCurrentBytes),
      },
      pids: { current: pids?.current ?? 0, ...withOptional("limit", pids?.max) },
      ...withOptional("io", io && ioUsage(io.devices)),
      ...withOptional("psi", psi),
    };
  }
}

/**
 * Read-only fallback for hybrid and legacy hosts: cpuacct for usage, cpu for throttling,
 * memory for usage and OOM kills, pids. A cgroup must exist in the cpuacct and memory
 * hierarchies; cpu and pids are optional (the root of a pids hierarchy has no files).
 */
export class V1StatsReader implements CgroupStatsReader {
  readonly version = "v1";
  private readonly clock: Clock;
  private readonly userHz: number;

  constructor(
    private readonly layout: CgroupLayout,
    private readonly root: string = DEFAULT_CGROUP_ROOT,
    options: StatsReaderOptions = {},
  ) {
    if (layout.mode === "unified") throw new FailedPreconditionError("cgroup v1 stats need v1 hierarchies");
    for (const controller of ["cpuacct", "memory"]) {
      if (layout.v1Mounts[controller] === undefined) {
        throw new FailedPreconditionError(`the cgroup v1 ${controller} hierarchy is not mounted`);
      }
    }
    this.clock = options.clock ?? systemClock;
    this.userHz = options.userHz ?? DEFAULT_USER_HZ;
  }

  async read(path: string): Promise<CgroupStats> {
    const dirs = resolveCgroupDirs(this.layout, path, this.root);
    const cpuacctDir = dirs.v1["cpuacct"] ?? "";
    const memoryDir = dirs.v1["memory"] ?? "";
    await Promise.all([requireCgroupDir(cpuacctDir, path), requireCgroupDir(memoryDir, path)]);
    const timestamp = this.clock.now();
    const [cpuacct, throttling, memory, pids, psi] = await Promise.all([
      readCpuacctV1(cpuacctDir),
      dirs.v1["cpu"] === undefined ? undefined : readCpuV1(dirs.v1["cpu"]),
      readMemoryV1(memoryDir),
      dirs.v1["pids"] === undefined ? undefined : pidsV1.read(dirs.v1["pids"]),
      dirs.unified === undefined ? undefined : readPsi(dirs.unified),
    ]);
    if (cpuacct === undefined || memory === undefined) {
      if (!(await dirExists(cpuacctDir)) || !(await dirExists(memoryDir)))
        throw new NotFoundError("cgroup", path);
    }
    const stat = memory?.stat ?? {};
    return {
      timestamp,
      cpu: {
        ...ZERO_CPU,
        ...(cpuacct && {
          usageNanos: cpuacct.usageNanos,
          userNanos: ticksToNanos(cpuacct.userTicks, this.userHz),
          systemNanos: ticksToNanos(cpuacct.systemTicks, this.userHz),
        }),
        ...(throttling && {
          periods: throttling.nrPeriods,
          throttledPeriods: throttling.nrThrottled,
          throttledNanos: throttling.throttledNanos,
        }),
      },
      memory: {
        usageBytes: memory?.usageBytes ?? 0,
        workingSetBytes: memory?.workingSetBytes ?? 0,
        rssBytes: hierarchicalStat(stat, "rss") ?? 0,
        pageFaults: hierarchicalStat(stat, "pgfault") ?? 0,
        majorPageFaults: hierarchicalStat(stat, "pgmajfault") ?? 0,
        ...withOptional("limitBytes", memory?.limitBytes),
        oomEvents: memory?.oomControl.oomKill ?? 0,
        oomKillEvents: memory?.oomControl.oomKill ?? 0,
        ...withOptional("peakBytes", memory?.maxUsageBytes),
        ...withOptional("swapBytes", hierarchicalStat(stat, "swap")),
      },
      pids: { current: pids?.current ?? 0, ...withOptional("limit", pids?.max) },
      ...withOptional("psi", psi),
    };
  }
}

/** The reader that fits the host: v2 files on unified hosts, the v1 fallback otherwise. */
export function createStatsReader(
  layout: CgroupLayout,
  root: string = DEFAULT_CGROUP_ROOT,
  options: StatsReaderOptions = {},
): CgroupStatsReader {
  return layout.mode === "unified"
    ? new V2StatsReader(layout, root, options)
    : new V1StatsReader(layout, root, options);
}
