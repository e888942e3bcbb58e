// SIGTERM ends the real agent process in order, and within a bound even while a request is
// stuck: here an ExecSync without a timeout whose command never ends, whose child process
// would otherwise keep the agent alive for as long.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { join } from "node:path";
import { ContainerConfig } from "../../../cri/api/generated/api.js";
import { sandboxConfig } from "../../../harness/runtime-harness.js";
import { waitFor } from "../../../harness/cri-fixtures.js";
import {
  agentTestDirs,
  importBusyboxBeforeStart,
  startAgentProcess,
  type AgentDirs,
  type AgentProcess,
} from "../../../harness/agent-process.js";
import { forceCleanup } from "../../../harness/force-cleanup.js";

const IMAGE = "berth.test/shutdown:1";

describe("agent shutdown is bounded", () => {
  let root: string;
  let dirs: AgentDirs;
  let agent: AgentProcess | undefined;

  beforeAll(async () => {
    ({ root, dirs } = await agentTestDirs("bsd-"));
    await importBusyboxBeforeStart(root, dirs, IMAGE);
  });

  afterAll(async () => {
    await agent?.stop().catch(() => undefined);
    await forceCleanup(root, join(dirs.runDir, "runc"), dirs.cgroupRoot);
  });

  it("exits on SIGTERM while an ExecSync that never ends is in flight", async () => {
    agent = await startAgentProcess(dirs);
    const config = sandboxConfig("stuck", { logDirectory: join(root, "logs") });
    const { podSandboxId } = await agent.cri.runtime.runPodSandbox({ config, runtimeHandler: "" });
    const { containerId } = await agent.cri.runtime.createContainer({
      podSandboxId,
      config: ContainerConfig.fromPartial({
        metadata: { name: "main" },
        image: { image: IMAGE },
        command: ["sleep", "100000"],
        logPath: "main.log",
      }),
      sandboxConfig: config,
    });
    await agent.cri.runtime.startContainer({ containerId });
    // timeout 0: no deadline, the command runs as long as it likes.
    const stuck = agent.cri.runtime.execSync({ containerId, cmd: ["sleep", "100000"], timeout: 0n });
    stuck.catch(() => undefined);
    // The exec runs inside the container before the signal is sent.
    const ps = async () =>
      (await agent!.cri.runtime.execSync({ containerId, cmd: ["ps"], timeout: 10n })).stdout.toString();
    await waitFor(async () => (await ps()).split("\n").filter((l) => l.includes("sleep 100000")).length >= 2);

    const exited = new Promise<number | null>((resolve) =>
      agent!.child.once("exit", (code) => resolve(code)),
    );
    agent.child.kill("SIGTERM");
    // Without a bound this waits for the exec, 100000 s: the test's own timeout fails it.
    const code = await exited;
    // An orderly stop (not death by the signal), then an exit although the exec still runs.
    expect(agent.output()).toMatch(/berth agent stopped/);
    expect(code).toBe(0);
    agent = undefined;
  }, 60_000);
});
