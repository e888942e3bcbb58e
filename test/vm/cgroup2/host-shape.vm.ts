// The host-shape checks of test/integration (cgroups/host, systemd/doctor) on the kind of host
// the integration hosts are not: a pure cgroup v2 kernel. berth's detection must agree with
// statfs of /sys/fs/cgroup, the doctor must pass its cgroup checks (or name the controllers the
// kernel lacks), and this process's own cgroup is read with the v2 reader. In-process, so the
// slow VM starts no extra node.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { describe, it } from "node:test";
import { detectHostLayout } from "../../../cgroups/detect.js";
import { createStatsReader } from "../../../cgroups/stats.js";
import { defaultConfig } from "../../../agent/config.js";
import { cgroupV2Check, controllersCheck, type DoctorInputs } from "../../../systemd/doctor/checks.js";
import { nodeHostProbe } from "../../../systemd/doctor/host.js";
import { cgroupModeByStatfs } from "../../../harness/host-kind.js";

const V2_CONTROLLERS = ["cpu", "memory", "pids", "io"];

function doctorInputs(): DoctorInputs {
  return {
    probe: nodeHostProbe(),
    config: defaultConfig(),
    configPath: "/nonexistent/config.yaml",
    socket: "/nonexistent/berth.sock",
    agentVersion: () => Promise.reject(new Error("no agent in this check")),
  };
}

export function hostShapeTests(): void {
  describe("host shape on pure cgroup v2", () => {
    it("berth's detection and statfs of /sys/fs/cgroup both say unified", async () => {
      assert.equal(await cgroupModeByStatfs(), "unified");
      const layout = await detectHostLayout();
      assert.equal(layout.mode, "unified");
      assert.equal(layout.unifiedDir, "");
      assert.deepEqual(layout.v1Mounts, {});
    });

    it("the doctor passes cgroup v2, and the controllers check when the kernel offers them all", async () => {
      const cgroup = await cgroupV2Check(doctorInputs());
      assert.deepEqual(cgroup, {
        name: "cgroup v2",
        status: "OK",
        detail: "cgroup2 mounted at /sys/fs/cgroup",
      });
      const available = (await readFile("/sys/fs/cgroup/cgroup.controllers", "utf8")).split(/\s+/);
      const missing = V2_CONTROLLERS.filter((c) => !available.includes(c));
      const controllers = await controllersCheck(doctorInputs());
      if (missing.length === 0) assert.equal(controllers.status, "OK", controllers.detail);
      else {
        assert.equal(controllers.status, "FAIL");
        assert.match(controllers.detail, new RegExp(`no ${missing.join(", ")} controller`));
      }
    });

    it("reads this process's own cgroup with the v2 reader", async () => {
      const reader = createStatsReader(await detectHostLayout());
      assert.equal(reader.version, "v2");
      const stats = await reader.read("");
      assert.ok(stats.cpu.usageNanos > 0, `cpu usage ${stats.cpu.usageNanos}`);
    });
  });
}
