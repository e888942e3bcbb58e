// cgroup v2 memory controller: usage, limit, the full memory.stat, OOM event counters, peak
// and swap. Working set follows the kubelet/cAdvisor definition: usage minus inactive file
// pages, which the kernel can drop without touching the workload.
import { InvalidArgumentError } from "../../common/errors.js";
import type { ControllerStatsReader } from "../controller.js";
import { readOptionalFile, writeCgroupFile } from "../files.js";
import { formatLimit, parseFlatKeyed, parseLimit, parseUint, toRecord, type Limit } from "../parse.js";

export interface MemoryEventsV2 {
  readonly low: number;
  readonly high: number;
  readonly max: number;
  readonly oom: number;
  readonly oomKill: number;
  readonly oomGroupKill: number;
}

export interface MemoryV2Stats {
  readonly currentBytes: number;
  /** undefined when memory.max is "max". */
  readonly maxBytes: Limit;
  readonly stat: Readonly<Record<string, number>>;
  readonly workingSetBytes: number;
  readonly events: MemoryEventsV2;
  /** memory.peak exists since Linux 5.19. */
  readonly peakBytes?: number;
  /** memory.swap.current exists only with swap accounting. */
  readonly swapCurrentBytes?: number;
}

export function parseMemoryStat(text: string): Record<string, number> {
  return toRecord(parseFlatKeyed(text));
}

export function parseMemoryEvents(text: string): MemoryEventsV2 {
  const values = parseFlatKeyed(text);
  return {
    low: values.get("low") ?? 0,
    high: values.get("high") ?? 0,
    max: values.get("max") ?? 0,
    oom: values.get("oom") ?? 0,
    oomKill: values.get("oom_kill") ?? 0,
    oomGroupKill: values.get("oom_group_kill") ?? 0,
  };
}

/** Usage minus inactive file pages, never below zero (the two are sampled at different instants). */
export function workingSetBytes(usageBytes: number, inactiveFileBytes: number | undefined): number {
  return Math.max(0, usageBytes - (inactiveFileBytes ?? 0));
}

const NO_EVENTS: MemoryEventsV2 = { low: 0, high: 0, max: 0, oom: 0, oomKill: 0, oomGroupKill: 0 };

export async function readMemoryV2(dir: string): Promise<MemoryV2Stats | undefined> {
  const [current, max, stat, events, peak, swap] = await Promise.all([
    readOptionalFile(dir, "memory.current"),
    readOptionalFile(dir, "memory.max"),
    readOptionalFile(dir, "memory.stat"),
    readOptionalFile(dir, "memory.events"),
    readOptionalFile(dir, "memory.peak"),
    readOptionalFile(dir, "memory.swap.current"),
  ]);
  if (current === undefined) return undefined;
  const currentBytes = parseUint(current, "memory.current");
  const statValues = stat === undefined ? {} : parseMemoryStat(stat);
  return {
    currentBytes,
    maxBytes: max === undefined ? undefined : parseLimit(max, "memory.max"),
    stat: statValues,
    workingSetBytes: workingSetBytes(currentBytes, statValues["inactive_file"]),
    events: events === undefined ? NO_EVENTS : parseMemoryEvents(events),
    ...(peak !== undefined && { peakBytes: parseUint(peak, "memory.peak") }),
    ...(swap !== undefined && { swapCurrentBytes: parseUint(swap, "memory.swap.current") }),
  };
}

export function validateMemoryBytes(field: string, value: number | "max"): void {
  if (value !== "max" && (!Number.isSafeInteger(value) || value < 0)) {
    throw new InvalidArgumentError(field, `must be "max" or a non-negative integer of bytes`);
  }
}

export async function writeMemoryMax(dir: string, bytes: number | "max"): Promise<void> {
  validateMemoryBytes("memoryMax", bytes);
  await writeCgroupFile(dir, "memory.max", formatLimit(bytes));
}

export async function writeMemorySwapMax(dir: string, bytes: number | "max"): Promise<void> {
  validateMemoryBytes("memorySwapMax", bytes);
  await writeCgroupFile(dir, "memory.swap.max", formatLimit(bytes));
}

export const memoryV2: ControllerStatsReader<MemoryV2Stats> = { name: "memory", read: readMemoryV2 };
