// cgroup v2 pids controller: how many tasks, and the cap.
import { InvalidArgumentError } from "../../common/errors.js";
import type { ControllerStatsReader } from "../controller.js";
import { readOptionalFile, writeCgroupFile } from "../files.js";
import { formatLimit, parseLimit, parseUint, type Limit } from "../parse.js";

export interface PidsStats {
  readonly current: number;
  /** undefined when pids.max is "max". */
  readonly max: Limit;
}

export function parsePidsCurrent(text: string): number {
  return parseUint(text, "pids.current");
}

export function parsePidsMax(text: string): Limit {
  return parseLimit(text, "pids.max");
}

export async function readPidsV2(dir: string): Promise<PidsStats | undefined> {
  const [current, max] = await Promise.all([
    readOptionalFile(dir, "pids.current"),
    readOptionalFile(dir, "pids.max"),
  ]);
  if (current === undefined) return undefined;
  return { current: parsePidsCurrent(current), max: max === undefined ? undefined : parsePidsMax(max) };
}

export function validatePidsMax(max: number | "max"): void {
  if (max !== "max" && (!Number.isSafeInteger(max) || max < 1)) {
    throw new InvalidArgumentError("pidsMax", `must be "max" or a positive integer`);
  }
}

export async function writePidsMax(dir: string, max: number | "max"): Promise<void> {
  validatePidsMax(max);
  await writeCgroupFile(dir, "pids.max", formatLimit(max));
}

export const pidsV2: ControllerStatsReader<PidsStats> = { name: "pids", read: readPidsV2 };
