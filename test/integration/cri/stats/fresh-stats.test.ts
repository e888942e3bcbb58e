// A container or pod that started after the collector's last pass still gets CPU and memory in
// every stats answer: CRI clients dereference them at once.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ContainerStats, PodSandboxConfig, PodSandboxStats } from "../../../../cri/api/generated/api.js";
import { sandboxConfig, startHarness, type Harness } from "../../../../harness/runtime-harness.js";
import { containerConfig } from "../../../../harness/cri-fixtures.js";

describe("stats of a container that has just started", () => {
  let h: Harness;
  let podSandboxId: string;
  let containerId: string;

  beforeAll(async () => {
    // An interval far longer than the test: no pass samples what starts after the first one.
    h = await startHarness({ statsIntervalSeconds: 3600 });
    const image = await h.importBusybox();
    const config: PodSandboxConfig = sandboxConfig("fresh", { logDirectory: join(h.root, "logs") });
    await h.runtime.stats.collectNow();
    podSandboxId = (await h.cri.runtime.runPodSandbox({ config, runtimeHandler: "" })).podSandboxId;
    containerId = (
      await h.cri.runtime.createContainer({
        podSandboxId,
        config: containerConfig("fresh", image, ["sleep", "1000"]),
        sandboxConfig: config,
      })
    ).containerId;
    await h.cri.runtime.startContainer({ containerId });
  });
  afterAll(async () => {
    await h?.cleanup();
  });

  function expectUsage(stats: ContainerStats | undefined): void {
    expect(stats?.attributes?.id).toBe(containerId);
    expect(stats?.cpu?.timestamp).toBeGreaterThan(0n);
    expect(stats?.cpu?.usageCoreNanoSeconds?.value).toBeGreaterThan(0n);
    expect(stats?.memory?.timestamp).toBeGreaterThan(0n);
    expect(stats?.memory?.workingSetBytes).toBeDefined();
    expect(stats?.memory?.usageBytes?.value).toBeGreaterThan(0n);
  }

  function expectPodUsage(stats: PodSandboxStats | undefined): void {
    expect(stats?.attributes?.id).toBe(podSandboxId);
    expect(stats?.linux?.cpu?.timestamp).toBeGreaterThan(0n);
    expect(stats?.linux?.cpu?.usageCoreNanoSeconds).toBeDefined();
    expect(stats?.linux?.memory?.timestamp).toBeGreaterThan(0n);
    expect(stats?.linux?.memory?.workingSetBytes).toBeDefined();
    expect(stats?.linux?.containers).toHaveLength(1);
    expectUsage(stats?.linux?.containers[0]);
  }

  it("ContainerStats carries CPU and memory with timestamps", async () => {
    expect(h.runtime.stats.latest(containerId)).toBeUndefined();
    expectUsage((await h.cri.runtime.containerStats({ containerId })).stats);
  });

  it("ListContainerStats carries them too", async () => {
    const { stats } = await h.cri.runtime.listContainerStats({
      filter: { id: containerId, podSandboxId: "", labelSelector: {} },
    });
    expect(stats).toHaveLength(1);
    expectUsage(stats[0]);
  });

  it("PodSandboxStats and ListPodSandboxStats carry the pod's and its container's", async () => {
    expect(h.runtime.stats.latestSandbox(podSandboxId)).toBeUndefined();
    expectPodUsage((await h.cri.runtime.podSandboxStats({ podSandboxId })).stats);
    const { stats } = await h.cri.runtime.listPodSandboxStats({
      filter: { id: podSandboxId, labelSelector: {} },
    });
    expect(stats).toHaveLength(1);
    expectPodUsage(stats[0]);
  });
});
