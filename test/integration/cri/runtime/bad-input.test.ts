import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { status } from "@grpc/grpc-js";
import { LinuxContainerConfig, Mount, PodSandboxConfig } from "../../../../cri/api/generated/api.js";
import { sandboxConfig, startHarness, type Harness } from "../../../../harness/runtime-harness.js";
import { containerConfig, grpcError } from "../../../../harness/cri-fixtures.js";

describe("bad input gets a clear status and leaves nothing behind", () => {
  let h: Harness;
  let image: string;
  let podSandboxId: string;
  let config: PodSandboxConfig;

  beforeAll(async () => {
    h = await startHarness();
    image = await h.importBusybox();
    config = sandboxConfig("bad");
    podSandboxId = (await h.cri.runtime.runPodSandbox({ config, runtimeHandler: "" })).podSandboxId;
  });
  afterAll(async () => {
    await h.cleanup();
  });

  async function containersLeft(): Promise<number> {
    return (await h.cri.runtime.listContainers({})).containers.length;
  }

  it("sandbox without metadata, or with an empty name, is INVALID_ARGUMENT naming the field", async () => {
    const noMeta = await grpcError(
      h.cri.runtime.runPodSandbox({ config: PodSandboxConfig.fromPartial({}), runtimeHandler: "" }),
    );
    expect(noMeta.code).toBe(status.INVALID_ARGUMENT);
    expect(noMeta.details).toMatch(/metadata/);
    const noName = await grpcError(
      h.cri.runtime.runPodSandbox({ config: sandboxConfig("", { hostname: "x" }), runtimeHandler: "" }),
    );
    expect(noName.code).toBe(status.INVALID_ARGUMENT);
    expect(noName.details).toMatch(/metadata\.name/);
    expect((await h.cri.runtime.listPodSandbox({})).items).toHaveLength(1);
  });

  it("a duplicate sandbox name is ALREADY_EXISTS", async () => {
    const dup = await grpcError(h.cri.runtime.runPodSandbox({ config, runtimeHandler: "" }));
    expect(dup.code).toBe(status.ALREADY_EXISTS);
    expect(dup.details).toContain(podSandboxId);
  });

  it("unknown ids are NOT_FOUND for status calls, and fine for stop and remove", async () => {
    expect(
      (await grpcError(h.cri.runtime.podSandboxStatus({ podSandboxId: "nope", verbose: false }))).code,
    ).toBe(status.NOT_FOUND);
    expect(
      (await grpcError(h.cri.runtime.containerStatus({ containerId: "nope", verbose: false }))).code,
    ).toBe(status.NOT_FOUND);
    expect((await grpcError(h.cri.runtime.startContainer({ containerId: "nope" }))).code).toBe(
      status.NOT_FOUND,
    );
    await h.cri.runtime.stopContainer({ containerId: "nope", timeout: 0n });
    await h.cri.runtime.removeContainer({ containerId: "nope" });
    await h.cri.runtime.stopPodSandbox({ podSandboxId: "nope" });
    await h.cri.runtime.removePodSandbox({ podSandboxId: "nope" });
    const empty = await grpcError(h.cri.runtime.containerStatus({ containerId: "", verbose: false }));
    expect(empty.code).toBe(status.INVALID_ARGUMENT);
    expect(empty.details).toMatch(/container_id/);
  });

  it("a container in an unknown sandbox, or of an unknown image, is NOT_FOUND", async () => {
    const noSandbox = await grpcError(
      h.cri.runtime.createContainer({
        podSandboxId: "missing",
        config: containerConfig("c", image, ["true"]),
        sandboxConfig: config,
      }),
    );
    expect(noSandbox.code).toBe(status.NOT_FOUND);
    expect(noSandbox.details).toMatch(/sandbox "missing"/);
    const noImage = await grpcError(
      h.cri.runtime.createContainer({
        podSandboxId,
        config: containerConfig("c", "berth.test/none:1", ["true"]),
        sandboxConfig: config,
      }),
    );
    expect(noImage.code).toBe(status.NOT_FOUND);
    expect(noImage.details).toMatch(/image "berth.test\/none:1"/);
    expect(await containersLeft()).toBe(0);
  });

  it("a missing mount source is INVALID_ARGUMENT naming the mount, with no rootfs, bundle or cgroup left", async () => {
    const bad = containerConfig("m", image, ["true"], {
      mounts: [Mount.fromPartial({ containerPath: "/data", hostPath: "/does/not/exist" })],
    });
    const err = await grpcError(
      h.cri.runtime.createContainer({ podSandboxId, config: bad, sandboxConfig: config }),
    );
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toMatch(/mounts\[0\]\.host_path/);
    expect(await containersLeft()).toBe(0);
    const mounts = (await readFile("/proc/self/mountinfo", "utf8"))
      .split("\n")
      .filter((l) => l.includes(join(h.root, "state", "snapshots")));
    expect(mounts).toEqual([]);
    expect(await readdir(join(h.options.stateDir, "containers"))).toEqual([]);
    expect(await readdir(join(h.options.stateDir, "state", "containers")).catch(() => [])).toEqual([]);
  });

  it("a working directory that is not a directory is INVALID_ARGUMENT naming it, with nothing left", async () => {
    for (const workingDir of ["/etc/passwd", "/dev/null"]) {
      const bad = containerConfig("wd", image, ["true"], { workingDir });
      const err = await grpcError(
        h.cri.runtime.createContainer({ podSandboxId, config: bad, sandboxConfig: config }),
      );
      expect(err.code).toBe(status.INVALID_ARGUMENT);
      expect(err.details).toMatch(/^config\.working_dir: /);
      expect(err.details).toContain(workingDir);
      expect(await containersLeft()).toBe(0);
      expect(await readdir(join(h.options.stateDir, "containers"))).toEqual([]);
      expect(await readdir(join(h.options.runDir, "runc")).catch(() => [])).toEqual([podSandboxId]);
    }
  });

  it("absurd resources are INVALID_ARGUMENT naming the field", async () => {
    const tiny = containerConfig("r", image, ["true"], {
      linux: LinuxContainerConfig.fromPartial({ resources: { memoryLimitInBytes: 1n } }),
    });
    const err = await grpcError(
      h.cri.runtime.createContainer({ podSandboxId, config: tiny, sandboxConfig: config }),
    );
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toMatch(/memory_limit_in_bytes/);
    expect(await containersLeft()).toBe(0);
  });

  it("duplicate container names are ALREADY_EXISTS; start twice and exec on a stopped container are FAILED_PRECONDITION", async () => {
    const { containerId } = await h.cri.runtime.createContainer({
      podSandboxId,
      config: containerConfig("dup", image, ["sleep", "100"]),
      sandboxConfig: config,
    });
    const dup = await grpcError(
      h.cri.runtime.createContainer({
        podSandboxId,
        config: containerConfig("dup", image, ["sleep", "100"]),
        sandboxConfig: config,
      }),
    );
    expect(dup.code).toBe(status.ALREADY_EXISTS);
    const notRunning = await grpcError(h.cri.runtime.execSync({ containerId, cmd: ["true"], timeout: 0n }));
    expect(notRunning.code).toBe(status.FAILED_PRECONDITION);
    await h.cri.runtime.startContainer({ containerId });
    const twice = await grpcError(h.cri.runtime.startContainer({ containerId }));
    expect(twice.code).toBe(status.FAILED_PRECONDITION);
    const emptyCmd = await grpcError(h.cri.runtime.execSync({ containerId, cmd: [], timeout: 0n }));
    expect(emptyCmd.code).toBe(status.INVALID_ARGUMENT);
    await h.cri.runtime.removeContainer({ containerId });
    expect(await containersLeft()).toBe(0);
  });

  it("RPCs berth does not implement answer UNIMPLEMENTED", async () => {
    const err = await grpcError(h.cri.runtime.updatePodSandboxResources({ podSandboxId: podSandboxId }));
    expect(err.code).toBe(status.UNIMPLEMENTED);
  });
});
