// Host-wide usage and a pod's network counters from /proc: the node's CPU time and boot
// time (/proc/stat), memory (/proc/meminfo, /proc/vmstat), and the interfaces of a network
// namespace as seen by a process inside it (/proc/<pid>/net/dev).
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { NetworkInterfaceSample } from "./types.js";

/** USER_HZ: the tick of /proc/stat, 100 on every Linux architecture berth runs on. */
const USER_HZ = 100;

export interface ProcStat {
  /** CPU time spent on anything but idle and iowait, summed over all CPUs, nanoseconds. */
  readonly busyNanos: number;
  readonly bootTimeMs: number;
}

export function parseProcStat(text: string): ProcStat {
  let busyNanos = 0;
  let bootTimeMs = 0;
  for (const line of text.split("\n")) {
    const fields = line.trim().split(/\s+/);
    if (fields[0] === "cpu") {
      // user nice system idle iowait irq softirq steal [guest guest_nice]: guest time is already
      // counted in user and nice, so it is left out.
      const ticks = fields.slice(1, 9).map(Number);
      const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = ticks;
      busyNanos = ((user + nice + system + irq + softirq + steal) * 1e9) / USER_HZ;
    } else if (fields[0] === "btime") {
      bootTimeMs = Number(fields[1]) * 1000;
    }
  }
  return { busyNanos, bootTimeMs };
}

/** meminfo values in bytes by key (the file prints kB). */
export function parseMeminfo(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split("\n")) {
    const match = /^([^:]+):\s+(\d+)(?:\s+kB)?$/.exec(line.trim());
    if (!match) continue;
    const number = Number(match[2]);
    values.set(match[1] ?? "", line.trim().endsWith("kB") ? number * 1024 : number);
  }
  return values;
}

export function parseVmstat(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split("\n")) {
    const [key, value] = line.trim().split(/\s+/);
    if (key && value !== undefined) values.set(key, Number(value));
  }
  return values;
}

export interface HostMemory {
  readonly totalBytes: number;
  readonly availableBytes: number;
  readonly usageBytes: number;
  /** Usage minus inactive file pages, as for a cgroup. */
  readonly workingSetBytes: number;
  readonly rssBytes: number;
  readonly pageFaults: number;
  readonly majorPageFaults: number;
}

export function hostMemory(meminfo: Map<string, number>, vmstat: Map<string, number>): HostMemory {
  const total = meminfo.get("MemTotal") ?? 0;
  const free = meminfo.get("MemFree") ?? 0;
  const usage = Math.max(0, total - free);
  return {
    totalBytes: total,
    availableBytes: meminfo.get("MemAvailable") ?? free,
    usageBytes: usage,
    workingSetBytes: Math.max(0, usage - (meminfo.get("Inactive(file)") ?? 0)),
    rssBytes: meminfo.get("AnonPages") ?? 0,
    pageFaults: vmstat.get("pgfault") ?? 0,
    majorPageFaults: vmstat.get("pgmajfault") ?? 0,
  };
}

/** Interfaces of /proc/<pid>/net/dev, loopback left out (traffic inside the pod is not usage). */
export function parseNetDev(text: string): NetworkInterfaceSample[] {
  const interfaces: NetworkInterfaceSample[] = [];
  for (const line of text.split("\n")) {
    const colon = line.indexOf(":");
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim();
    const fields = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/)
      .map(Number);
    // Receive: bytes packets errs drop fifo frame compressed multicast; then transmit: the same.
    if (name === "lo" || fields.length < 16 || fields.some((f) => !Number.isFinite(f))) continue;
    interfaces.push({
      name,
      rxBytes: fields[0] ?? 0,
      rxErrors: fields[2] ?? 0,
      txBytes: fields[8] ?? 0,
      txErrors: fields[10] ?? 0,
    });
  }
  return interfaces;
}

export class ProcReader {
  constructor(private readonly procRoot: string = "/proc") {}

  async stat(): Promise<ProcStat> {
    return parseProcStat(await readFile(join(this.procRoot, "stat"), "utf8"));
  }

  async memory(): Promise<HostMemory> {
    const [meminfo, vmstat] = await Promise.all([
      readFile(join(this.procRoot, "meminfo"), "utf8"),
      readFile(join(this.procRoot, "vmstat"), "utf8").catch(() => ""),
    ]);
    return hostMemory(parseMeminfo(meminfo), parseVmstat(vmstat));
  }

  /** undefined when the process is gone. */
  async netDev(pid: number): Promise<NetworkInterfaceSample[] | undefined> {
    try {
      return parseNetDev(await readFile(join(this.procRoot, String(pid), "net", "dev"), "utf8"));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOENT" || code === "ESRCH" || code === "EINVAL") return undefined;
      throw err;
    }
  }
}
