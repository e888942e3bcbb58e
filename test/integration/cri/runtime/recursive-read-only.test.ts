// Recursive read-only mounts (Mount.recursive_read_only) through berth's CRI socket, on
// the real runc and kernel: a host dir with a tmpfs mounted under it, bound read-only
// into a container. A plain read-only bind leaves the sub-mount writable; a recursive one
// does not. On a host that cannot make them (here: a runc that cannot report its
// features), the Status says so and a request for one is refused before anything exists.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { status } from "@grpc/grpc-js";
import { Mount, MountPropagation, type PodSandboxConfig } from "../../../../cri/api/generated/api.js";
import { mountTmpfs, unmountIfMounted } from "../../../../common/mounts.js";
import { sandboxConfig, startHarness, type Harness } from "../../../../harness/runtime-harness.js";
import { containerConfig, grpcError } from "../../../../harness/cri-fixtures.js";

describe("recursive read-only mounts", () => {
  let h: Harness;
  let image: string;
  let podSandboxId: string;
  let config: PodSandboxConfig;
  let hostDir: string;
  let subMount: string;

  beforeAll(async () => {
    hostDir = await mkdtemp(join(tmpdir(), "brro-"));
    subMount = join(hostDir, "sub");
    await mkdir(subMount);
    await mountTmpfs(subMount, ["size=1m", "mode=0777"], "the test's sub-mount");
    h = await startHarness();
    image = await h.importBusybox();
    config = sandboxConfig("rro");
    podSandboxId = (await h.cri.runtime.runPodSandbox({ config, runtimeHandler: "" })).podSandboxId;
  });
  afterAll(async () => {
    try {
      await h?.cleanup();
    } finally {
      await unmountIfMounted(subMount);
      await rm(hostDir, { recursive: true, force: true });
    }
  });

  const dataMount = (extra: Partial<Mount>): Mount =>
    Mount.fromPartial({ containerPath: "/data", hostPath: hostDir, readonly: true, ...extra });

  async function runWith(name: string, mount: Mount): Promise<string> {
    const { containerId } = await h.cri.runtime.createContainer({
      podSandboxId,
      config: containerConfig(name, image, ["sleep", "1000"], { mounts: [mount] }),
      sandboxConfig: config,
    });
    await h.cri.runtime.startContainer({ containerId });
    return containerId;
  }

  async function tryWrite(containerId: string, path: string) {
    const res = await h.cri.runtime.execSync({
      containerId,
      cmd: ["sh", "-c", `echo hello > ${path}`],
      timeout: 20n,
    });
    return { exitCode: res.exitCode, stderr: Buffer.from(res.stderr).toString() };
  }

  it("Status advertises recursive read-only mounts: runc lists rro and the kernel has mount_setattr", async () => {
    const res = await h.cri.runtime.status({ verbose: false });
    expect(res.runtimeHandlers).toHaveLength(1);
    expect(res.runtimeHandlers[0]!.features).toEqual({
      recursiveReadOnlyMounts: true,
      userNamespaces: false,
    });
  });

  it("a plain read-only bind leaves the sub-mount writable", async () => {
    const id = await runWith("plain-ro", dataMount({}));
    const top = await tryWrite(id, "/data/top");
    expect(top.exitCode).not.toBe(0);
    expect(top.stderr).toMatch(/Read-only file system/);
    const sub = await tryWrite(id, "/data/sub/plain");
    expect(sub.exitCode).toBe(0);
    expect(await readFile(join(subMount, "plain"), "utf8")).toBe("hello\n");
    await h.cri.runtime.removeContainer({ containerId: id });
  });

  it("a recursive read-only bind makes the sub-mount read-only too", async () => {
    const id = await runWith("rro", dataMount({ recursiveReadOnly: true }));
    const sub = await tryWrite(id, "/data/sub/recursive");
    expect(sub.exitCode).not.toBe(0);
    expect(sub.stderr).toMatch(/Read-only file system/);
    const top = await tryWrite(id, "/data/top");
    expect(top.exitCode).not.toBe(0);
    // The host's own view of the sub-mount stays writable: only the container's bind is read-only.
    await writeFile(join(subMount, "from-host"), "x");
    const status = await h.cri.runtime.containerStatus({ containerId: id, verbose: false });
    expect(status.status!.mounts[0]!.recursiveReadOnly).toBe(true);
    await h.cri.runtime.removeContainer({ containerId: id });
  });

  it("recursive read-only without readonly, or with non-private propagation, is INVALID_ARGUMENT", async () => {
    const notReadonly = await grpcError(
      runWith("rro-rw", dataMount({ readonly: false, recursiveReadOnly: true })),
    );
    expect(notReadonly.code).toBe(status.INVALID_ARGUMENT);
    expect(notReadonly.details).toContain("config.mounts[0].recursive_read_only");
    expect(notReadonly.details).toMatch(/readonly/);
    const slave = await grpcError(
      runWith(
        "rro-slave",
        dataMount({ recursiveReadOnly: true, propagation: MountPropagation.PROPAGATION_HOST_TO_CONTAINER }),
      ),
    );
    expect(slave.code).toBe(status.INVALID_ARGUMENT);
    expect(slave.details).toContain("config.mounts[0].recursive_read_only");
    expect(slave.details).toMatch(/PROPAGATION_PRIVATE/);
    expect((await h.cri.runtime.listContainers({})).containers).toEqual([]);
  });
});

describe("recursive read-only mounts on a host whose runc cannot make them", () => {
  let h: Harness;
  let image: string;
  let wrapperDir: string;

  beforeAll(async () => {
    // A runc without the "features" command (as before 1.1): everything else is the real runc.
    wrapperDir = await mkdtemp(join(tmpdir(), "brro-runc-"));
    const wrapper = join(wrapperDir, "runc");
    await writeFile(
      wrapper,
      '#!/bin/sh\nif [ "$1" = features ]; then echo "No help topic for \'features\'" >&2; exit 3; fi\nexec /usr/sbin/runc "$@"\n',
    );
    await chmod(wrapper, 0o755);
    h = await startHarness({ runcBinary: wrapper });
    image = await h.importBusybox();
  });
  afterAll(async () => {
    try {
      await h?.cleanup();
    } finally {
      await rm(wrapperDir, { recursive: true, force: true });
    }
  });

  it("Status does not advertise them, and a request for one is refused with the reason", async () => {
    const res = await h.cri.runtime.status({ verbose: false });
    expect(res.runtimeHandlers[0]!.features!.recursiveReadOnlyMounts).toBe(false);

    const config = sandboxConfig("rro-unsupported");
    const { podSandboxId } = await h.cri.runtime.runPodSandbox({ config, runtimeHandler: "" });
    const err = await grpcError(
      h.cri.runtime.createContainer({
        podSandboxId,
        config: containerConfig("rro", image, ["sleep", "1000"], {
          mounts: [
            Mount.fromPartial({
              containerPath: "/data",
              hostPath: wrapperDir,
              readonly: true,
              recursiveReadOnly: true,
            }),
          ],
        }),
        sandboxConfig: config,
      }),
    );
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    expect(err.details).toContain("config.mounts[0].recursive_read_only");
    expect(err.details).toMatch(/cannot make recursively read-only mounts: runc cannot report its features/);
    expect((await h.cri.runtime.listContainers({})).containers).toEqual([]);
  });
});
