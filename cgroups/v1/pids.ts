// cgroup v1 pids controller, read only. Same files and format as v2, except that the
// hierarchy's root cgroup has neither file.
import type { ControllerStatsReader } from "../controller.js";
import { readPidsV2, type PidsStats } from "../v2/pids.js";

export type { PidsStats };

export const pidsV1: ControllerStatsReader<PidsStats> = { name: "pids", read: readPidsV2 };
