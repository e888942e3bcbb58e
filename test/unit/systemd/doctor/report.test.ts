import { describe, expect, it } from "vitest";
import { defaultConfig } from "../../../../agent/config.js";
import type { Check } from "../../../../systemd/doctor/checks.js";
import {
  doctorExitCode,
  renderDoctorJson,
  renderDoctorTable,
  runDoctor,
} from "../../../../systemd/doctor/report.js";
import { fakeProbe } from "./fake-host.js";

const inputs = {
  probe: fakeProbe({}),
  config: defaultConfig(),
  configPath: "/etc/berth/config.yaml",
  socket: "/run/berth/berth.sock",
  agentVersion: async () => "berth",
};

const okCheck: Check = async () => ({ name: "runc", status: "OK", detail: "runc version 1.1.5" });
const warnCheck: Check = async () => ({ name: "swap", status: "WARN", detail: "on", fix: "swapoff -a" });
const failCheck: Check = async () => ({
  name: "cgroup v2",
  status: "FAIL",
  detail: "hybrid hierarchy",
  fix: "boot with systemd.unified_cgroup_hierarchy=1",
});

describe("runDoctor", () => {
  it("exits 0 with warnings only, 1 with any failure", async () => {
    expect(doctorExitCode(await runDoctor(inputs, [okCheck, warnCheck]))).toBe(0);
    const failing = await runDoctor(inputs, [okCheck, warnCheck, failCheck]);
    expect(doctorExitCode(failing)).toBe(1);
    expect(failing.counts).toEqual({ OK: 1, WARN: 1, FAIL: 1 });
  });

  it("turns a check that throws into a FAIL instead of losing the report", async () => {
    const broken: Check = async function brokenCheck() {
      throw new Error("boom");
    };
    const report = await runDoctor(inputs, [okCheck, broken]);
    expect(report.checks[1]).toMatchObject({
      name: "brokenCheck",
      status: "FAIL",
      detail: expect.stringContaining("boom"),
    });
  });
});

describe("rendering", () => {
  it("prints a table with a fix line under each problem, and a summary", async () => {
    const text = renderDoctorTable(await runDoctor(inputs, [okCheck, warnCheck, failCheck]));
    const lines = text.split("\n");
    expect(lines[0]).toMatch(/^CHECK\s+STATUS\s+DETAIL$/);
    expect(lines[1]).toMatch(/^runc\s+OK\s+runc version 1\.1\.5$/);
    expect(lines[2]).toMatch(/^swap\s+WARN\s+on$/);
    expect(lines[3]).toMatch(/^\s+fix: swapoff -a$/);
    expect(lines[5]).toMatch(/^\s+fix: boot with systemd\.unified_cgroup_hierarchy=1$/);
    expect(text).toContain("3 checks: 1 OK, 1 WARN, 1 FAIL");
    // Columns line up: DETAIL starts at the same offset on every row.
    const offset = lines[0]!.indexOf("DETAIL");
    expect(lines[1]!.indexOf("runc version")).toBe(offset);
    expect(lines[3]!.indexOf("fix:")).toBe(offset);
  });

  it("prints JSON for scripts", async () => {
    const parsed = JSON.parse(renderDoctorJson(await runDoctor(inputs, [okCheck, failCheck]))) as {
      ok: boolean;
      checks: Array<{ name: string; status: string; fix?: string }>;
    };
    expect(parsed.ok).toBe(false);
    expect(parsed.checks.map((c) => [c.name, c.status])).toEqual([
      ["runc", "OK"],
      ["cgroup v2", "FAIL"],
    ]);
    expect(parsed.checks[1]!.fix).toContain("unified_cgroup_hierarchy");
  });
});
