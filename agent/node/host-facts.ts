// What this node is: host facts from systeminformation (OS, kernel, CPU, memory, boot time),
// the size of the state filesystem, berth's and the runtime's versions, and the cgroup mode.
// systeminformation spawns processes for some answers, so facts are gathered at start and on
// demand, never on a hot path.
import * as si from "systeminformation";
import type { CgroupMode } from "../../cgroups/detect.js";
import { statFsCapacity } from "../../cri/stats/collector.js";
import type { FsCapacity } from "../../cri/stats/types.js";
import { ociArchitecture } from "../../cri/images/platform.js";

export interface NodeFacts {
  readonly hostname: string;
  /** "linux". */
  readonly operatingSystem: string;
  /** "Debian GNU/Linux 12 (bookworm)". */
  readonly osImage: string;
  readonly kernelVersion: string;
  /** Go's names, as Kubernetes reports them: "amd64", "arm64". */
  readonly architecture: string;
  readonly cpuModel: string;
  /** Logical CPUs, as the kubelet counts cores. */
  readonly cpuCount: number;
  readonly memoryBytes: number;
  /** Size of the filesystem holding berth's state directory. */
  readonly stateFilesystemBytes: number;
  /** ms since the epoch. */
  readonly bootTimeMs: number;
  readonly berthVersion: string;
  /** "<runtime name>://<runtime version>", as the kubelet prints it. */
  readonly containerRuntimeVersion: string;
  readonly cgroupMode: CgroupMode;
}

/** The part of systeminformation that node facts read (tests hand in fixed answers). */
export interface SystemInfoSource {
  osInfo(): Promise<
    Pick<
      si.Systeminformation.OsData,
      "platform" | "distro" | "release" | "codename" | "kernel" | "arch" | "hostname"
    >
  >;
  cpu(): Promise<Pick<si.Systeminformation.CpuData, "manufacturer" | "brand" | "cores">>;
  mem(): Promise<Pick<si.Systeminformation.MemData, "total">>;
  /** Seconds since boot and now (ms since the epoch). */
  time(): Pick<si.Systeminformation.TimeData, "uptime" | "current">;
}

export const systemInformation: SystemInfoSource = {
  osInfo: () => si.osInfo(),
  cpu: () => si.cpu(),
  mem: () => si.mem(),
  time: () => si.time(),
};

export interface NodeFactsSources {
  readonly systemInfo?: SystemInfoSource;
  readonly stateDir: string;
  readonly statFs?: (path: string) => Promise<FsCapacity>;
  /** CRI Version of the runtime under the kubelet layer. */
  readonly runtimeVersion: () => Promise<{ runtimeName: string; runtimeVersion: string }>;
  readonly cgroupMode: () => Promise<CgroupMode>;
  readonly berthVersion: string;
}

export function osImage(os: { distro: string; release: string; codename: string }): string {
  const base = [os.distro, os.release].filter((s) => s !== "").join(" ");
  return os.codename ? `${base} (${os.codename})` : base;
}

export async function gatherNodeFacts(sources: NodeFactsSources): Promise<NodeFacts> {
  const systemInfo = sources.systemInfo ?? systemInformation;
  const [os, cpu, mem, fs, version, cgroupMode] = await Promise.all([
    systemInfo.osInfo(),
    systemInfo.cpu(),
    systemInfo.mem(),
    (sources.statFs ?? statFsCapacity)(sources.stateDir),
    sources.runtimeVersion(),
    sources.cgroupMode(),
  ]);
  const time = systemInfo.time();
  return {
    hostname: os.hostname,
    operatingSystem: os.platform,
    osImage: osImage(os),
    kernelVersion: os.kernel,
    architecture: ociArchitecture(os.arch),
    cpuModel: [cpu.manufacturer, cpu.brand].filter((s) => s !== "").join(" "),
    cpuCount: cpu.cores,
    memoryBytes: mem.total,
    stateFilesystemBytes: fs.capacityBytes,
    bootTimeMs: Math.round(time.current - time.uptime * 1000),
    berthVersion: sources.berthVersion,
    containerRuntimeVersion: `${version.runtimeName}://${version.runtimeVersion}`,
    cgroupMode,
  };
}
