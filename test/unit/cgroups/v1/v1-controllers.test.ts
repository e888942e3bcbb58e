import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseCpuStatV1, readCpuV1 } from "../../../../cgroups/v1/cpu.js";
import { parseCpuacctStat, readCpuacctV1, ticksToNanos } from "../../../../cgroups/v1/cpuacct.js";
import {
  hierarchicalStat,
  parseMemoryStatV1,
  parseOomControl,
  readMemoryV1,
} from "../../../../cgroups/v1/memory.js";
import { pidsV1 } from "../../../../cgroups/v1/pids.js";
import {
  V1_MEMORY_STAT,
  V1_OOM_CONTROL,
  V1_UNLIMITED,
  makeTempRoot,
  removeTempRoot,
  v1CgroupFiles,
  writeTree,
} from "../fixtures.js";

describe("v1 parsing", () => {
  it("reads cpuacct.stat ticks and converts them at USER_HZ", () => {
    expect(parseCpuacctStat("user 4082\nsystem 2741\n")).toEqual({ userTicks: 4082, systemTicks: 2741 });
    expect(ticksToNanos(4082)).toBe(40_820_000_000);
    expect(ticksToNanos(3, 250)).toBe(12_000_000);
  });

  it("reads cpu.stat throttling in nanoseconds", () => {
    expect(parseCpuStatV1("nr_periods 500\nnr_throttled 20\nthrottled_time 734210887\n")).toEqual({
      nrPeriods: 500,
      nrThrottled: 20,
      throttledNanos: 734210887,
    });
  });

  it("prefers hierarchical total_ keys of memory.stat", () => {
    const stat = parseMemoryStatV1(V1_MEMORY_STAT);
    expect(Object.keys(stat).length).toBeGreaterThan(40);
    expect(hierarchicalStat(stat, "inactive_file")).toBe(212992);
    expect(hierarchicalStat(stat, "rss")).toBe(3342336);
    expect(hierarchicalStat({ rss: 5 }, "rss")).toBe(5);
    expect(hierarchicalStat({}, "rss")).toBeUndefined();
  });

  it("reads memory.oom_control, with or without the oom_kill line", () => {
    expect(parseOomControl(V1_OOM_CONTROL)).toEqual({ oomKillDisable: false, underOom: false, oomKill: 3 });
    expect(parseOomControl("oom_kill_disable 1\nunder_oom 1\n")).toEqual({
      oomKillDisable: true,
      underOom: true,
      oomKill: 0,
    });
  });
});

describe("v1 readers", () => {
  let root: string;
  beforeEach(async () => {
    root = await makeTempRoot();
  });
  afterEach(async () => {
    await removeTempRoot(root);
  });

  it("reads one cgroup across the cpu,cpuacct, memory and pids hierarchies", async () => {
    await writeTree(root, v1CgroupFiles({ cpu: "cpu,cpuacct/c", memory: "memory/c", pids: "pids/c" }));
    expect(await readCpuacctV1(`${root}/cpu,cpuacct/c`)).toEqual({
      usageNanos: 68245449246,
      userTicks: 4082,
      systemTicks: 2741,
    });
    expect((await readCpuV1(`${root}/cpu,cpuacct/c`))?.nrThrottled).toBe(20);
    const memory = await readMemoryV1(`${root}/memory/c`);
    expect(memory).toMatchObject({
      usageBytes: 4558848,
      limitBytes: 536870912,
      maxUsageBytes: 6234112,
      failcnt: 7,
      workingSetBytes: 4558848 - 212992,
      oomControl: { oomKill: 3, underOom: false },
    });
    expect(await pidsV1.read(`${root}/pids/c`)).toEqual({ current: 5, max: undefined });
  });

  it("reads an unlimited v1 memory limit as undefined", async () => {
    await writeTree(root, { "memory.usage_in_bytes": "10\n", "memory.limit_in_bytes": V1_UNLIMITED });
    const memory = await readMemoryV1(root);
    expect(memory?.limitBytes).toBeUndefined();
    expect(memory?.oomControl.oomKill).toBe(0);
  });

  it("reads undefined where a controller has no files (the root of a pids hierarchy)", async () => {
    await writeTree(root, { "cgroup.procs": "1\n" });
    expect(await pidsV1.read(root)).toBeUndefined();
    expect(await readCpuacctV1(root)).toBeUndefined();
    expect(await readMemoryV1(root)).toBeUndefined();
  });
});
