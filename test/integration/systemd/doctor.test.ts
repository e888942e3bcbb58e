// The real `berth doctor` on this host. The hosts that run these tests have a hybrid v1/v2
// cgroup layout, so the doctor must name the v1 controllers as the problem and exit 1; with
// an agent running it must find the agent and its root-only socket.
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { detectHostLayout } from "../../../cgroups/detect.js";
import type { DoctorReport } from "../../../systemd/doctor/report.js";
import {
  BERTH_BIN,
  requireBuild,
  startAgentProcess,
  type AgentDirs,
  type AgentProcess,
} from "../../../harness/agent-process.js";
import { forceCleanup } from "../../../harness/force-cleanup.js";

function doctor(endpoint: string, ...args: string[]) {
  return execa(process.execPath, [BERTH_BIN, "--endpoint", endpoint, "doctor", ...args], { reject: false });
}

describe("berth doctor on this host", () => {
  it("names the cgroup v1 controllers as the problem, with the boot fix, and exits 1", async () => {
    requireBuild();
    const layout = await detectHostLayout();
    expect(layout.mode, "this test expects the hybrid hosts berth is developed on").toBe("hybrid");
    const result = await doctor("/nonexistent/berth.sock", "-o", "json");
    expect(result.exitCode).toBe(1);
    const report = JSON.parse(result.stdout) as DoctorReport;
    const cgroup = report.checks.find((c) => c.name === "cgroup v2");
    expect(cgroup?.status).toBe("FAIL");
    for (const controller of ["cpu", "memory", "pids", "blkio"]) {
      expect(cgroup?.detail).toMatch(new RegExp(`\\b${controller}\\b`));
    }
    expect(cgroup?.fix).toContain("systemd.unified_cgroup_hierarchy=1");
    expect(cgroup?.fix).toContain("cgroup_no_v1=all");
    expect(report.checks.find((c) => c.name === "agent")?.status).toBe("FAIL");
    // What this host does have is found, with versions.
    expect(report.checks.find((c) => c.name === "runc")).toMatchObject({
      status: "OK",
      detail: expect.stringMatching(/^runc version \d/),
    });
    expect(report.checks.find((c) => c.name === "conmon")).toMatchObject({
      status: "OK",
      detail: expect.stringMatching(/^conmon version \d/),
    });
    expect(report.counts.FAIL).toBeGreaterThanOrEqual(2);
  });

  it("prints a table with a fix line under each problem", async () => {
    const result = await doctor("/nonexistent/berth.sock");
    expect(result.exitCode).toBe(1);
    const lines = result.stdout.split("\n");
    expect(lines[0]).toMatch(/^CHECK\s+STATUS\s+DETAIL$/);
    const failure = lines.findIndex((l) => /^cgroup v2\s+FAIL\s+hybrid hierarchy/.test(l));
    expect(failure).toBeGreaterThan(0);
    expect(lines[failure + 1]).toMatch(/^\s+fix: boot with the pure cgroup v2 hierarchy/);
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
