import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hostname } from "node:os";
import { readlink } from "node:fs/promises";
import {
  CgroupDriver,
  LinuxContainerConfig,
  LinuxPodSandboxConfig,
  NamespaceMode,
  PodSandboxState,
  type PodSandboxConfig,
} from "../../../../cri/api/generated/api.js";
import { sandboxConfig, startHarness, type Harness } from "../../../../harness/runtime-harness.js";
import { containerConfig } from "../../../../harness/cri-fixtures.js";

function podNamespaces(network: NamespaceMode, pid: NamespaceMode): LinuxPodSandboxConfig {
  return LinuxPodSandboxConfig.fromPartial({
    securityContext: { namespaceOptions: { network, pid, ipc: NamespaceMode.POD } },
  });
}

describe("namespaces, identity and runtime info", () => {
  let h: Harness;
  let image: string;
  beforeAll(async () => {
    h = await startHarness();
    image = await h.importBusybox();
  });
  afterAll(async () => {
    await h.cleanup();
  });

  async function runIn(config: PodSandboxConfig, command: string[], extra = {}) {
    const { podSandboxId } = await h.cri.runtime.runPodSandbox({ config, runtimeHandler: "" });
    const { containerId } = await h.cri.runtime.createContainer({
      podSandboxId,
      config: containerConfig("c", image, command, extra),
      sandboxConfig: config,
    });
    await h.cri.runtime.startContainer({ containerId });
    const sh = async (cmd: string) =>
      Buffer.from(
        (await h.cri.runtime.execSync({ containerId, cmd: ["sh", "-c", cmd], timeout: 10n })).stdout,
      )
        .toString()
        .trim();
    return { podSandboxId, containerId, sh };
  }

  it("Version, Status and RuntimeConfig describe berth", async () => {
    const v = await h.cri.runtime.version({ version: "" });
    expect(v).toMatchObject({ runtimeName: "berth", runtimeApiVersion: "v1" });
    const s = await h.cri.runtime.status({ verbose: false });
    expect(s.status?.conditions.find((c) => c.type === "RuntimeReady")?.status).toBe(true);
    const net = s.status?.conditions.find((c) => c.type === "NetworkReady");
    expect(net?.status).toBe(false); // this harness has no CNI network
    expect(net?.reason).toBe("NetworkPluginNotReady");
    expect((await h.cri.runtime.runtimeConfig({})).linux?.cgroupDriver).toBe(CgroupDriver.CGROUPFS);
  });

  it("containers share the pod's PID namespace in POD mode and are isolated in CONTAINER mode", async () => {
    const pod = sandboxConfig("pidpod", { linux: podNamespaces(NamespaceMode.POD, NamespaceMode.POD) });
    const shared = await runIn(pod, ["sleep", "1000"]);
    expect(await shared.sh("cat /proc/1/cmdline | tr '\\0' ' '")).toContain("busybox sh -c");
    const isolated = await runIn(sandboxConfig("pidctr"), ["sleep", "1000"], {
      linux: LinuxContainerConfig.fromPartial({
        securityContext: { namespaceOptions: { pid: NamespaceMode.CONTAINER } },
      }),
    });
    expect(await isolated.sh("cat /proc/1/cmdline | tr '\\0' ' '")).toContain("sleep 1000");
    for (const p of [shared, isolated])
      await h.cri.runtime.removePodSandbox({ podSandboxId: p.podSandboxId });
  });

  it("a host-network pod sees the node's hostname and network namespace; others get their own", async () => {
    const hostNet = sandboxConfig("hostnet", { linux: podNamespaces(NamespaceMode.NODE, NamespaceMode.POD) });
    const a = await runIn(hostNet, ["sleep", "1000"]);
    expect(await a.sh("hostname")).toBe(hostname());
    const myNet = await readlink("/proc/self/ns/net");
    expect(await a.sh("readlink /proc/1/ns/net")).toBe(myNet);
    const b = await runIn(sandboxConfig("ownnet", { hostname: "own-host" }), ["sleep", "1000"]);
    expect(await b.sh("hostname")).toBe("own-host");
    expect(await b.sh("readlink /proc/self/ns/net")).not.toBe(myNet);
    expect(await b.sh("ip -o link | cut -d: -f2 | tr -d ' ' | sort | tr '\\n' ,")).toBe("lo,");
    const status = await h.cri.runtime.podSandboxStatus({ podSandboxId: a.podSandboxId, verbose: false });
    expect(status.status?.state).toBe(PodSandboxState.SANDBOX_READY);
    expect(status.status?.linux?.namespaces?.options?.network).toBe(NamespaceMode.NODE);
    for (const p of [a, b]) await h.cri.runtime.removePodSandbox({ podSandboxId: p.podSandboxId });
  });

  it("runs as the requested user with the image's supplementary groups", async () => {
    const p = await runIn(sandboxConfig("user"), ["sleep", "1000"], {
      linux: LinuxContainerConfig.fromPartial({
        securityContext: { runAsUser: { value: 1000n }, readonlyRootfs: true },
      }),
    });
    expect(await p.sh("id -u; id -G")).toMatch(/^1000\n.*2000/);
    expect(await p.sh("touch /x 2>&1 || echo read-only")).toContain("read-only");
    await h.cri.runtime.removePodSandbox({ podSandboxId: p.podSandboxId });
  });
});
