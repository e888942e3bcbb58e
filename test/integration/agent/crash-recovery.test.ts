import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFile, rm, writeFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { ContainerConfig, ContainerState, PodSandboxState } from "../../../cri/api/generated/api.js";
import { sandboxConfig } from "../../../harness/runtime-harness.js";
import {
  agentTestDirs,
  importBusyboxBeforeStart,
  startAgentProcess,
  type AgentDirs,
  type AgentProcess,
} from "../../../harness/agent-process.js";
import { forceCleanup } from "../../../harness/force-cleanup.js";

const IMAGE = "berth.test/crash:1";

function container(name: string, command: string[]): ContainerConfig {
  return ContainerConfig.fromPartial({
    metadata: { name },
    image: { image: IMAGE },
    command,
    logPath: `${name}.log`,
  });
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("kill -9 of the agent loses nothing", () => {
  let root: string;
  let dirs: AgentDirs;
  let agent: AgentProcess | undefined;

  beforeAll(async () => {
    ({ root, dirs } = await agentTestDirs("bcr-"));
    await importBusyboxBeforeStart(root, dirs, IMAGE);
  });

  afterAll(async () => {
    await agent?.stop().catch(() => undefined);
    await forceCleanup(root, join(dirs.runDir, "runc"), dirs.cgroupRoot);
  });

  it("keeps containers running while it is down and reports exits that happened meanwhile", async () => {
    agent = await startAgentProcess(dirs);
    const config = sandboxConfig("crashy", { logDirectory: join(root, "logs") });
    const { podSandboxId } = await agent.cri.runtime.runPodSandbox({ config, runtimeHandler: "" });
    const long = await agent.cri.runtime.createContainer({
      podSandboxId,
      config: container("long", ["sleep", "1000"]),
      sandboxConfig: config,
    });
    const short = await agent.cri.runtime.createContainer({
      podSandboxId,
      config: container("short", ["sh", "-c", "sleep 2; echo bye; exit 5"]),
      sandboxConfig: config,
    });
    const idle = await agent.cri.runtime.createContainer({
      podSandboxId,
      config: container("idle", ["sleep", "1000"]),
      sandboxConfig: config,
    });
    await agent.cri.runtime.startContainer({ containerId: long.containerId });
    await agent.cri.runtime.startContainer({ containerId: short.containerId });
    const longPid = Number(
      JSON.parse(
        (await agent.cri.runtime.containerStatus({ containerId: long.containerId, verbose: true })).info
          .info!,
      ).pid,
    );
    expect(pidAlive(longPid)).toBe(true);

    await agent.kill9();
    const killedAt = BigInt(Date.now()) * 1_000_000n;
    // While the agent is down: the short container exits, the long one keeps running.
    await new Promise((r) => setTimeout(r, 3500));
    expect(pidAlive(longPid)).toBe(true);

    agent = await startAgentProcess(dirs);
    const sandboxes = await agent.cri.runtime.listPodSandbox({});
    expect(sandboxes.items.map((s) => [s.id, s.state])).toEqual([
      [podSandboxId, PodSandboxState.SANDBOX_READY],
    ]);
    const longStatus = (
      await agent.cri.runtime.containerStatus({ containerId: long.containerId, verbose: false })
    ).status!;
    expect(longStatus.state).toBe(ContainerState.CONTAINER_RUNNING);
    const shortStatus = (
      await agent.cri.runtime.containerStatus({ containerId: short.containerId, verbose: false })
    ).status!;
    expect(shortStatus.state).toBe(ContainerState.CONTAINER_EXITED);
    expect(shortStatus.exitCode).toBe(5);
    expect(shortStatus.finishedAt).toBeGreaterThan(killedAt);
    const idleStatus = (
      await agent.cri.runtime.containerStatus({ containerId: idle.containerId, verbose: false })
    ).status!;
    expect(idleStatus.state).toBe(ContainerState.CONTAINER_CREATED);
    // The log written while the agent was down is there.
    expect(await readFile(join(root, "logs", "short.log"), "utf8")).toMatch(/ stdout F bye\n$/);

    // The re-adopted containers are fully manageable.
    await agent.cri.runtime.startContainer({ containerId: idle.containerId });
    await agent.cri.runtime.stopContainer({ containerId: long.containerId, timeout: 2n });
    expect(pidAlive(longPid)).toBe(false);
    await agent.cri.runtime.removePodSandbox({ podSandboxId });
    expect((await agent.cri.runtime.listContainers({})).containers).toEqual([]);
  });

  it("undoes a sandbox whose creation was interrupted by the crash", async () => {
    agent ??= await startAgentProcess(dirs);
    const config = sandboxConfig("halfmade");
    const { podSandboxId } = await agent.cri.runtime.runPodSandbox({ config, runtimeHandler: "" });
    await agent.kill9();
    // What a kill in the middle of RunPodSandbox leaves: everything made, the record still "creating".
    const recordPath = join(dirs.stateDir, "state", "sandboxes", `${podSandboxId}.json`);
    const record = JSON.parse(await readFile(recordPath, "utf8")) as { state: string };
    record.state = "creating";
    await writeFile(recordPath, JSON.stringify(record));

    agent = await startAgentProcess(dirs);
    expect((await agent.cri.runtime.listPodSandbox({})).items).toEqual([]);
    expect(await readdir(join(dirs.runDir, "runc"))).toEqual([]);
    expect(await readdir(join(dirs.runDir, "netns"))).toEqual([]);
    const mounts = (await readFile("/proc/self/mountinfo", "utf8"))
      .split("\n")
      .filter((l) => l.includes(root));
    expect(mounts).toEqual([]);
    // The name is free again.
    const again = await agent.cri.runtime.runPodSandbox({ config, runtimeHandler: "" });
    await agent.cri.runtime.removePodSandbox({ podSandboxId: again.podSandboxId });
    await agent.stop();
    agent = undefined;
    await rm(join(root, "layout"), { recursive: true, force: true });
  });
});
