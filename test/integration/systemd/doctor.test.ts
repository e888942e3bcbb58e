// The real `berth doctor` on this host, whatever kind it is. The test finds the host's cgroup
// layout with berth's detection and, independently, with statfs of /sys/fs/cgroup, and whether
// systemd is PID 1 from /proc/1; then it asserts what the doctor owes that kind of host: on
// hybrid and legacy hosts it names the v1 controllers as the problem, with the boot fix; on pure
// cgroup v2 it passes the cgroup checks when the controllers are there. Without an agent it always
// exits 1; with one it finds the agent and its root-only socket.
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { detectHostLayout } from "../../../cgroups/detect.js";
import type { CheckResult } from "../../../systemd/doctor/checks.js";
import type { DoctorReport } from "../../../systemd/doctor/report.js";
import {
  BERTH_BIN,
  requireBuild,
  startAgentProcess,
  type AgentDirs,
  type AgentProcess,
} from "../../../harness/agent-process.js";
import { forceCleanup } from "../../../harness/force-cleanup.js";
import { cgroupModeByStatfs, mountedV1Controllers, systemdIsPid1 } from "../../../harness/host-kind.js";

// What berth puts pod limits in; the doctor must find each in the cgroup2 tree.
const V2_CONTROLLERS = ["cpu", "memory", "pids", "io"];

function doctor(endpoint: string, ...args: string[]) {
  return execa(process.execPath, [BERTH_BIN, "--endpoint", endpoint, "doctor", ...args], { reject: false });
}

function check(report: DoctorReport, name: string): CheckResult {
  const found = report.checks.find((c) => c.name === name);
  if (found === undefined) throw new Error(`the doctor ran no "${name}" check`);
  return found;
}

describe("berth doctor on this host", () => {
  it("judges the cgroup layout this host has, and exits 1 without an agent", async () => {
    requireBuild();
    const kind = await cgroupModeByStatfs();
    expect((await detectHostLayout()).mode, `statfs of /sys/fs/cgroup says ${kind}`).toBe(kind);
    const result = await doctor("/nonexistent/berth.sock", "-o", "json");
    expect(result.exitCode).toBe(1);
    const report = JSON.parse(result.stdout) as DoctorReport;
    const cgroup = check(report, "cgroup v2");
    const controllers = check(report, "cgroup controllers");
    if (kind === "unified") {
      expect(cgroup).toMatchObject({ status: "OK", detail: "cgroup2 mounted at /sys/fs/cgroup" });
      const available = (await readFile("/sys/fs/cgroup/cgroup.controllers", "utf8")).split(/\s+/);
      const missing = V2_CONTROLLERS.filter((c) => !available.includes(c));
      if (missing.length === 0) expect(controllers.status).toBe("OK");
      else {
        expect(controllers.status).toBe("FAIL");
        expect(controllers.detail).toContain(`no ${missing.join(", ")} controller`);
      }
    } else {
      expect(cgroup.status).toBe("FAIL");
      expect(cgroup.detail).toMatch(kind === "hybrid" ? /^hybrid hierarchy: / : /^legacy hierarchy: /);
      // Every v1 controller mounted here is named, as mountinfo lists them.
      const mounted = await mountedV1Controllers();
      expect(mounted.length).toBeGreaterThan(0);
      for (const controller of mounted) expect(cgroup.detail).toMatch(new RegExp(`\\b${controller}\\b`));
      expect(cgroup.fix).toContain("systemd.unified_cgroup_hierarchy=1");
      expect(cgroup.fix).toContain("cgroup_no_v1=all");
      expect(controllers.status).toBe("FAIL");
      expect(controllers.detail).toContain("bound to cgroup v1 hierarchies");
    }
    expect(check(report, "agent").status).toBe("FAIL");
    // What this host does have is found, with versions.
    expect(check(report, "runc")).toMatchObject({
      status: "OK",
      detail: expect.stringMatching(/^runc version \d/),
    });
    expect(check(report, "conmon")).toMatchObject({
      status: "OK",
      detail: expect.stringMatching(/^conmon version \d/),
    });
    expect(report.counts.FAIL).toBeGreaterThanOrEqual(kind === "unified" ? 1 : 3);
  });

  it("says whether systemd is PID 1, as /proc/1 shows", async () => {
    const result = await doctor("/nonexistent/berth.sock", "-o", "json");
    const systemd = check(JSON.parse(result.stdout) as DoctorReport, "systemd");
    if (await systemdIsPid1()) {
      expect(systemd.detail).toMatch(/^PID 1; berth\.service /);
    } else {
      expect(systemd).toMatchObject({
        status: "WARN",
        detail: expect.stringMatching(/^systemd is not PID 1/),
      });
    }
  });

  it("prints a table with a fix line under each problem", async () => {
    const kind = await cgroupModeByStatfs();
    const result = await doctor("/nonexistent/berth.sock");
    expect(result.exitCode).toBe(1);
    const lines = result.stdout.split("\n");
    expect(lines[0]).toMatch(/^CHECK\s+STATUS\s+DETAIL$/);
    const agent = lines.findIndex((l) => /^agent\s+FAIL\s+no answer at \/nonexistent\/berth\.sock/.test(l));
    expect(agent).toBeGreaterThan(0);
    expect(lines[agent + 1]).toMatch(/^\s+fix: systemctl start berth/);
    if (kind === "unified") {
      expect(result.stdout).toMatch(/^cgroup v2\s+OK\s+cgroup2 mounted at \/sys\/fs\/cgroup$/m);
    } else {
      const failure = lines.findIndex((l) => new RegExp(`^cgroup v2\\s+FAIL\\s+${kind} hierarchy`).test(l));
      expect(failure).toBeGreaterThan(0);
      expect(lines[failure + 1]).toMatch(/^\s+fix: boot with the pure cgroup v2 hierarchy/);
    }
    expect(result.stdout).toMatch(/\d+ checks: \d+ OK, \d+ WARN, \d+ FAIL/);
  });
});

describe("berth doctor with an agent running", () => {
  let root: string;
  let dirs: AgentDirs;
  let agent: AgentProcess;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "berth-doctor-"));
    dirs = {
      socket: join(root, "berth.sock"),
      stateDir: join(root, "state"),
      runDir: join(root, "run"),
      cgroupRoot: `berth-it-${randomBytes(4).toString("hex")}`,
    };
    agent = await startAgentProcess(dirs, ["--no-cni"]);
  });
  afterAll(async () => {
    await agent.stop().catch(() => undefined);
    await forceCleanup(root, join(dirs.runDir, "runc"), dirs.cgroupRoot);
  });

  it("reaches it with the Version RPC and finds its socket root-only", async () => {
    const result = await doctor(dirs.socket, "-o", "json");
    const report = JSON.parse(result.stdout) as DoctorReport;
    expect(report.checks.find((c) => c.name === "agent")).toMatchObject({
      status: "OK",
      detail: expect.stringMatching(new RegExp(`^berth \\S+ \\(CRI v1\\) at ${dirs.socket}$`)),
    });
    expect(report.checks.find((c) => c.name === "socket permissions")).toMatchObject({
      status: "OK",
      detail: `${dirs.socket} mode 0600, owner root`,
    });
  });
});
