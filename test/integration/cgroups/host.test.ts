// Read-only checks against this host's real cgroups, whatever kind of host it is: berth's own
// detection must agree with statfs of /sys/fs/cgroup, and each check asserts what berth owes that
// kind (the v1 reader and polling on hybrid and legacy hosts, the v2 reader and watching on unified
// ones). The only thing written is a uniquely named test cgroup nested under this process's own
// cgroups, removed again.
import { randomBytes } from "node:crypto";
import { readFile, rmdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { detectHostLayout, parseProcCgroup, DEFAULT_CGROUP_ROOT } from "../../../cgroups/detect.js";
import { CgroupManager } from "../../../cgroups/manager.js";
import { watchOomKills } from "../../../cgroups/oom-watcher.js";
import { distinctDirs } from "../../../cgroups/paths.js";
import { createStatsReader } from "../../../cgroups/stats.js";
import { cgroupModeByStatfs, mountedV1Controllers } from "../../../harness/host-kind.js";

async function exists(dir: string): Promise<boolean> {
  return stat(dir).then(
    () => true,
    () => false,
  );
}

/** This process's cgroup per v1 controller, and its cgroup2 path under the "" key. */
async function ownCgroups(): Promise<Map<string, string>> {
  const own = new Map<string, string>();
  for (const entry of parseProcCgroup(await readFile("/proc/self/cgroup", "utf8"))) {
    if (entry.hierarchyId === 0 && entry.controllers.length === 0) own.set("", entry.path);
    for (const controller of entry.controllers) own.set(controller, entry.path);
  }
  return own;
}

// A number the kernel keeps in a file: a whole file (cpuacct.usage) or one key of a flat-keyed one.
async function counter(file: string, key?: string): Promise<number> {
  const text = await readFile(file, "utf8");
  if (key === undefined) return Number(text.trim());
  const line = text.split("\n").find((l) => l.startsWith(`${key} `));
  if (line === undefined) throw new Error(`${file} has no ${key}`);
  return Number(line.slice(key.length + 1));
}

describe("cgroups on this host", () => {
  it("detects the layout statfs sees, and this process's own cgroups", async () => {
    const layout = await detectHostLayout();
    const kind = await cgroupModeByStatfs();
    expect(layout.mode, `statfs of ${DEFAULT_CGROUP_ROOT} says ${kind}`).toBe(kind);
    const own = await ownCgroups();
    if (kind === "unified") {
      expect(layout.unifiedDir).toBe("");
      expect(layout.v1Mounts).toEqual({});
      expect(layout.ownV2).toBe(own.get(""));
      return;
    }
    expect(layout.unifiedDir).toBe(kind === "hybrid" ? "unified" : undefined);
    const controllers = await mountedV1Controllers();
    for (const controller of ["cpu", "cpuacct", "memory", "pids"]) expect(controllers).toContain(controller);
    for (const controller of controllers) expect(layout.v1Mounts[controller]).toBeDefined();
    expect(layout.ownV1["memory"]).toBe(own.get("memory"));
    expect(layout.ownV1["cpuacct"]).toBe(own.get("cpuacct"));
    expect(layout.ownV2).toBe(kind === "hybrid" ? own.get("") : undefined);
  });

  it("reads positive usage of this process's own cgroups with the reader of the host's cgroup version", async () => {
    const layout = await detectHostLayout();
    const unified = layout.mode === "unified";
    const reader = createStatsReader(layout);
    expect(reader.version).toBe(unified ? "v2" : "v1");
    const own = await ownCgroups();
    // Read straight from the kernel's files before berth reads: usage only grows.
    const usageBefore = unified
      ? (await counter(join(DEFAULT_CGROUP_ROOT, own.get("") ?? "", "cpu.stat"), "usage_usec")) * 1000
      : await counter(join(DEFAULT_CGROUP_ROOT, "cpuacct", own.get("cpuacct") ?? "", "cpuacct.usage"));

    // "" is this process's own cgroup in every hierarchy.
    const stats = await reader.read("");
    expect(stats.cpu.usageNanos).toBeGreaterThanOrEqual(usageBefore);
    expect(stats.cpu.usageNanos).toBeGreaterThan(0);
    expect(stats.cpu.userNanos + stats.cpu.systemNanos).toBeGreaterThan(0);
    // The root cgroup of a v2 hierarchy has no memory.current or pids.current: it reads as zero.
    const ownIsV2Root = unified && own.get("") === "/";
    if (ownIsV2Root) expect(stats.memory.usageBytes).toBe(0);
    else {
      expect(stats.memory.usageBytes).toBeGreaterThan(0);
      expect(stats.memory.workingSetBytes).toBeGreaterThan(0);
    }
    expect(stats.memory.workingSetBytes).toBeLessThanOrEqual(stats.memory.usageBytes);
    expect(stats.memory.oomKillEvents).toBeGreaterThanOrEqual(0);
    // The root of a pids hierarchy has no pids.current; anywhere else this process counts.
    if ((unified ? own.get("") : own.get("pids")) === "/") expect(stats.pids.current).toBe(0);
    else expect(stats.pids.current).toBeGreaterThan(0);
    // io usage comes from io.stat, which only cgroup v2 has.
    if (!unified) expect(stats.io).toBeUndefined();
    const pressure = join(
      DEFAULT_CGROUP_ROOT,
      layout.unifiedDir ?? "unified",
      layout.ownV2 ?? "/",
      "cpu.pressure",
    );
    expect(stats.psi?.cpu !== undefined).toBe(await exists(pressure));
  });

  it("lists this process among its own cgroup's processes", async () => {
    const manager = new CgroupManager({ layout: await detectHostLayout() });
    expect(await manager.listProcs("")).toContain(process.pid);
  });

  it("reads the OOM kill baseline of its own memory cgroup, watching on cgroup v2 and polling on v1", async () => {
    const layout = await detectHostLayout();
    const watcher = await watchOomKills({ layout, path: "", onOomKill: () => undefined });
    expect(watcher.mode).toBe(layout.mode === "unified" ? "watch" : "poll");
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
      if (layout.mode === "unified") {
        expect(expected.unified).toBe(join(DEFAULT_CGROUP_ROOT, own.get("") ?? "", name, "leaf"));
        expect(expected.v1).toEqual({});
      } else {
        expect(expected.v1["memory"]).toBe(
          join(DEFAULT_CGROUP_ROOT, "memory", own.get("memory") ?? "", name, "leaf"),
        );
      }
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
