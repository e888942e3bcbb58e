// cgroup v1 cpuacct controller: total CPU time in nanoseconds (cpuacct.usage) and its
// user/system split in USER_HZ ticks (cpuacct.stat).
import type { ControllerStatsReader } from "../controller.js";
import { readOptionalFile } from "../files.js";
import { parseFlatKeyed, parseUint } from "../parse.js";

export interface CpuacctStats {
  readonly usageNanos: number;
  readonly userTicks: number;
  readonly systemTicks: number;
}

/** USER_HZ is 100 on every Linux architecture berth runs on; it is part of the user ABI. */
export const DEFAULT_USER_HZ = 100;

export function parseCpuacctUsage(text: string): number {
  return parseUint(text, "cpuacct.usage");
}

export function parseCpuacctStat(text: string): { userTicks: number; systemTicks: number } {
  const values = parseFlatKeyed(text);
  return { userTicks: values.get("user") ?? 0, systemTicks: values.get("system") ?? 0 };
}

export function ticksToNanos(ticks: number, userHz: number = DEFAULT_USER_HZ): number {
  return Math.round((ticks * 1e9) / userHz);
}

export async function readCpuacctV1(dir: string): Promise<CpuacctStats | undefined> {
  const [usage, stat] = await Promise.all([
    readOptionalFile(dir, "cpuacct.usage"),
    readOptionalFile(dir, "cpuacct.stat"),
  ]);
  if (usage === undefined) return undefined;
  return {
    usageNanos: parseCpuacctUsage(usage),
    ...(stat === undefined ? { userTicks: 0, systemTicks: 0 } : parseCpuacctStat(stat)),
  };
}

export const cpuacctV1: ControllerStatsReader<CpuacctStats> = { name: "cpuacct", read: readCpuacctV1 };
