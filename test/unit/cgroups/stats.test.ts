import { rm } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Clock } from "../../../common/clock.js";
import { FailedPreconditionError, NotFoundError } from "../../../common/errors.js";
import { detectLayout } from "../../../cgroups/detect.js";
import { createStatsReader, V1StatsReader, V2StatsReader } from "../../../cgroups/stats.js";
import {
  HYBRID_MOUNTINFO,
  HYBRID_PROC_CGROUP,
  LEGACY_MOUNTINFO,
  LEGACY_PROC_CGROUP,
  PSI_WITH_FULL,
  UNIFIED_MOUNTINFO,
  UNIFIED_PROC_CGROUP,
  V1_UNLIMITED,
  makeTempRoot,
  removeTempRoot,
  v1CgroupFiles,
  v2CgroupFiles,
  writeTree,
} from "./fixtures.js";

const clock: Clock = { now: () => 1_700_000_000_123, nowNanos: () => 1_700_000_000_123_000_000n };
const unified = detectLayout({ mountinfo: UNIFIED_MOUNTINFO, procCgroup: UNIFIED_PROC_CGROUP });
const hybrid = detectLayout({ mountinfo: HYBRID_MOUNTINFO, procCgroup: HYBRID_PROC_CGROUP });
const legacy = detectLayout({ mountinfo: LEGACY_MOUNTINFO, procCgroup: LEGACY_PROC_CGROUP });

let root: string;
beforeEach(async () => {
  root = await makeTempRoot();
});
afterEach(async () => {
  await removeTempRoot(root);
});

describe("createStatsReader", () => {
  it("picks v2 on unified hosts and v1 otherwise", () => {
    expect(createStatsReader(unified, root)).toBeInstanceOf(V2StatsReader);
    expect(createStatsReader(hybrid, root)).toBeInstanceOf(V1StatsReader);
    expect(createStatsReader(legacy, root).version).toBe("v1");
  });

  it("refuses a v1 host without cpuacct or memory hierarchies", () => {
    const noMemory = { ...legacy, v1Mounts: { cpu: "cpu,cpuacct", cpuacct: "cpu,cpuacct" } };
    expect(() => createStatsReader(noMemory, root)).toThrow(FailedPreconditionError);
  });
});

describe("V2StatsReader", () => {
  it("normalizes a container cgroup", async () => {
    await writeTree(root, v2CgroupFiles("berth/pods/burstable/pod-1/app"));
    const stats = await createStatsReader(unified, root, { clock }).read("berth/pods/burstable/pod-1/app");
    expect(stats.timestamp).toBe(1_700_000_000_123);
    expect(stats.cpu).toEqual({
      usageNanos: 8_214_093_000,
      userNanos: 5_631_402_000,
      systemNanos: 2_582_691_000,
      periods: 1402,
      throttledPeriods: 37,
      throttledNanos: 1_893_311_000,
    });
    expect(stats.memory).toEqual({
      usageBytes: 7340032,
      workingSetBytes: 7340032 - 3104768,
      rssBytes: 1851392,
      pageFaults: 9523,
      majorPageFaults: 41,
      limitBytes: 268435456,
      oomEvents: 2,
      oomKillEvents: 1,
      peakBytes: 9437184,
      swapBytes: 0,
    });
    expect(stats.pids).toEqual({ current: 3, limit: 1024 });
    expect(stats.io).toMatchObject({
      readBytes: 1459200 + 4096,
      writeBytes: 314773504 + 8192,
      readOps: 193,
      writeOps: 355,
      discardBytes: 512,
      discardOps: 1,
    });
    expect(stats.io?.devices).toHaveLength(2);
    expect(stats.psi?.cpu?.full?.avg10).toBe(0.75);
    expect(stats.psi?.io?.full).toBeUndefined();
  });

  it("leaves out limits that are max, and io and psi the kernel does not offer", async () => {
    const files = v2CgroupFiles("c", { "memory.max": "max\n", "pids.max": "max\n" });
    for (const name of ["io.stat", "cpu.pressure", "memory.pressure", "io.pressure"])
      delete files[join("c", name)];
    await writeTree(root, files);
    const stats = await createStatsReader(unified, root).read("/c");
    expect("limitBytes" in stats.memory).toBe(false);
    expect("limit" in stats.pids).toBe(false);
    expect(stats.io).toBeUndefined();
    expect(stats.psi).toBeUndefined();
  });

  it("reads zero usage for controllers that are not enabled", async () => {
    await writeTree(root, {
      "c/cgroup.procs": "",
      "c/cpu.stat": "usage_usec 5\nuser_usec 3\nsystem_usec 2\n",
    });
    const stats = await createStatsReader(unified, root).read("c");
    expect(stats.cpu.usageNanos).toBe(5000);
    expect(stats.cpu.periods).toBe(0);
    expect(stats.memory.usageBytes).toBe(0);
    expect(stats.memory.oomKillEvents).toBe(0);
    expect(stats.pids.current).toBe(0);
  });

  it("throws NotFoundError for a missing cgroup", async () => {
    const read = createStatsReader(unified, root).read("no/such/cgroup");
    await expect(read).rejects.toBeInstanceOf(NotFoundError);
    await expect(read).rejects.toMatchObject({ kind: "cgroup", id: "no/such/cgroup" });
  });
});

describe("V1StatsReader", () => {
  const hybridFiles = () =>
    v1CgroupFiles({
      cpu: "cpu/berth-x",
      memory: "memory/process_api/d9dc5d6c/berth-x",
      pids: "pids/berth-x",
    });

  it("reads a relative path under the process's own cgroup of each controller", async () => {
    await writeTree(root, {
      ...hybridFiles(),
      // cpuacct is a hierarchy of its own on this layout.
      "cpuacct/berth-x/cpuacct.usage": "68245449246\n",
      "cpuacct/berth-x/cpuacct.stat": "user 4082\nsystem 2741\n",
      "unified/system.slice/berth.service/berth-x/cpu.pressure": PSI_WITH_FULL,
    });
    const stats = await createStatsReader(hybrid, root, { clock }).read("berth-x");
    expect(stats.timestamp).toBe(1_700_000_000_123);
    expect(stats.cpu).toEqual({
      usageNanos: 68245449246,
      userNanos: 40_820_000_000,
      systemNanos: 27_410_000_000,
      periods: 500,
      throttledPeriods: 20,
      throttledNanos: 734210887,
    });
    expect(stats.memory).toEqual({
      usageBytes: 4558848,
      workingSetBytes: 4558848 - 212992,
      rssBytes: 3342336,
      pageFaults: 54096,
      majorPageFaults: 52,
      limitBytes: 536870912,
      oomEvents: 3,
      oomKillEvents: 3,
      peakBytes: 6234112,
      swapBytes: 0,
    });
    expect(stats.pids).toEqual({ current: 5 });
    expect(stats.io).toBeUndefined();
    // PSI comes from the cgroup2 companion directory on hybrid hosts.
    expect(stats.psi?.cpu?.some.totalUsec).toBe(8980558);
  });

  it("honours a USER_HZ other than 100", async () => {
    await writeTree(root, v1CgroupFiles({ cpu: "cpu,cpuacct/x", memory: "memory/x", pids: "pids/x" }));
    const stats = await createStatsReader(legacy, root, { userHz: 250 }).read("/x");
    expect(stats.cpu.userNanos).toBe(4082 * 4_000_000);
  });

  it("reads a hierarchy root, which has no pids files and no limit", async () => {
    await writeTree(root, {
      "cpu,cpuacct/cpuacct.usage": "1000\n",
      "memory/memory.usage_in_bytes": "2000\n",
      "memory/memory.limit_in_bytes": V1_UNLIMITED,
      "pids/cgroup.procs": "1\n",
    });
    const stats = await createStatsReader(legacy, root).read("/");
    expect(stats.cpu.usageNanos).toBe(1000);
    expect(stats.cpu.userNanos).toBe(0);
    expect(stats.memory.usageBytes).toBe(2000);
    expect(stats.memory.workingSetBytes).toBe(2000);
    expect("limitBytes" in stats.memory).toBe(false);
    expect(stats.pids).toEqual({ current: 0 });
  });

  it("throws NotFoundError when the cgroup is missing from a required hierarchy", async () => {
    await writeTree(root, hybridFiles());
    await writeTree(root, { "cpuacct/berth-x/cpuacct.usage": "1\n" });
    await rm(join(root, "memory/process_api/d9dc5d6c/berth-x"), { recursive: true });
    await expect(createStatsReader(hybrid, root).read("berth-x")).rejects.toMatchObject({
      kind: "cgroup",
      id: "berth-x",
    });
  });
});
