// A unary call ends with its caller: when the client's deadline passes, work berth started for
// it stops instead of running on for nobody.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { status } from "@grpc/grpc-js";
import type { PodSandboxConfig } from "../../../../cri/api/generated/api.js";
import { connectCri } from "../../../../cri/grpc-client.js";
import { sandboxConfig, startHarness, type Harness } from "../../../../harness/runtime-harness.js";
import { containerConfig, grpcError, waitFor } from "../../../../harness/cri-fixtures.js";

describe("call deadlines", () => {
  let h: Harness;
  let image: string;
  let podSandboxId: string;
  let config: PodSandboxConfig;

  beforeAll(async () => {
    h = await startHarness();
    image = await h.importBusybox();
    config = sandboxConfig("deadlines");
    podSandboxId = (await h.cri.runtime.runPodSandbox({ config, runtimeHandler: "" })).podSandboxId;
  });
  afterAll(async () => {
    await h.cleanup();
  });

  it("ExecSync without a timeout of its own is killed when the caller's deadline passes", async () => {
    const { containerId } = await h.cri.runtime.createContainer({
      podSandboxId,
      config: containerConfig("exec-target", image, ["sleep", "1000"]),
      sandboxConfig: config,
    });
    await h.cri.runtime.startContainer({ containerId });
    const impatient = connectCri(h.socket, 1500);
    try {
      const err = await grpcError(
        impatient.runtime.execSync({
          containerId,
          cmd: ["sh", "-c", "echo $$ > /tmp/exec.pid; exec sleep 600"],
          timeout: 0n,
        }),
      );
      expect(err.code).toBe(status.DEADLINE_EXCEEDED);
    } finally {
      impatient.close();
    }
    const state = async (): Promise<string> => {
      const { stdout } = await h.cri.runtime.execSync({
        containerId,
        cmd: [
          "sh",
          "-c",
          "[ -e /tmp/exec.pid ] || echo none; [ -e /proc/$(cat /tmp/exec.pid) ] && echo alive || echo gone",
        ],
        timeout: 5n,
      });
      return Buffer.from(stdout).toString().trim();
    };
    await waitFor(async () => (await state()) === "gone", 10_000, "the abandoned exec killed");
    await h.cri.runtime.stopContainer({ containerId, timeout: 0n });
    await h.cri.runtime.removeContainer({ containerId });
  });
});
