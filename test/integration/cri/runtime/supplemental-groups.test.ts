// SupplementalGroupsPolicy through berth's CRI socket, on the real runc: the groups the
// container's first process really has (its /proc/self/status) and what ContainerStatus.user
// reports. The test image's /etc/group makes user "berth" (1000:1000) a member of "extra" (2000).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import {
  ContainerState,
  SupplementalGroupsPolicy,
  type LinuxContainerSecurityContext,
  type PodSandboxConfig,
} from "../../../../cri/api/generated/api.js";
import { sandboxConfig, startHarness, type Harness } from "../../../../harness/runtime-harness.js";
import { containerConfig, waitFor } from "../../../../harness/cri-fixtures.js";

describe("supplemental groups policy", () => {
  let h: Harness;
  let image: string;
  let podSandboxId: string;
  let config: PodSandboxConfig;
  let logDir: string;

  beforeAll(async () => {
    h = await startHarness();
    image = await h.importBusybox();
    logDir = join(h.root, "logs");
    config = sandboxConfig("groups", { logDirectory: logDir });
    podSandboxId = (await h.cri.runtime.runPodSandbox({ config, runtimeHandler: "" })).podSandboxId;
  });
  afterAll(async () => {
    await h?.cleanup();
  });

  /** Runs a container that prints its ids; returns what the kernel says and what CRI reports. */
  async function identityOf(name: string, securityContext: Partial<LinuxContainerSecurityContext>) {
    const { containerId } = await h.cri.runtime.createContainer({
      podSandboxId,
      config: containerConfig(name, image, ["grep", "-E", "^(Uid|Gid|Groups):", "/proc/self/status"], {
        linux: { securityContext: securityContext as LinuxContainerSecurityContext },
      }),
      sandboxConfig: config,
    });
    await h.cri.runtime.startContainer({ containerId });
    await waitFor(
      async () =>
        (await h.cri.runtime.containerStatus({ containerId, verbose: false })).status!.state ===
        ContainerState.CONTAINER_EXITED,
    );
    const status = (await h.cri.runtime.containerStatus({ containerId, verbose: false })).status!;
    expect(status.exitCode).toBe(0);
    const lines = (await readFile(join(logDir, `${name}/0.log`), "utf8"))
      .split("\n")
      .map((l) => l.split(" ").slice(3).join(" "));
    const field = (key: string): number[] =>
      (lines.find((l) => l.startsWith(`${key}:`)) ?? `${key}:`)
        .slice(key.length + 1)
        .trim()
        .split(/\s+/)
        .filter((t) => t !== "")
        .map(Number);
    return {
      kernel: { uid: field("Uid")[0], gid: field("Gid")[0], groups: field("Groups").sort((a, b) => a - b) },
      reported: status.user?.linux,
    };
  }

  it("Status advertises the supplemental groups policy feature", async () => {
    const res = await h.cri.runtime.status({ verbose: false });
    expect(res.features?.supplementalGroupsPolicy).toBe(true);
  });

  it("Merge (the default): the image's /etc/group memberships plus the listed groups", async () => {
    const { kernel, reported } = await identityOf("merge", {
      runAsUser: { value: 1000n },
      supplementalGroups: [3000n],
      supplementalGroupsPolicy: SupplementalGroupsPolicy.Merge,
    });
    expect(kernel).toEqual({ uid: 1000, gid: 1000, groups: [1000, 2000, 3000] });
    expect(reported).toEqual({ uid: 1000n, gid: 1000n, supplementalGroups: [1000n, 2000n, 3000n] });
  });

  it("Strict: only the primary group and the listed groups", async () => {
    const { kernel, reported } = await identityOf("strict", {
      runAsUser: { value: 1000n },
      supplementalGroups: [3000n],
      supplementalGroupsPolicy: SupplementalGroupsPolicy.Strict,
    });
    expect(kernel).toEqual({ uid: 1000, gid: 1000, groups: [1000, 3000] });
    expect(reported).toEqual({ uid: 1000n, gid: 1000n, supplementalGroups: [1000n, 3000n] });
  });

  it("Strict with run_as_group: the group asked for replaces the user's own", async () => {
    const { kernel, reported } = await identityOf("strict-group", {
      runAsUsername: "berth",
      runAsGroup: { value: 4000n },
      supplementalGroupsPolicy: SupplementalGroupsPolicy.Strict,
    });
    expect(kernel).toEqual({ uid: 1000, gid: 4000, groups: [4000] });
    expect(reported).toEqual({ uid: 1000n, gid: 4000n, supplementalGroups: [4000n] });
  });
});
