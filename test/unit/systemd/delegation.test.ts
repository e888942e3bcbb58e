import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { detectLayout, type CgroupLayout } from "../../../cgroups/detect.js";
import { CgroupManager } from "../../../cgroups/manager.js";
import { FailedPreconditionError } from "../../../common/errors.js";
import { silentLogger } from "../../../common/logger.js";
import { applyDelegation, planDelegation } from "../../../systemd/delegation.js";
import {
  HYBRID_MOUNTINFO,
  HYBRID_PROC_CGROUP,
  UNIFIED_MOUNTINFO,
  makeTempRoot,
  removeTempRoot,
} from "../cgroups/fixtures.js";
import { SimulatedCgroupFs } from "../cgroups/simulated-cgroupfs.js";

const SYSTEMD_ENV = { INVOCATION_ID: "0f4b1c9e7d2a4e38b5c6a1d2e3f40516" };
const DEFAULT_ROOT = "/berth";

function unifiedIn(own: string): CgroupLayout {
  return detectLayout({ mountinfo: UNIFIED_MOUNTINFO, procCgroup: `0::${own}\n` });
}

describe("planDelegation", () => {
  const plan = (own: string, cgroupRoot = DEFAULT_ROOT, env: Record<string, string> = SYSTEMD_ENV) =>
    planDelegation({ layout: unifiedIn(own), env, cgroupRoot, defaultCgroupRoot: DEFAULT_ROOT });

  it("puts pods beside the agent when systemd started it in <unit>/agent (DelegateSubgroup=)", () => {
    expect(plan("/system.slice/berth.service/agent")).toMatchObject({
      kind: "subgroup",
      unitCgroup: "/system.slice/berth.service",
      cgroupRoot: "/system.slice/berth.service/pods",
    });
    expect(plan("/system.slice/berth.service/agent").moveTo).toBeUndefined();
  });

  it("nests a relative root under the unit cgroup, not under the agent's leaf", () => {
    expect(plan("/system.slice/berth.service/agent", "kube").cgroupRoot).toBe(
      "/system.slice/berth.service/kube",
    );
    expect(plan("/system.slice/berth.service/agent", "/elsewhere").cgroupRoot).toBe("/elsewhere");
  });

  it("keeps pods outside the unit cgroup when the agent was started in it, so restarts keep working", () => {
    const result = plan("/system.slice/berth.service");
    expect(result).toMatchObject({
      kind: "unit",
      unitCgroup: "/system.slice/berth.service",
      cgroupRoot: "/berth",
    });
    expect(result.moveTo).toBeUndefined();
    expect(result.warning).toBeUndefined();
  });

  it("moves the agent to <unit>/agent when a relative root asks for pods inside the unit, and warns", () => {
    const result = plan("/system.slice/berth.service", "pods");
    expect(result).toMatchObject({
      kind: "unit",
      cgroupRoot: "/system.slice/berth.service/pods",
      moveTo: "/system.slice/berth.service/agent",
    });
    expect(result.warning).toMatch(/DelegateSubgroup/);
  });

  it("leaves the configured root alone outside systemd, outside a service, and on v1 hosts", () => {
    expect(plan("/system.slice/berth.service", "pods", {})).toMatchObject({
      kind: "none",
      cgroupRoot: "pods",
    });
    expect(plan("/user.slice/user-0.slice/session-1.scope")).toMatchObject({
      kind: "none",
      cgroupRoot: "/berth",
    });
    expect(plan("/")).toMatchObject({ kind: "none" });
    const hybrid = detectLayout({ mountinfo: HYBRID_MOUNTINFO, procCgroup: HYBRID_PROC_CGROUP });
    expect(
      planDelegation({
        layout: hybrid,
        env: SYSTEMD_ENV,
        cgroupRoot: "/berth",
        defaultCgroupRoot: DEFAULT_ROOT,
      }),
    ).toMatchObject({ kind: "none", cgroupRoot: "/berth" });
  });
});

describe("applyDelegation on a simulated cgroup v2 tree", () => {
  let root: string;
  let fs: SimulatedCgroupFs;
  const unit = "system.slice/berth.service";
  const agentPid = 4321;

  beforeEach(async () => {
    root = await makeTempRoot();
    fs = await SimulatedCgroupFs.create(root, [
      { dir: root, version: "v2", controllers: ["cpuset", "cpu", "io", "memory", "pids"] },
    ]);
    // What systemd leaves for a Delegate=yes unit: controllers enabled down to the unit cgroup.
    await fs.mkdir(join(root, "system.slice"));
    await fs.mkdir(join(root, unit));
    for (const dir of [root, join(root, "system.slice")]) {
      await fs.writeFile(join(dir, "cgroup.subtree_control"), "+cpu +io +memory +pids");
    }
    await fs.setProcs(join(root, unit), [agentPid]);
  });
  afterEach(async () => {
    await removeTempRoot(root);
  });

  async function apply(cgroupRoot: string) {
    const layout = unifiedIn(`/${unit}`);
    return applyDelegation({
      layout,
      env: SYSTEMD_ENV,
      cgroupRoot,
      defaultCgroupRoot: DEFAULT_ROOT,
      cgroups: new CgroupManager({ layout, root, fs }),
      logger: silentLogger(),
      pid: agentPid,
    });
  }

  it("moves the agent into the leaf, after which pod cgroups can get controllers", async () => {
    const plan = await apply("pods");
    expect(await fs.procs(join(root, unit))).toEqual([]);
    expect(await fs.procs(join(root, unit, "agent"))).toEqual([agentPid]);
    expect(await fs.subtreeControl(join(root, unit))).toEqual(
      expect.arrayContaining(["cpu", "io", "memory", "pids"]),
    );
    // The pods' root can now be made and hand controllers to pods: no EBUSY.
    const manager = new CgroupManager({ layout: unifiedIn(`/${unit}/agent`), root, fs });
    await manager.ensure(`${plan.cgroupRoot}/cri/pod-1`);
    expect(await fs.subtreeControl(join(root, unit, "pods", "cri"))).toEqual(
      expect.arrayContaining(["cpu", "io", "memory", "pids"]),
    );
  });

  it("is needed: with the agent still in the unit cgroup, pods there cannot get controllers", async () => {
    const manager = new CgroupManager({ layout: unifiedIn(`/${unit}`), root, fs });
    await expect(manager.ensure(`/${unit}/pods/cri/pod-1`)).rejects.toThrow(FailedPreconditionError);
  });

  it("does not touch the tree when the plan keeps pods outside the unit", async () => {
    const before = fs.calls.length;
    const plan = await apply(DEFAULT_ROOT);
    expect(plan.cgroupRoot).toBe("/berth");
    expect(fs.calls.length).toBe(before);
    expect(await fs.procs(join(root, unit))).toEqual([agentPid]);
  });
});
