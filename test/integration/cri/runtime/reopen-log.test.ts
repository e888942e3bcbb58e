// ReopenContainerLog answers once conmon has opened the new log file: clients that rotate
// logs (the kubelet, crictl) look for the file as soon as the call returns.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdir, readFile, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { status } from "@grpc/grpc-js";
import type { PodSandboxConfig } from "../../../../cri/api/generated/api.js";
import { sandboxConfig, startHarness, type Harness } from "../../../../harness/runtime-harness.js";
import { containerConfig, grpcError, waitFor } from "../../../../harness/cri-fixtures.js";

describe("reopen container log", () => {
  let h: Harness;
  let image: string;
  let podSandboxId: string;
  let config: PodSandboxConfig;
  let logDir: string;

  beforeAll(async () => {
    h = await startHarness();
    image = await h.importBusybox();
    logDir = join(h.root, "logs");
    config = sandboxConfig("reopen", { logDirectory: logDir });
    podSandboxId = (await h.cri.runtime.runPodSandbox({ config, runtimeHandler: "" })).podSandboxId;
  });
  afterAll(async () => {
    await h.cleanup();
  });

  async function run(name: string, command: string[]): Promise<string> {
    const { containerId } = await h.cri.runtime.createContainer({
      podSandboxId,
      config: containerConfig(name, image, command),
      sandboxConfig: config,
    });
    await h.cri.runtime.startContainer({ containerId });
    return containerId;
  }

  it("the new log file exists when the call returns, after every rotation", async () => {
    const id = await run("rotated", ["sh", "-c", "while :; do echo tick; sleep 0.2; done"]);
    const log = join(logDir, "rotated/0.log");
    await waitFor(async () => (await readFile(log, "utf8").catch(() => "")).includes("tick"));
    for (let rotation = 1; rotation <= 5; rotation++) {
      const before = await stat(log);
      await rename(log, `${log}.${rotation}`);
      await h.cri.runtime.reopenContainerLog({ containerId: id });
      const after = await stat(log);
      expect(after.ino).not.toBe(before.ino);
    }
    // And the container's output goes to it.
    await waitFor(async () => (await readFile(log, "utf8").catch(() => "")).includes("tick"));
    await h.cri.runtime.removeContainer({ containerId: id });
  });

  it("a reopen into a log directory that is gone is refused, and conmon keeps the container", async () => {
    const id = await run("unreopenable", ["sh", "-c", "while :; do echo tick; sleep 0.2; done"]);
    const dir = join(logDir, "unreopenable");
    const log = join(dir, "0.log");
    await waitFor(async () => (await stat(log).catch(() => undefined)) !== undefined);
    await rm(dir, { recursive: true, force: true });
    const err = await grpcError(h.cri.runtime.reopenContainerLog({ containerId: id }));
    expect(err.code).toBe(status.FAILED_PRECONDITION);
    expect(err.details).toContain(dir);
    // conmon was not asked, so it still supervises the container: a later reopen works.
    await mkdir(dir);
    await h.cri.runtime.reopenContainerLog({ containerId: id });
    await stat(log);
    await waitFor(async () => (await readFile(log, "utf8").catch(() => "")).includes("tick"));
    await h.cri.runtime.stopContainer({ containerId: id, timeout: 0n });
    const s = await h.cri.runtime.containerStatus({ containerId: id, verbose: false });
    expect(s.status?.exitCode).toBe(137);
    await h.cri.runtime.removeContainer({ containerId: id });
  });
});
