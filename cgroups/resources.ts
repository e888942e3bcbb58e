// Kubernetes resources to cgroup v2 values, with the kubelet's own formulas so that the
// numbers in cpu.weight and cpu.max are the ones operators already know, and the writer that
// puts them into a cgroup.
import { join } from "node:path";
import { InvalidArgumentError } from "../common/errors.js";
import { DEFAULT_CGROUP_ROOT } from "./detect.js";
import { requireCgroupDir } from "./files.js";
import { cgroupPathSegments } from "./paths.js";
import {
  DEFAULT_CPU_PERIOD_USEC,
  validateCpuMax,
  validateCpuWeight,
  writeCpuMax,
  writeCpuWeight,
  type CpuMax,
} from "./v2/cpu.js";
import { validateCpusetList, writeCpusetCpus, writeCpusetMems } from "./v2/cpuset.js";
import { validateMemoryBytes, writeMemoryMax, writeMemorySwapMax } from "./v2/memory.js";
import { validatePidsMax, writePidsMax } from "./v2/pids.js";

export const MIN_SHARES = 2;
export const MAX_SHARES = 262_144;
export const SHARES_PER_CPU = 1024;
const MILLI_CPU_PER_CPU = 1000;
/** The smallest quota the kubelet sets: 1 ms per period. */
export const MIN_QUOTA_USEC = 1000;

function requireMilliCpu(field: string, milliCpu: number): void {
  if (!Number.isSafeInteger(milliCpu) || milliCpu < 0) {
    throw new InvalidArgumentError(field, "must be a non-negative integer of millicores");
  }
}

/** A CPU request in millicores as cgroup v1 cpu.shares (0 -> the minimum, 2). */
export function milliCpuToShares(milliCpu: number): number {
  requireMilliCpu("cpuRequestMilli", milliCpu);
  if (milliCpu === 0) return MIN_SHARES;
  const shares = Math.floor((milliCpu * SHARES_PER_CPU) / MILLI_CPU_PER_CPU);
  return Math.min(MAX_SHARES, Math.max(MIN_SHARES, shares));
}

/** cpu.shares mapped linearly onto cgroup v2 cpu.weight: 2 -> 1, 262144 -> 10000. */
export function sharesToCpuWeight(shares: number): number {
  if (!Number.isSafeInteger(shares) || shares < MIN_SHARES || shares > MAX_SHARES) {
    throw new InvalidArgumentError("cpuShares", `must be an integer in ${MIN_SHARES}..${MAX_SHARES}`);
  }
  return 1 + Math.floor(((shares - MIN_SHARES) * 9999) / (MAX_SHARES - MIN_SHARES));
}

/** A CPU limit in millicores as a CFS quota per period; 0 means no limit and returns 0. */
export function milliCpuToQuota(milliCpu: number, periodUsec: number = DEFAULT_CPU_PERIOD_USEC): number {
  requireMilliCpu("cpuLimitMilli", milliCpu);
  if (milliCpu === 0) return 0;
  const quota = Math.floor((milliCpu * periodUsec) / MILLI_CPU_PER_CPU);
  return Math.max(MIN_QUOTA_USEC, quota);
}

/** A CPU limit as cpu.max; no limit (undefined or 0) is "max". */
export function milliCpuToCpuMax(
  milliCpu: number | undefined,
  periodUsec: number = DEFAULT_CPU_PERIOD_USEC,
): CpuMax {
  const quota = milliCpu === undefined ? 0 : milliCpuToQuota(milliCpu, periodUsec);
  return { quotaUsec: quota === 0 ? undefined : quota, periodUsec };
}

/** A memory limit in bytes as memory.max; no limit (undefined or 0, as Kubernetes means it) is "max". */
export function memoryLimitToMemoryMax(bytes: number | undefined): number | "max" {
  if (bytes === undefined || bytes === 0) return "max";
  if (!Number.isSafeInteger(bytes) || bytes < 0) {
    throw new InvalidArgumentError("memoryLimitBytes", "must be a non-negative integer of bytes");
  }
  return bytes;
}

/** cgroup v2 values to write; only the fields given are written. */
export interface CgroupResources {
  readonly cpuWeight?: number;
  readonly cpuMax?: CpuMax;
  readonly memoryMax?: number | "max";
  readonly memorySwapMax?: number | "max";
  readonly pidsMax?: number | "max";
  readonly cpusetCpus?: string;
  readonly cpusetMems?: string;
}

export interface KubernetesResources {
  readonly cpuRequestMilli?: number;
  readonly cpuLimitMilli?: number;
  readonly memoryLimitBytes?: number;
  readonly cpuPeriodUsec?: number;
}

/** A container's or pod's requests and limits as cgroup v2 resources, by the kubelet's rules. */
export function toCgroupResources(resources: KubernetesResources): CgroupResources {
  return {
    cpuWeight: sharesToCpuWeight(milliCpuToShares(resources.cpuRequestMilli ?? 0)),
    cpuMax: milliCpuToCpuMax(resources.cpuLimitMilli, resources.cpuPeriodUsec),
    memoryMax: memoryLimitToMemoryMax(resources.memoryLimitBytes),
  };
}

/** Throws InvalidArgumentError naming the first field the kernel would refuse. */
export function validateResources(resources: CgroupResources): void {
  const { cpusetCpus, cpusetMems, cpuWeight, cpuMax, memoryMax, memorySwapMax, pidsMax } = resources;
  if (cpusetCpus !== undefined) validateCpusetList("cpusetCpus", cpusetCpus);
  if (cpusetMems !== undefined) validateCpusetList("cpusetMems", cpusetMems);
  if (cpuWeight !== undefined) validateCpuWeight(cpuWeight);
  if (cpuMax !== undefined) validateCpuMax(cpuMax);
  if (memoryMax !== undefined) validateMemoryBytes("memoryMax", memoryMax);
  if (memorySwapMax !== undefined) validateMemoryBytes("memorySwapMax", memorySwapMax);
  if (pidsMax !== undefined) validatePidsMax(pidsMax);
}

/**
 * Writes resources into the cgroup v2 directory `<root>/<path>`. Every value is validated before
 * anything is written, so bad input leaves the cgroup untouched. cpuset goes first so that the
 * cgroup's placement is right before its weights and limits apply.
 */
export async function applyResources(
  path: string,
  resources: CgroupResources,
  root: string = DEFAULT_CGROUP_ROOT,
): Promise<void> {
  validateResources(resources);
  const dir = join(root, ...cgroupPathSegments(path));
  await requireCgroupDir(dir, path);
  const { cpusetCpus, cpusetMems, cpuWeight, cpuMax, memoryMax, memorySwapMax, pidsMax } = resources;
  if (cpusetCpus !== undefined) await writeCpusetCpus(dir, cpusetCpus);
  if (cpusetMems !== undefined) await writeCpusetMems(dir, cpusetMems);
  if (cpuWeight !== undefined) await writeCpuWeight(dir, cpuWeight);
  if (cpuMax !== undefined) await writeCpuMax(dir, cpuMax);
  if (memoryMax !== undefined) await writeMemoryMax(dir, memoryMax);
  if (memorySwapMax !== undefined) await writeMemorySwapMax(dir, memorySwapMax);
  if (pidsMax !== undefined) await writePidsMax(dir, pidsMax);
}
