import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { ContainerState, PodSandboxState } from "../../../../cri/api/generated/api.js";
import { containerConfig, waitFor } from "../../../../harness/cri-fixtures.js";
import { sandboxConfig, startHarness, type Harness } from "../../../../harness/runtime-harness.js";

describe("sandbox and container lifecycle on runc + conmon", () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(async () => {
    await h.cleanup();
  });

  it("runs a sandbox with two containers, logs in CRI format, and removes everything", async () => {
    const image = await h.importBusybox();
    const logDirectory = join(h.root, "pod-logs");
    const config = sandboxConfig("web", {
      logDirectory,
      dnsConfig: { servers: ["192.0.2.53"], searches: ["svc.local"], options: ["ndots:2"] },
    });
    const { podSandboxId } = await h.cri.runtime.runPodSandbox({ config, runtimeHandler: "" });

    const status = await h.cri.runtime.podSandboxStatus({ podSandboxId, verbose: false });
    expect(status.status?.state).toBe(PodSandboxState.SANDBOX_READY);
    expect(status.status?.metadata?.name).toBe("web");

    const a = await h.cri.runtime.createContainer({
      podSandboxId,
      config: containerConfig("a", image, [
        "sh",
        "-c",
        "echo out-line; echo err-line >&2; cat /etc/resolv.conf; hostname; sleep 1000",
      ]),
      sandboxConfig: config,
    });
    const b = await h.cri.runtime.createContainer({
      podSandboxId,
      config: containerConfig("b", image, ["sh", "-c", "exit 7"]),
      sandboxConfig: config,
    });
    const created = await h.cri.runtime.containerStatus({ containerId: a.containerId, verbose: false });
    expect(created.status?.state).toBe(ContainerState.CONTAINER_CREATED);

    await h.cri.runtime.startContainer({ containerId: a.containerId });
    await h.cri.runtime.startContainer({ containerId: b.containerId });

    await waitFor(async () => {
      const s = await h.cri.runtime.containerStatus({ containerId: b.containerId, verbose: false });
      return s.status?.state === ContainerState.CONTAINER_EXITED;
    });
    const bStatus = (await h.cri.runtime.containerStatus({ containerId: b.containerId, verbose: false }))
      .status!;
    expect(bStatus.exitCode).toBe(7);
    expect(bStatus.reason).toBe("Error");
    expect(bStatus.finishedAt).toBeGreaterThanOrEqual(bStatus.startedAt);

    const logFile = join(logDirectory, "a/0.log");
    await waitFor(async () => (await readFile(logFile, "utf8").catch(() => "")).includes("web"));
    const lines = (await readFile(logFile, "utf8")).trim().split("\n");
    const criLine = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+(Z|[+-]\d\d:\d\d) (stdout|stderr) (P|F) (.*)$/;
    for (const line of lines) expect(line).toMatch(criLine);
    expect(lines.some((l) => / stdout F out-line$/.test(l))).toBe(true);
    expect(lines.some((l) => / stderr F err-line$/.test(l))).toBe(true);
    expect(lines.some((l) => l.endsWith("nameserver 192.0.2.53"))).toBe(true);
    expect(lines.some((l) => l.endsWith(" web"))).toBe(true); // hostname from the sandbox

    const exec = await h.cri.runtime.execSync({
      containerId: a.containerId,
      cmd: ["sh", "-c", "echo hi; echo oops >&2; exit 3"],
      timeout: 10n,
    });
    expect(Buffer.from(exec.stdout).toString()).toBe("hi\n");
    expect(Buffer.from(exec.stderr).toString()).toBe("oops\n");
    expect(exec.exitCode).toBe(3);

    const list = await h.cri.runtime.listContainers({
      filter: { id: "", podSandboxId, labelSelector: { name: "a" } },
    });
    expect(list.containers.map((c) => c.id)).toEqual([a.containerId]);
    const running = await h.cri.runtime.listContainers({
      filter: {
        id: "",
        podSandboxId: "",
        labelSelector: {},
        state: { state: ContainerState.CONTAINER_RUNNING },
      },
    });
    expect(running.containers.map((c) => c.id)).toEqual([a.containerId]);

    await h.cri.runtime.stopPodSandbox({ podSandboxId });
    const aStopped = (await h.cri.runtime.containerStatus({ containerId: a.containerId, verbose: false }))
      .status!;
    expect(aStopped.state).toBe(ContainerState.CONTAINER_EXITED);
    expect((await h.cri.runtime.podSandboxStatus({ podSandboxId, verbose: false })).status?.state).toBe(
      PodSandboxState.SANDBOX_NOTREADY,
    );
    // Stop and remove are idempotent.
    await h.cri.runtime.stopPodSandbox({ podSandboxId });
    await h.cri.runtime.removePodSandbox({ podSandboxId });
    await h.cri.runtime.removePodSandbox({ podSandboxId });
    expect((await h.cri.runtime.listPodSandbox({})).items).toEqual([]);
    expect((await h.cri.runtime.listContainers({})).containers).toEqual([]);
  });

  it("removing a container and its sandbox leaves no exit file or attach link in the run dir", async () => {
    const image = await h.importBusybox();
    const config = sandboxConfig("tidy", { logDirectory: join(h.root, "tidy-logs") });
    const { podSandboxId } = await h.cri.runtime.runPodSandbox({ config, runtimeHandler: "" });
    const { containerId } = await h.cri.runtime.createContainer({
      podSandboxId,
      config: containerConfig("c", image, ["sh", "-c", "exit 0"]),
      sandboxConfig: config,
    });
    await h.cri.runtime.startContainer({ containerId });
    const runDir = h.options.runDir;
    const entries = async (): Promise<string[]> => [
      ...(await readdir(join(runDir, "exits")).catch(() => [])).map((e) => `exits/${e}`),
      ...(await readdir(join(runDir, "attach")).catch(() => [])).map((e) => `attach/${e}`),
    ];
    // conmon made them: the container's and the infra process's.
    await waitFor(async () => (await entries()).includes(`exits/${containerId}`));
    expect(await entries()).toEqual(
      expect.arrayContaining([`attach/${containerId}`, `attach/${podSandboxId}`]),
    );

    await h.cri.runtime.removeContainer({ containerId });
    expect((await entries()).filter((e) => e.endsWith(containerId))).toEqual([]);
    await h.cri.runtime.removePodSandbox({ podSandboxId });
    expect(await entries()).toEqual([]);
  });
});
