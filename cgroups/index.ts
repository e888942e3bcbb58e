// The cgroups module's public surface: layout detection, path resolution, stats, OOM kill
// watching, resource formulas and writers, and cgroup creation/removal.
export { DEFAULT_CGROUP_ROOT, detectHostLayout, detectLayout } from "./detect.js";
export type { CgroupLayout, CgroupMode } from "./detect.js";
export { resolveCgroupDirs, distinctDirs } from "./paths.js";
export type { CgroupDirs } from "./paths.js";
export { createStatsReader, V1StatsReader, V2StatsReader } from "./stats.js";
export type { CgroupStats, CgroupStatsReader, CpuUsage, IoUsage, MemoryUsage, PidsUsage } from "./stats.js";
export type { Pressure, PressureLine, PsiStats } from "./v2/psi.js";
export { watchOomKills } from "./oom-watcher.js";
export type { OomKillEvent, OomWatcher, OomWatcherOptions } from "./oom-watcher.js";
export {
  applyResources,
  memoryLimitToMemoryMax,
  milliCpuToCpuMax,
  milliCpuToQuota,
  milliCpuToShares,
  sharesToCpuWeight,
  toCgroupResources,
  validateResources,
} from "./resources.js";
export type { CgroupResources, KubernetesResources } from "./resources.js";
export { CgroupManager, MANAGED_V2_CONTROLLERS } from "./manager.js";
export type { CgroupManagerOptions } from "./manager.js";
