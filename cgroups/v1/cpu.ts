// cgroup v1 cpu controller, read only: CFS throttling counters from cpu.stat.
import type { ControllerStatsReader } from "../controller.js";
import { readOptionalFile } from "../files.js";
import { parseFlatKeyed } from "../parse.js";

export interface CpuThrottlingV1 {
  readonly nrPeriods: number;
  readonly nrThrottled: number;
  readonly throttledNanos: number;
}

export function parseCpuStatV1(text: string): CpuThrottlingV1 {
  const values = parseFlatKeyed(text);
  return {
    nrPeriods: values.get("nr_periods") ?? 0,
    nrThrottled: values.get("nr_throttled") ?? 0,
    throttledNanos: values.get("throttled_time") ?? 0,
  };
}

export async function readCpuV1(dir: string): Promise<CpuThrottlingV1 | undefined> {
  const text = await readOptionalFile(dir, "cpu.stat");
  return text === undefined ? undefined : parseCpuStatV1(text);
}

export const cpuV1: ControllerStatsReader<CpuThrottlingV1> = { name: "cpu", read: readCpuV1 };
