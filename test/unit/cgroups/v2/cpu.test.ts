import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FailedPreconditionError, InvalidArgumentError } from "../../../../common/errors.js";
import {
  formatCpuMax,
  parseCpuMax,
  parseCpuStat,
  readCpuV2,
  writeCpuMax,
  writeCpuWeight,
} from "../../../../cgroups/v2/cpu.js";
import { V2_CPU_STAT, makeTempRoot, removeTempRoot, writeTree } from "../fixtures.js";

describe("v2 cpu parsing", () => {
  it("reads the usage and throttling counters and keeps every key", () => {
    const stat = parseCpuStat(V2_CPU_STAT);
    expect(stat).toMatchObject({
      usageUsec: 8214093,
      userUsec: 5631402,
      systemUsec: 2582691,
      nrPeriods: 1402,
      nrThrottled: 37,
      throttledUsec: 1893311,
    });
    expect(stat.all["nr_bursts"]).toBe(0);
    expect(stat.all["core_sched.force_idle_usec"]).toBe(0);
  });

  it("reads zero throttling where the cpu controller is not enabled", () => {
    expect(parseCpuStat("usage_usec 10\nuser_usec 6\nsystem_usec 4\n")).toMatchObject({
      usageUsec: 10,
      nrPeriods: 0,
      throttledUsec: 0,
    });
  });

  it("parses and formats cpu.max", () => {
    expect(parseCpuMax("max 100000\n")).toEqual({ quotaUsec: undefined, periodUsec: 100000 });
    expect(parseCpuMax("50000 100000\n")).toEqual({ quotaUsec: 50000, periodUsec: 100000 });
    expect(parseCpuMax("max")).toEqual({ quotaUsec: undefined, periodUsec: 100000 });
    expect(formatCpuMax({ quotaUsec: undefined, periodUsec: 20000 })).toBe("max 20000");
    expect(formatCpuMax({ quotaUsec: 25000, periodUsec: 50000 })).toBe("25000 50000");
  });
});

describe("v2 cpu files", () => {
  let root: string;
  beforeEach(async () => {
    root = await makeTempRoot();
  });
  afterEach(async () => {
    await removeTempRoot(root);
  });

  it("reads cpu.stat, cpu.weight and cpu.max", async () => {
    await writeTree(root, { "cpu.stat": V2_CPU_STAT, "cpu.weight": "39\n", "cpu.max": "max 100000\n" });
    const stats = await readCpuV2(root);
    expect(stats?.stat.usageUsec).toBe(8214093);
    expect(stats?.weight).toBe(39);
    expect(stats?.max).toEqual({ quotaUsec: undefined, periodUsec: 100000 });
  });

  it("reads undefined when there is no cpu.stat", async () => {
    expect(await readCpuV2(root)).toBeUndefined();
  });

  it("writes cpu.weight and cpu.max into existing files only", async () => {
    await writeTree(root, { "cpu.weight": "100\n", "cpu.max": "max 100000\n" });
    await writeCpuWeight(root, 4);
    await writeCpuMax(root, { quotaUsec: 50000, periodUsec: 100000 });
    expect(await readFile(join(root, "cpu.weight"), "utf8")).toBe("4");
    expect(await readFile(join(root, "cpu.max"), "utf8")).toBe("50000 100000");
  });

  it("refuses out-of-range values before writing", async () => {
    await writeTree(root, { "cpu.weight": "100\n", "cpu.max": "max 100000\n" });
    await expect(writeCpuWeight(root, 0)).rejects.toThrow(InvalidArgumentError);
    await expect(writeCpuWeight(root, 10001)).rejects.toThrow(InvalidArgumentError);
    await expect(writeCpuMax(root, { quotaUsec: 999, periodUsec: 100000 })).rejects.toThrow(/quotaUsec/);
    await expect(writeCpuMax(root, { quotaUsec: undefined, periodUsec: 2_000_000 })).rejects.toThrow(
      /periodUsec/,
    );
    expect(await readFile(join(root, "cpu.weight"), "utf8")).toBe("100\n");
  });

  it("reports a missing interface file as a controller that is not enabled", async () => {
    await expect(writeCpuWeight(root, 50)).rejects.toThrow(FailedPreconditionError);
  });
});
