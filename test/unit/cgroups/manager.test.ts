import { access } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FailedPreconditionError, InvalidArgumentError, NotFoundError } from "../../../common/errors.js";
import { detectLayout, type CgroupLayout } from "../../../cgroups/detect.js";
import { CgroupManager, resolveCgroupDirs } from "../../../cgroups/manager.js";
import {
  HYBRID_MOUNTINFO,
  HYBRID_PROC_CGROUP,
  UNIFIED_MOUNTINFO,
  UNIFIED_PROC_CGROUP,
  makeTempRoot,
  removeTempRoot,
} from "./fixtures.js";
import { SimulatedCgroupFs } from "./simulated-cgroupfs.js";

const unified = detectLayout({ mountinfo: UNIFIED_MOUNTINFO, procCgroup: UNIFIED_PROC_CGROUP });
const hybrid = detectLayout({ mountinfo: HYBRID_MOUNTINFO, procCgroup: HYBRID_PROC_CGROUP });

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

let root: string;
beforeEach(async () => {
  root = await makeTempRoot();
});
afterEach(async () => {
  await removeTempRoot(root);
});

describe("CgroupManager on cgroup v2", () => {
  let fs: SimulatedCgroupFs;
  let sleeps: number[];
  let manager: CgroupManager;

  beforeEach(async () => {
    fs = await SimulatedCgroupFs.create(root, [
      { dir: root, version: "v2", controllers: ["cpuset", "cpu", "io", "memory", "hugetlb", "pids", "rdma"] },
    ]);
    sleeps = [];
    manager = new CgroupManager({
      layout: unified,
      root,
      fs,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
      removeAttempts: 4,
    });
  });

  it("creates each level and enables berth's controllers in every parent", async () => {
    const dirs = await manager.ensure("berth/pods/burstable/pod-1");
    expect(dirs).toEqual({ unified: join(root, "berth/pods/burstable/pod-1"), v1: {} });
    for (const parent of ["", "berth", "berth/pods", "berth/pods/burstable"]) {
      expect(await fs.subtreeControl(join(root, parent))).toEqual(["cpu", "cpuset", "io", "memory", "pids"]);
    }
    expect(await fs.subtreeControl(join(root, "berth/pods/burstable/pod-1"))).toEqual([]);
    // The leaf sees every controller its parent hands down.
    expect(await fs.readFile(join(root, "berth/pods/burstable/pod-1/cgroup.controllers"))).toBe(
      "cpu cpuset io memory pids",
    );
    // Controllers are enabled in a parent before the child is made.
    expect(fs.calls.indexOf("write berth/cgroup.subtree_control +cpu")).toBeLessThan(
      fs.calls.indexOf("mkdir berth/pods"),
    );
  });

  it("is idempotent: a second ensure writes nothing", async () => {
    await manager.ensure("berth/pods/a");
    const before = fs.calls.length;
    await manager.ensure("berth/pods/a");
    expect(fs.calls.length).toBe(before);
  });

  it("enables only controllers the parent offers", async () => {
    await removeTempRoot(root);
    root = await makeTempRoot();
    fs = await SimulatedCgroupFs.create(root, [
      { dir: root, version: "v2", controllers: ["memory", "pids"] },
    ]);
    manager = new CgroupManager({ layout: unified, root, fs });
    await manager.ensure("a/b");
    expect(await fs.subtreeControl(join(root, "a"))).toEqual(["memory", "pids"]);
  });

  it("refuses to enable controllers in a cgroup that has processes", async () => {
    await manager.ensure("berth");
    await fs.setProcs(join(root, "berth"), [4242]);
    await expect(manager.ensure("berth/pods")).rejects.toThrow(FailedPreconditionError);
  });

  it("moves the agent into a leaf so its cgroup can host pod cgroups", async () => {
    await manager.ensure("berth");
    const agentPid = 4242;
    await fs.setProcs(join(root, "berth"), [agentPid]);
    await manager.moveSelfToLeaf("berth/agent", agentPid);
    expect(await fs.procs(join(root, "berth"))).toEqual([]);
    expect(await manager.listProcs("berth/agent")).toEqual([agentPid]);
    expect(await fs.subtreeControl(join(root, "berth"))).toContain("memory");
    await manager.ensure("berth/pods/guaranteed/pod-1");
    expect(await exists(join(root, "berth/pods/guaranteed/pod-1"))).toBe(true);
  });

  it("removes a subtree leaf-first with rmdir", async () => {
    await manager.ensure("berth/pods/burstable/pod-1/app");
    await manager.ensure("berth/pods/burstable/pod-1/sidecar");
    await manager.ensure("berth/pods/burstable/pod-2");
    await manager.remove("berth/pods/burstable/pod-1");
    const removals = fs.calls.filter((call) => call.startsWith("rmdir"));
    expect(removals).toEqual([
      "rmdir berth/pods/burstable/pod-1/app",
      "rmdir berth/pods/burstable/pod-1/sidecar",
      "rmdir berth/pods/burstable/pod-1",
    ]);
    expect(await exists(join(root, "berth/pods/burstable/pod-1"))).toBe(false);
    expect(await exists(join(root, "berth/pods/burstable/pod-2"))).toBe(true);
  });

  it("retries while processes are still leaving", async () => {
    await manager.ensure("berth/pod/app");
    const app = join(root, "berth/pod/app");
    await fs.setProcs(app, [77]);
    let busy = 0;
    fs.onBusy = async () => {
      if (++busy === 2) await fs.setProcs(app, []);
    };
    await manager.remove("berth/pod");
    expect(sleeps).toEqual([100, 100]);
    expect(await exists(join(root, "berth/pod"))).toBe(false);
  });

  it("gives up on a cgroup that stays busy", async () => {
    await manager.ensure("berth/stuck");
    await fs.setProcs(join(root, "berth/stuck"), [77]);
    await expect(manager.remove("berth/stuck")).rejects.toThrow(FailedPreconditionError);
    expect(sleeps).toHaveLength(3);
    expect(await exists(join(root, "berth/stuck"))).toBe(true);
  });

  it("treats a missing path as removed", async () => {
    await expect(manager.remove("berth/never-made")).resolves.toBeUndefined();
  });

  it("refuses to remove or move into the hierarchy root", async () => {
    await expect(manager.remove("/")).rejects.toThrow(InvalidArgumentError);
    await expect(manager.remove("")).rejects.toThrow(InvalidArgumentError);
    await expect(manager.moveSelfToLeaf("/")).rejects.toThrow(InvalidArgumentError);
    await expect(manager.remove("berth/../..")).rejects.toThrow(InvalidArgumentError);
  });

  it("lists processes and throws NotFoundError for a missing cgroup", async () => {
    await manager.ensure("berth/c");
    await fs.setProcs(join(root, "berth/c"), [30, 10, 20]);
    expect(await manager.listProcs("berth/c")).toEqual([10, 20, 30]);
    await expect(manager.listProcs("berth/none")).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe("CgroupManager on a hybrid host", () => {
  let fs: SimulatedCgroupFs;
  let manager: CgroupManager;
  const layout: CgroupLayout = hybrid;

  beforeEach(async () => {
    fs = await SimulatedCgroupFs.create(root, [
      ...["cpu", "cpuacct", "cpuset", "memory", "devices", "pids"].map((controller) => ({
        dir: join(root, controller),
        version: "v1" as const,
        controllers: [controller],
      })),
      { dir: join(root, "systemd"), version: "v1", controllers: ["name=systemd"] },
      { dir: join(root, "unified"), version: "v2", controllers: [] },
    ]);
    // The process's own cgroups from HYBRID_PROC_CGROUP already exist.
    for (const dir of ["memory/process_api", "memory/process_api/d9dc5d6c", "unified/system.slice"]) {
      await fs.mkdir(join(root, dir));
    }
    await fs.mkdir(join(root, "unified/system.slice/berth.service"));
    fs.calls.length = 0;
    manager = new CgroupManager({ layout, root, fs });
  });

  it("resolves one directory per controller, relative paths under the process's own cgroups", () => {
    const dirs = manager.resolveCgroupDirs("berth-test");
    expect(dirs).toEqual(resolveCgroupDirs(layout, "berth-test", root));
    expect(dirs.v1["memory"]).toBe(join(root, "memory/process_api/d9dc5d6c/berth-test"));
    expect(dirs.v1["pids"]).toBe(join(root, "pids/berth-test"));
    expect(dirs.unified).toBe(join(root, "unified/system.slice/berth.service/berth-test"));
  });

  it("creates the cgroup in every resource hierarchy and the cgroup2 companion, not in name=systemd", async () => {
    const dirs = await manager.ensure("berth-test/c1");
    for (const dir of [...Object.values(dirs.v1), dirs.unified ?? ""]) expect(await exists(dir)).toBe(true);
    expect(await exists(join(root, "systemd/berth-test"))).toBe(false);
    // No controllers are switched on in the hybrid cgroup2 tree.
    expect(fs.calls.some((call) => call.includes("subtree_control"))).toBe(false);
  });

  it("gives new v1 cpuset cgroups their parent's CPUs and memory nodes", async () => {
    await manager.ensure("berth-test/c1");
    expect((await fs.readFile(join(root, "cpuset/berth-test/c1/cpuset.cpus"))).trim()).toBe("0-3");
    expect((await fs.readFile(join(root, "cpuset/berth-test/c1/cpuset.mems"))).trim()).toBe("0");
    await manager.moveSelfToLeaf("berth-test/c1", 555);
    expect(await manager.listProcs("berth-test/c1")).toEqual([555]);
  });

  it("puts absolute paths under each controller's root", async () => {
    const dirs = await manager.ensure("/berth/x");
    expect(dirs.v1["memory"]).toBe(join(root, "memory/berth/x"));
    expect(await exists(join(root, "memory/berth/x"))).toBe(true);
  });

  it("removes the cgroup from every hierarchy and leaves the process's own cgroup alone", async () => {
    await manager.ensure("berth-test/c1");
    await manager.remove("berth-test");
    const dirs = manager.resolveCgroupDirs("berth-test");
    for (const dir of [...Object.values(dirs.v1), dirs.unified ?? ""]) expect(await exists(dir)).toBe(false);
    expect(await exists(join(root, "memory/process_api/d9dc5d6c"))).toBe(true);
    expect(fs.calls.filter((call) => call.startsWith("rmdir"))).toHaveLength(14);
  });

  it("fails when a hierarchy is not there", async () => {
    await removeTempRoot(join(root, "pids"));
    await expect(manager.ensure("berth-test")).rejects.toThrow(/no cgroup hierarchy/);
  });
});
