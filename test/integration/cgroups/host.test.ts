// Read-only checks against this host's real cgroups (a systemd hybrid host). The only thing
// written is a uniquely named test cgroup nested under this process's own cgroups, removed again.
import { randomBytes } from "node:crypto";
import { readFile, rmdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { detectHostLayout, parseProcCgroup, DEFAULT_CGROUP_ROOT } from "../../../cgroups/detect.js";
import { CgroupManager } from "../../../cgroups/manager.js";
import { watchOomKills } from "../../../cgroups/oom-watcher.js";
import { distinctDirs } from "../../../cgroups/paths.js";
import { createStatsReader } from "../../../cgroups/stats.js";

async function exists(dir: string): Promise<boolean> {
  return stat(dir).then(
    () => true,
    () => false,
  );
}

async function ownCgroups(): Promise<Map<string, string>> {
  const own = new Map<string, string>();
  for (const entry of parseProcCgroup(await readFile("/proc/self/cgroup", "utf8"))) {
    for (const controller of entry.controllers) own.set(controller, entry.path);
  }
  return own;
}

describe("cgroups on this host", () => {
  it("detects the hybrid layout and this process's own cgroups", async () => {
    const layout = await detectHostLayout();
    expect(layout.mode).toBe("hybrid");
    expect(layout.unifiedDir).toBe("unified");
    for (const controller of ["cpu", "cpuacct", "memory", "pids"]) {
      expect(layout.v1Mounts[controller]).toBeDefined();
    }
    const own = await ownCgroups();
    expect(layout.ownV1["memory"]).toBe(own.get("memory"));
    expect(layout.ownV1["cpuacct"]).toBe(own.get("cpuacct"));
  });

  it("reads positive usage of this process's own cgroups with the v1 reader", async () => {
    const layout = await detectHostLayout();
    const reader = createStatsReader(layout);
    expect(reader.version).toBe("v1");
    const own = await ownCgroups();
    const cpuacctUsage = Number(
      await readFile(join(DEFAULT_CGROUP_ROOT, "cpuacct", own.get("cpuacct") ?? "", "cpuacct.usage"), "utf8"),
    );

    // "" is this process's own cgroup in every hierarchy.
    const stats = await reader.read("");
    expect(stats.cpu.usageNanos).toBeGreaterThanOrEqual(cpuacctUsage);
    expect(stats.cpu.usageNanos).toBeGreaterThan(0);
    expect(stats.cpu.userNanos + stats.cpu.systemNanos).toBeGreaterThan(0);
    expect(stats.memory.usageBytes).toBeGreaterThan(0);
    expect(stats.memory.workingSetBytes).toBeGreaterThan(0);
    expect(stats.memory.workingSetBytes).toBeLessThanOrEqual(stats.memory.usageBytes);
    expect(stats.memory.oomKillEvents).toBeGreaterThanOrEqual(0);
    // The root of a pids hierarchy has no pids.current; anywhere else this process counts.
    if (own.get("pids") === "/") expect(stats.pids.current).toBe(0);
    else expect(stats.pids.current).toBeGreaterThan(0);
    expect(stats.io).toBeUndefined();
    const unifiedPressure = join(DEFAULT_CGROUP_ROOT, "unified", layout.ownV2 ?? "/", "cpu.pressure");
    expect(stats.psi?.cpu !== undefined).toBe(await exists(unifiedPressure));
  });

  it("lists this process among its own cgroup's processes", async () => {
    const manager = new CgroupManager({ layout: await detectHostLayout() });
    expect(await manager.listProcs("")).toContain(process.pid);
  });

  it("reads the OOM kill baseline of its own memory cgroup", async () => {
    const watcher = await watchOomKills({
      layout: await detectHostLayout(),
      path: "",
      onOomKill: () => undefined,
    });
    expect(watcher.mode).toBe("poll");
    await watcher.check();
    watcher.close();
    expect(watcher.mode).toBe("closed");
  });

  describe("a test cgroup nested under this process's own cgroups", () => {
    const name = `berth-cgtest-${randomBytes(4).toString("hex")}`;
    let createdDirs: string[] = [];

    afterAll(async () => {
      // Only if the test itself failed half-way: rmdir exactly what it created, deepest first.
      for (const dir of createdDirs.reverse()) await rmdir(dir).catch(() => undefined);
    });

    it("is created in every hierarchy, read, and removed without a trace", async () => {
      const layout = await detectHostLayout();
      const manager = new CgroupManager({ layout });
      const own = await ownCgroups();
      const expected = manager.resolveCgroupDirs(`${name}/leaf`);
      expect(expected.v1["memory"]).toBe(
        join(DEFAULT_CGROUP_ROOT, "memory", own.get("memory") ?? "", name, "leaf"),
      );
      createdDirs = distinctDirs(manager.resolveCgroupDirs(name)).concat(distinctDirs(expected));

      const dirs = await manager.ensure(`${name}/leaf`);
      for (const dir of distinctDirs(dirs)) expect(await exists(dir)).toBe(true);
      expect(await manager.listProcs(`${name}/leaf`)).toEqual([]);

      const stats = await createStatsReader(layout).read(`${name}/leaf`);
      expect(stats.cpu.usageNanos).toBe(0);
      expect(stats.pids.current).toBe(0);

      await manager.remove(name);
      for (const dir of distinctDirs(manager.resolveCgroupDirs(name))) expect(await exists(dir)).toBe(false);
      createdDirs = [];
    });
  });
});
