// Reads what the eviction signals need from the host, once per eviction pass. Each read is a
// handful of small files or one statfs(2), cheap enough for every pass:
//   memory: the root memory cgroup on cgroup v1 (capacity - (usage - total_inactive_file)),
//           /proc/meminfo MemAvailable if it cannot be read; on cgroup v2 the root has no
//           memory.current, so usage is MemTotal - MemFree less the root's inactive_file;
//   disks:  statfs of the state directory (node fs) and of the image store (image fs);
//   pids:   min(pid_max, threads-max) against the tasks that exist (/proc/loadavg);
//   PSI:    memory.pressure of the pods' cgroup, or /proc/pressure/memory.
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { DEFAULT_CGROUP_ROOT, type CgroupLayout } from "../../cgroups/detect.js";
import { readOptionalFile } from "../../cgroups/files.js";
import { resolveCgroupDirs } from "../../cgroups/paths.js";
import { readMemoryV1 } from "../../cgroups/v1/memory.js";
import { parseMemoryStat } from "../../cgroups/v2/memory.js";
import { parsePressure, readPsi } from "../../cgroups/v2/psi.js";
import { systemClock, type Clock } from "../../common/clock.js";
import type { Logger } from "../../common/logger.js";
import { statFsCapacity } from "../../cri/stats/collector.js";
import { parseMeminfo } from "../../cri/stats/proc-files.js";
import type { FsCapacity } from "../../cri/stats/types.js";
import type { HostReadings, MemoryReading } from "./signals.js";

export interface HostObserverOptions {
  readonly layout: CgroupLayout;
  /** Where cgroup hierarchies are mounted. */
  readonly cgroupMountRoot?: string;
  /** berth's cgroup path of the pods' parent ("/berth/pods"), for PSI; absent: the host's PSI. */
  readonly podsCgroup?: string;
  readonly stateDir: string;
  readonly imagesDir: string;
  readonly procRoot?: string;
  readonly clock?: Clock;
  readonly statFs?: (path: string) => Promise<FsCapacity>;
  /** Device number of a path, to tell whether two paths share a filesystem. */
  readonly deviceOf?: (path: string) => Promise<number>;
  readonly logger: Logger;
}

export interface HostReader {
  read(): Promise<HostReadings>;
}

export class HostObserver implements HostReader {
  private readonly cgroupMountRoot: string;
  private readonly procRoot: string;
  private readonly clock: Clock;
  private readonly statFs: (path: string) => Promise<FsCapacity>;
  private readonly deviceOf: (path: string) => Promise<number>;
  private readonly failed = new Set<string>();

  constructor(private readonly options: HostObserverOptions) {
    this.cgroupMountRoot = options.cgroupMountRoot ?? DEFAULT_CGROUP_ROOT;
    this.procRoot = options.procRoot ?? "/proc";
    this.clock = options.clock ?? systemClock;
    this.statFs = options.statFs ?? statFsCapacity;
    this.deviceOf = options.deviceOf ?? (async (path) => (await stat(path)).dev);
  }

  async read(): Promise<HostReadings> {
    const timeMs = this.clock.now();
    const [memory, nodeFs, imageFs, dedicatedImageFs, pids, psi] = await Promise.all([
      this.attempt("memory", () => this.readMemory()),
      this.attempt("nodefs", () => this.statFs(this.options.stateDir)),
      this.attempt("imagefs", () => this.statFs(this.options.imagesDir)),
      this.attempt("imagefs device", async () => {
        const [a, b] = await Promise.all([
          this.deviceOf(this.options.stateDir),
          this.deviceOf(this.options.imagesDir),
        ]);
        return a !== b;
      }),
      this.attempt("pids", () => this.readPids()),
      this.attempt("psi", () => this.readPsi()),
    ]);
    return {
      timeMs,
      dedicatedImageFs: dedicatedImageFs ?? false,
      ...(memory && { memory }),
      ...(nodeFs && { nodeFs }),
      ...(imageFs && { imageFs }),
      ...(pids && { pids }),
      ...(psi && { psiMemoryFullAvg10: psi }),
    };
  }

  /** A part that cannot be read is left unobserved; the first failure of each kind is logged. */
  private async attempt<T>(what: string, read: () => Promise<T | undefined>): Promise<T | undefined> {
    try {
      const value = await read();
      this.failed.delete(what);
      return value;
    } catch (err) {
      if (!this.failed.has(what))
        this.options.logger.warn({ err, signal: what }, "cannot observe an eviction signal");
      this.failed.add(what);
      return undefined;
    }
  }

  private async readMemory(): Promise<MemoryReading> {
    const meminfo = parseMeminfo(await readFile(join(this.procRoot, "meminfo"), "utf8"));
    const capacityBytes = meminfo.get("MemTotal") ?? 0;
    const memAvailable = (): MemoryReading => ({
      capacityBytes,
      availableBytes: meminfo.get("MemAvailable") ?? meminfo.get("MemFree") ?? 0,
      source: "/proc/meminfo MemAvailable",
    });
    const layout = this.options.layout;
    if (layout.mode === "unified") {
      const rootDir = join(this.cgroupMountRoot, layout.unifiedDir ?? "");
      const statText = await readOptionalFile(rootDir, "memory.stat");
      const inactiveFile =
        (statText !== undefined ? parseMemoryStat(statText)["inactive_file"] : undefined) ??
        meminfo.get("Inactive(file)");
      const usage = capacityBytes - (meminfo.get("MemFree") ?? 0);
      return {
        capacityBytes,
        workingSetBytes: Math.max(0, usage - (inactiveFile ?? 0)),
        source: "root cgroup (MemTotal - MemFree - inactive_file)",
      };
    }
    const memoryMount = layout.v1Mounts["memory"];
    if (memoryMount === undefined) return memAvailable();
    const root = await readMemoryV1(join(this.cgroupMountRoot, memoryMount)).catch(() => undefined);
    if (!root) return memAvailable();
    return { capacityBytes, workingSetBytes: root.workingSetBytes, source: "root memory cgroup" };
  }

  private async readPids(): Promise<{ max: number; running: number }> {
    const [pidMax, threadsMax, loadavg] = await Promise.all([
      readFile(join(this.procRoot, "sys/kernel/pid_max"), "utf8"),
      readFile(join(this.procRoot, "sys/kernel/threads-max"), "utf8").catch(() => undefined),
      readFile(join(this.procRoot, "loadavg"), "utf8"),
    ]);
    const limits = [Number(pidMax.trim()), Number(threadsMax?.trim() ?? Number.NaN)].filter(
      (n) => Number.isFinite(n) && n > 0,
    );
    // The fourth field of loadavg is "<runnable>/<tasks>": every thread counts against pid_max.
    const running = Number(loadavg.trim().split(/\s+/)[3]?.split("/")[1]);
    if (limits.length === 0 || !Number.isFinite(running))
      throw new Error("unreadable pid_max or /proc/loadavg");
    return { max: Math.min(...limits), running };
  }

  private async readPsi(): Promise<{ percent: number; source: string } | undefined> {
    const podsCgroup = this.options.podsCgroup;
    if (podsCgroup !== undefined && this.options.layout.mode !== "legacy") {
      const dir = resolveCgroupDirs(this.options.layout, podsCgroup, this.cgroupMountRoot).unified;
      const full = dir === undefined ? undefined : (await readPsi(dir).catch(() => undefined))?.memory?.full;
      if (full) return { percent: full.avg10, source: `${podsCgroup} memory.pressure` };
    }
    const text = await readFile(join(this.procRoot, "pressure/memory"), "utf8").catch(() => undefined);
    const full = text === undefined ? undefined : parsePressure(text)?.full;
    return full && { percent: full.avg10, source: "/proc/pressure/memory" };
  }
}
