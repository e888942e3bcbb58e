// CheckpointContainer over berth's socket, with the real runc and the host's CRIU. Which
// outcome is right depends on this host, asked here the same way berth asks it
// (`criu check`): where CRIU works, the archive is written and the container keeps running;
// where it does not, the RPC is FAILED_PRECONDITION quoting CRIU, and no file is written.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { status } from "@grpc/grpc-js";
import { execa } from "execa";
import { ContainerState, type PodSandboxConfig } from "../../../../cri/api/generated/api.js";
import { sandboxConfig, startHarness, type Harness } from "../../../../harness/runtime-harness.js";
import { containerConfig, grpcError, waitFor } from "../../../../harness/cri-fixtures.js";

describe("CheckpointContainer", () => {
  let h: Harness;
  let image: string;
  let config: PodSandboxConfig;
  let podSandboxId: string;
  let running: string;
  let criuWorks: boolean;
  let criuErrors: string[];

  beforeAll(async () => {
    const check = await execa("criu", ["check"], { reject: false, all: true });
    if ((check as { code?: string }).code === "ENOENT")
      throw new Error("criu is not installed: run scripts/setup.sh (Debian package criu)");
    criuWorks = check.exitCode === 0;
    criuErrors = String(check.all ?? "")
      .split("\n")
      .filter((l) => /^Error/.test(l.trim()));
    h = await startHarness();
    image = await h.importBusybox();
    config = sandboxConfig("ckpt");
    podSandboxId = (await h.cri.runtime.runPodSandbox({ config, runtimeHandler: "" })).podSandboxId;
    const { containerId } = await h.cri.runtime.createContainer({
      podSandboxId,
      config: containerConfig("counter", image, [
        "sh",
        "-c",
        "echo state > /written; while :; do sleep 1; done",
      ]),
      sandboxConfig: config,
    });
    await h.cri.runtime.startContainer({ containerId });
    running = containerId;
  });
  afterAll(async () => {
    await h?.cleanup();
  });

  it("bad requests: INVALID_ARGUMENT naming the field, NOT_FOUND, FAILED_PRECONDITION when not running", async () => {
    const noLocation = await grpcError(
      h.cri.runtime.checkpointContainer({ containerId: running, location: "", timeout: 0n }),
    );
    expect(noLocation.code).toBe(status.INVALID_ARGUMENT);
    expect(noLocation.details).toMatch(/^location/);
    const relative = await grpcError(
      h.cri.runtime.checkpointContainer({ containerId: running, location: "ckpt.tar", timeout: 0n }),
    );
    expect(relative.code).toBe(status.INVALID_ARGUMENT);
    expect(relative.details).toMatch(/location.*absolute/);
    const noId = await grpcError(
      h.cri.runtime.checkpointContainer({ containerId: "", location: "/tmp/x.tar", timeout: 0n }),
    );
    expect(noId.code).toBe(status.INVALID_ARGUMENT);
    expect(noId.details).toMatch(/container_id/);
    const unknown = await grpcError(
      h.cri.runtime.checkpointContainer({
        containerId: "nope",
        location: join(h.root, "x.tar"),
        timeout: 0n,
      }),
    );
    expect(unknown.code).toBe(status.NOT_FOUND);

    const { containerId: exited } = await h.cri.runtime.createContainer({
      podSandboxId,
      config: containerConfig("done", image, ["true"]),
      sandboxConfig: config,
    });
    await h.cri.runtime.startContainer({ containerId: exited });
    await waitFor(
      async () =>
        (await h.cri.runtime.containerStatus({ containerId: exited, verbose: false })).status!.state ===
        ContainerState.CONTAINER_EXITED,
    );
    const notRunning = await grpcError(
      h.cri.runtime.checkpointContainer({
        containerId: exited,
        location: join(h.root, "x.tar"),
        timeout: 0n,
      }),
    );
    expect(notRunning.code).toBe(status.FAILED_PRECONDITION);
    expect(notRunning.details).toMatch(/not running/);
  });

  it("checkpoints a running container where CRIU works, and says why not where it does not", async () => {
    const location = join(h.root, "counter.tar");
    if (criuWorks) {
      await h.cri.runtime.checkpointContainer({ containerId: running, location, timeout: 120n });
      const listing = (await execa("tar", ["-tf", location])).stdout.split("\n");
      expect(listing).toEqual(
        expect.arrayContaining(["checkpoint/", "spec.dump", "config.dump", "rootfs-diff.tar"]),
      );
      expect(listing.some((f) => f.startsWith("checkpoint/") && f.endsWith(".img"))).toBe(true);
      const rootfsDiff = await execa("sh", ["-c", `tar -xOf ${location} rootfs-diff.tar | tar -t`]);
      expect(rootfsDiff.stdout).toContain("./written");
      const s = (await h.cri.runtime.containerStatus({ containerId: running, verbose: false })).status!;
      expect(s.state).toBe(ContainerState.CONTAINER_RUNNING);
    } else {
      const err = await grpcError(
        h.cri.runtime.checkpointContainer({ containerId: running, location, timeout: 120n }),
      );
      expect(err.code).toBe(status.FAILED_PRECONDITION);
      expect(err.details).toMatch(
        /^checkpointing needs CRIU, which does not work on this host: criu check failed: /,
      );
      expect(criuErrors.length).toBeGreaterThan(0);
      expect(err.details).toContain(criuErrors[0]!.trim());
      expect(await stat(location).catch(() => undefined)).toBeUndefined();
      expect((await readdir(h.root)).filter((f) => f.includes("checkpoint"))).toEqual([]);
      // The container is untouched.
      const s = (await h.cri.runtime.containerStatus({ containerId: running, verbose: false })).status!;
      expect(s.state).toBe(ContainerState.CONTAINER_RUNNING);
    }
  });
});
