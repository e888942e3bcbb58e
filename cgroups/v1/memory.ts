// cgroup v1 memory controller, read only. memory.stat's total_* keys cover the whole
// subtree (as v2's counters do), so they are preferred over the cgroup-local ones.
import type { ControllerStatsReader } from "../controller.js";
import { readOptionalFile } from "../files.js";
import { parseFlatKeyed, parseLimit, parseUint, toRecord, type Limit } from "../parse.js";
import { workingSetBytes } from "../v2/memory.js";

export interface OomControlV1 {
  readonly oomKillDisable: boolean;
  readonly underOom: boolean;
  /** Kills in this cgroup; the line exists since Linux 4.13 and reads 0 before. */
  readonly oomKill: number;
}

export interface MemoryV1Stats {
  readonly usageBytes: number;
  /** undefined when unlimited (v1 prints a number near 2^63). */
  readonly limitBytes: Limit;
  readonly maxUsageBytes?: number;
  /** Times usage hit the limit. */
  readonly failcnt: number;
  readonly stat: Readonly<Record<string, number>>;
  readonly workingSetBytes: number;
  readonly oomControl: OomControlV1;
}

export function parseMemoryStatV1(text: string): Record<string, number> {
  return toRecord(parseFlatKeyed(text));
}

/** The hierarchical total_<key> when present, else the cgroup-local <key>. */
export function hierarchicalStat(stat: Readonly<Record<string, number>>, key: string): number | undefined {
  return stat[`total_${key}`] ?? stat[key];
}

export function parseOomControl(text: string): OomControlV1 {
  const values = parseFlatKeyed(text);
  return {
    oomKillDisable: values.get("oom_kill_disable") === 1,
    underOom: values.get("under_oom") === 1,
    oomKill: values.get("oom_kill") ?? 0,
  };
}

const NO_OOM: OomControlV1 = { oomKillDisable: false, underOom: false, oomKill: 0 };

export async function readMemoryV1(dir: string): Promise<MemoryV1Stats | undefined> {
  const [usage, limit, maxUsage, failcnt, stat, oomControl] = await Promise.all([
    readOptionalFile(dir, "memory.usage_in_bytes"),
    readOptionalFile(dir, "memory.limit_in_bytes"),
    readOptionalFile(dir, "memory.max_usage_in_bytes"),
    readOptionalFile(dir, "memory.failcnt"),
    readOptionalFile(dir, "memory.stat"),
    readOptionalFile(dir, "memory.oom_control"),
  ]);
  if (usage === undefined) return undefined;
  const usageBytes = parseUint(usage, "memory.usage_in_bytes");
  const statValues = stat === undefined ? {} : parseMemoryStatV1(stat);
  return {
    usageBytes,
    limitBytes: limit === undefined ? undefined : parseLimit(limit, "memory.limit_in_bytes"),
    ...(maxUsage !== undefined && { maxUsageBytes: parseUint(maxUsage, "memory.max_usage_in_bytes") }),
    failcnt: failcnt === undefined ? 0 : parseUint(failcnt, "memory.failcnt"),
    stat: statValues,
    workingSetBytes: workingSetBytes(usageBytes, hierarchicalStat(statValues, "inactive_file")),
    oomControl: oomControl === undefined ? NO_OOM : parseOomControl(oomControl),
  };
}

export const memoryV1: ControllerStatsReader<MemoryV1Stats> = { name: "memory", read: readMemoryV1 };
