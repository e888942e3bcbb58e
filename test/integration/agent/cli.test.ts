// The real `berth` binary against a running agent: output and exit codes.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { join } from "node:path";
import { execa } from "execa";
import { buildBusyboxImage } from "../../../harness/oci-image.js";
import {
  agentTestDirs,
  BERTH_BIN,
  startAgentProcess,
  type AgentDirs,
  type AgentProcess,
} from "../../../harness/agent-process.js";
import { forceCleanup } from "../../../harness/force-cleanup.js";
import { sandboxConfig } from "../../../harness/runtime-harness.js";
import { containerConfig } from "../../../harness/cri-fixtures.js";

describe("berth CLI", () => {
  let root: string;
  let dirs: AgentDirs;
  let agent: AgentProcess;
  const berth = (...args: string[]) =>
    execa(process.execPath, [BERTH_BIN, "--endpoint", dirs.socket, ...args], { reject: false });

  beforeAll(async () => {
    ({ root, dirs } = await agentTestDirs("bcli-"));
    agent = await startAgentProcess(dirs);
  });
  afterAll(async () => {
    await agent.stop().catch(() => undefined);
    await forceCleanup(root, join(dirs.runDir, "runc"), dirs.cgroupRoot);
  });

  it("imports an OCI layout and lists it", async () => {
    await buildBusyboxImage(join(root, "layout"), { name: "berth.test/cli:1" });
    const imported = await berth("image", "import", join(root, "layout"));
    expect(imported.exitCode).toBe(0);
    expect(imported.stdout).toMatch(/^imported berth\.test\/cli:1 sha256:[0-9a-f]{64}$/);
    const images = await berth("images");
    expect(images.exitCode).toBe(0);
    expect(images.stdout.split("\n")[0]).toMatch(/^IMAGE\s+TAG\s+IMAGE ID\s+SIZE$/);
    expect(images.stdout).toMatch(/berth\.test\/cli\s+1\s+[0-9a-f]{13}\s+\d/);
    const json = JSON.parse((await berth("images", "-o", "json")).stdout) as { repoTags: string[] }[];
    expect(json[0]?.repoTags).toEqual(["berth.test/cli:1"]);
  });

  it("shows sandboxes and containers; exits 1 on a refused request and 2 when the agent is unreachable", async () => {
    const config = sandboxConfig("clipod");
    const { podSandboxId } = await agent.cri.runtime.runPodSandbox({ config, runtimeHandler: "" });
    const { containerId } = await agent.cri.runtime.createContainer({
      podSandboxId,
      config: containerConfig("app", "berth.test/cli:1", ["sleep", "100"]),
      sandboxConfig: config,
    });
    await agent.cri.runtime.startContainer({ containerId });
    const ps = await berth("ps");
    expect(ps.exitCode).toBe(0);
    expect(ps.stdout).toMatch(
      new RegExp(
        `${containerId.slice(0, 13)}\\s+berth\\.test/cli:1\\s+\\d+s ago\\s+Running\\s+app\\s+0\\s+${podSandboxId.slice(0, 13)}`,
      ),
    );

    const badImport = await berth("image", "import", join(root, "no-such-layout"));
    expect(badImport.exitCode).toBe(1);
    expect(badImport.stderr).toMatch(/^berth: .*no-such-layout/);

    const unreachable = await execa(
      process.execPath,
      [BERTH_BIN, "--endpoint", join(root, "nothing.sock"), "ps"],
      { reject: false },
    );
    expect(unreachable.exitCode).toBe(2);
    expect(unreachable.stderr).toContain("cannot reach the berth agent");
    await agent.cri.runtime.removePodSandbox({ podSandboxId });
  });

  it("has --help on commands", async () => {
    const help = await berth("ps", "--help");
    expect(help.exitCode).toBe(0);
    expect(help.stdout).toContain("include exited containers");
  });
});
