import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FailedPreconditionError, InvalidArgumentError, NotFoundError } from "../../../common/errors.js";
import {
  applyResources,
  memoryLimitToMemoryMax,
  milliCpuToCpuMax,
  milliCpuToQuota,
  milliCpuToShares,
  sharesToCpuWeight,
  toCgroupResources,
} from "../../../cgroups/resources.js";
import { makeTempRoot, removeTempRoot, writeTree } from "./fixtures.js";

describe("kubelet formulas", () => {
  it.each([
    [0, 2],
    [1, 2],
    [2, 2],
    [10, 10],
    [100, 102],
    [250, 256],
    [500, 512],
    [1000, 1024],
    [4000, 4096],
    [256_000, 262_144],
    [300_000, 262_144],
  ])("%im -> %i cpu shares", (milliCpu, shares) => {
    expect(milliCpuToShares(milliCpu)).toBe(shares);
  });

  it.each([
    [2, 1],
    [102, 4],
    [256, 10],
    [512, 20],
    [1024, 39],
    [4096, 157],
    [262_144, 10_000],
  ])("%i shares -> cpu.weight %i", (shares, weight) => {
    expect(sharesToCpuWeight(shares)).toBe(weight);
  });

  it.each([
    [500, 100_000, 50_000],
    [1000, 100_000, 100_000],
    [2500, 100_000, 250_000],
    [500, 50_000, 25_000],
    // Below 1 ms per period the kubelet rounds up to its minimum quota.
    [1, 100_000, 1000],
    [0, 100_000, 0],
  ])("limit %im with period %i -> quota %i", (milliCpu, period, quota) => {
    expect(milliCpuToQuota(milliCpu, period)).toBe(quota);
  });

  it("maps no CPU limit to max", () => {
    expect(milliCpuToCpuMax(undefined)).toEqual({ quotaUsec: undefined, periodUsec: 100_000 });
    expect(milliCpuToCpuMax(0)).toEqual({ quotaUsec: undefined, periodUsec: 100_000 });
    expect(milliCpuToCpuMax(500)).toEqual({ quotaUsec: 50_000, periodUsec: 100_000 });
  });

  it("maps memory limits to memory.max", () => {
    expect(memoryLimitToMemoryMax(undefined)).toBe("max");
    expect(memoryLimitToMemoryMax(0)).toBe("max");
    expect(memoryLimitToMemoryMax(128 * 1024 * 1024)).toBe(134_217_728);
    expect(() => memoryLimitToMemoryMax(-5)).toThrow(InvalidArgumentError);
  });

  it("rejects negative or fractional inputs", () => {
    expect(() => milliCpuToShares(-1)).toThrow(InvalidArgumentError);
    expect(() => milliCpuToQuota(0.5)).toThrow(InvalidArgumentError);
    expect(() => sharesToCpuWeight(1)).toThrow(InvalidArgumentError);
  });

  it("turns requests and limits into cgroup v2 resources", () => {
    expect(
      toCgroupResources({ cpuRequestMilli: 100, cpuLimitMilli: 500, memoryLimitBytes: 67_108_864 }),
    ).toEqual({
      cpuWeight: 4,
      cpuMax: { quotaUsec: 50_000, periodUsec: 100_000 },
      memoryMax: 67_108_864,
    });
    // BestEffort: no requests, no limits.
    expect(toCgroupResources({})).toEqual({
      cpuWeight: 1,
      cpuMax: { quotaUsec: undefined, periodUsec: 100_000 },
      memoryMax: "max",
    });
  });
});

describe("applyResources", () => {
  let root: string;
  const files = {
    "c/cpu.weight": "100\n",
    "c/cpu.max": "max 100000\n",
    "c/memory.max": "max\n",
    "c/memory.swap.max": "max\n",
    "c/pids.max": "max\n",
    "c/cpuset.cpus": "\n",
    "c/cpuset.mems": "\n",
  };
  const read = (name: string): Promise<string> => readFile(join(root, "c", name), "utf8");

  beforeEach(async () => {
    root = await makeTempRoot();
  });
  afterEach(async () => {
    await removeTempRoot(root);
  });

  it("writes every given value into its file", async () => {
    await writeTree(root, files);
    await applyResources(
      "/c",
      {
        cpuWeight: 39,
        cpuMax: { quotaUsec: 50_000, periodUsec: 100_000 },
        memoryMax: 268_435_456,
        memorySwapMax: 0,
        pidsMax: 1024,
        cpusetCpus: "0-1",
        cpusetMems: "0",
      },
      root,
    );
    expect(await read("cpu.weight")).toBe("39");
    expect(await read("cpu.max")).toBe("50000 100000");
    expect(await read("memory.max")).toBe("268435456");
    expect(await read("memory.swap.max")).toBe("0");
    expect(await read("pids.max")).toBe("1024");
    expect(await read("cpuset.cpus")).toBe("0-1");
    expect(await read("cpuset.mems")).toBe("0");
  });

  it("writes only what is given", async () => {
    await writeTree(root, files);
    await applyResources("c", { memoryMax: "max", pidsMax: 64 }, root);
    expect(await read("pids.max")).toBe("64");
    expect(await read("memory.max")).toBe("max");
    expect(await read("cpu.weight")).toBe("100\n");
    expect(await read("cpu.max")).toBe("max 100000\n");
  });

  it("validates everything before writing anything", async () => {
    await writeTree(root, files);
    await expect(applyResources("c", { cpuWeight: 50, pidsMax: -3 }, root)).rejects.toThrow(
      InvalidArgumentError,
    );
    expect(await read("cpu.weight")).toBe("100\n");
  });

  it("throws NotFoundError for a missing cgroup", async () => {
    await expect(applyResources("nope", { cpuWeight: 10 }, root)).rejects.toBeInstanceOf(NotFoundError);
  });

  it("reports a file the kernel does not offer (no swap accounting)", async () => {
    await writeTree(root, { "c/memory.max": "max\n" });
    await expect(applyResources("c", { memorySwapMax: 0 }, root)).rejects.toThrow(FailedPreconditionError);
  });
});
