// cgroup v2 cpu controller: cpu.stat (usage is always there; throttling only with the cpu
// controller enabled), cpu.weight and cpu.max.
import { InvalidArgumentError } from "../../common/errors.js";
import type { ControllerStatsReader } from "../controller.js";
import { readOptionalFile, writeCgroupFile } from "../files.js";
import { parseFlatKeyed, parseUint, toRecord } from "../parse.js";

export interface CpuStatV2 {
  readonly usageUsec: number;
  readonly userUsec: number;
  readonly systemUsec: number;
  readonly nrPeriods: number;
  readonly nrThrottled: number;
  readonly throttledUsec: number;
  /** Every key of the file, including ones newer kernels add (nr_bursts, burst_usec, ...). */
  readonly all: Readonly<Record<string, number>>;
}

export interface CpuMax {
  /** Microseconds of CPU per period; undefined when unlimited ("max"). */
  readonly quotaUsec: number | undefined;
  readonly periodUsec: number;
}

export interface CpuV2Stats {
  readonly stat: CpuStatV2;
  readonly weight?: number;
  readonly max?: CpuMax;
}

export const DEFAULT_CPU_PERIOD_USEC = 100_000;
export const MIN_CPU_WEIGHT = 1;
export const MAX_CPU_WEIGHT = 10_000;
// The kernel refuses quotas below 1ms and periods outside 1ms..1s.
const MIN_QUOTA_USEC = 1_000;
const MIN_PERIOD_USEC = 1_000;
const MAX_PERIOD_USEC = 1_000_000;

export function parseCpuStat(text: string): CpuStatV2 {
  const values = parseFlatKeyed(text);
  return {
    usageUsec: values.get("usage_usec") ?? 0,
    userUsec: values.get("user_usec") ?? 0,
    systemUsec: values.get("system_usec") ?? 0,
    nrPeriods: values.get("nr_periods") ?? 0,
    nrThrottled: values.get("nr_throttled") ?? 0,
    throttledUsec: values.get("throttled_usec") ?? 0,
    all: toRecord(values),
  };
}

export function parseCpuWeight(text: string): number {
  return parseUint(text, "cpu.weight");
}

/** "max 100000" or "50000 100000"; a lone "max" keeps the default period. */
export function parseCpuMax(text: string): CpuMax {
  const [quota, period] = text.trim().split(/\s+/);
  const periodUsec = period === undefined ? DEFAULT_CPU_PERIOD_USEC : parseUint(period, "cpu.max period");
  if (quota === "max") return { quotaUsec: undefined, periodUsec };
  return { quotaUsec: parseUint(quota ?? "", "cpu.max quota"), periodUsec };
}

export function formatCpuMax(max: CpuMax): string {
  return `${max.quotaUsec === undefined ? "max" : max.quotaUsec} ${max.periodUsec}`;
}

export function validateCpuWeight(weight: number): void {
  if (!Number.isInteger(weight) || weight < MIN_CPU_WEIGHT || weight > MAX_CPU_WEIGHT) {
    throw new InvalidArgumentError("cpuWeight", `must be an integer in ${MIN_CPU_WEIGHT}..${MAX_CPU_WEIGHT}`);
  }
}

export function validateCpuMax(max: CpuMax): void {
  if (
    !Number.isInteger(max.periodUsec) ||
    max.periodUsec < MIN_PERIOD_USEC ||
    max.periodUsec > MAX_PERIOD_USEC
  ) {
    throw new InvalidArgumentError(
      "cpuMax.periodUsec",
      `must be an integer in ${MIN_PERIOD_USEC}..${MAX_PERIOD_USEC}`,
    );
  }
  if (max.quotaUsec !== undefined && (!Number.isInteger(max.quotaUsec) || max.quotaUsec < MIN_QUOTA_USEC)) {
    throw new InvalidArgumentError("cpuMax.quotaUsec", `must be an integer of at least ${MIN_QUOTA_USEC}`);
  }
}

export async function readCpuV2(dir: string): Promise<CpuV2Stats | undefined> {
  const [stat, weight, max] = await Promise.all([
    readOptionalFile(dir, "cpu.stat"),
    readOptionalFile(dir, "cpu.weight"),
    readOptionalFile(dir, "cpu.max"),
  ]);
  if (stat === undefined) return undefined;
  return {
    stat: parseCpuStat(stat),
    ...(weight !== undefined && { weight: parseCpuWeight(weight) }),
    ...(max !== undefined && { max: parseCpuMax(max) }),
  };
}

export async function writeCpuWeight(dir: string, weight: number): Promise<void> {
  validateCpuWeight(weight);
  await writeCgroupFile(dir, "cpu.weight", String(weight));
}

export async function writeCpuMax(dir: string, max: CpuMax): Promise<void> {
  validateCpuMax(max);
  await writeCgroupFile(dir, "cpu.max", formatCpuMax(max));
}

export const cpuV2: ControllerStatsReader<CpuV2Stats> = { name: "cpu", read: readCpuV2 };
