// The CRI stats RPCs on real containers: the collector reads their cgroups on this host and
// the RPCs answer from its cache.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { status } from "@grpc/grpc-js";
import type { PodSandboxConfig } from "../../../../cri/api/generated/api.js";
import { sandboxConfig, startHarness, type Harness } from "../../../../harness/runtime-harness.js";
import { containerConfig, grpcError, waitFor } from "../../../../harness/cri-fixtures.js";

describe("CRI stats on real containers", () => {
  let h: Harness;
  let image: string;
  let podA: { id: string; config: PodSandboxConfig };
  let podB: { id: string; config: PodSandboxConfig };
  let busy: string;
  let holder: string;
  let writer: string;

  async function runPod(name: string) {
    // Log paths are relative to the pod's log directory: keep them inside the test's root.
    const config = sandboxConfig(name, { logDirectory: join(h.root, "logs", name) });
    const { podSandboxId } = await h.cri.runtime.runPodSandbox({ config, runtimeHandler: "" });
    return { id: podSandboxId, config };
  }

  async function run(
    pod: { id: string; config: PodSandboxConfig },
    name: string,
    command: string[],
    labels: Record<string, string> = {},
  ): Promise<string> {
    const { containerId } = await h.cri.runtime.createContainer({
      podSandboxId: pod.id,
      config: containerConfig(name, image, command, { labels: { name, ...labels } }),
      sandboxConfig: pod.config,
    });
    await h.cri.runtime.startContainer({ containerId });
    return containerId;
  }

  beforeAll(async () => {
    // A long interval: the test drives collection with collectNow().
    h = await startHarness({ statsIntervalSeconds: 3600 });
    image = await h.importBusybox();
    podA = await runPod("stats-a");
    podB = await runPod("stats-b");
    busy = await run(podA, "busy", ["sh", "-c", "while :; do :; done"], { role: "cpu" });
    // /dev/shm is the pod's tmpfs: its pages are charged to the writer and stay resident.
    holder = await run(
      podA,
      "holder",
      ["sh", "-c", "dd if=/dev/zero of=/dev/shm/fill bs=1M count=40 && sleep 1000"],
      {
        role: "memory",
      },
    );
    writer = await run(podB, "writer", [
      "sh",
      "-c",
      "dd if=/dev/zero of=/written bs=1M count=3 && sleep 1000",
    ]);
    // Wait until the holder has written its 40 MB, then take two samples a second apart.
    await waitFor(async () => {
      await h.runtime.stats.collectNow();
      return (h.runtime.stats.latest(holder)?.stats.memory.workingSetBytes ?? 0) > 40e6;
    });
    await new Promise((r) => setTimeout(r, 1000));
    await h.runtime.stats.collectNow();
  });
  afterAll(async () => {
    await h?.cleanup();
  });

  it("ContainerStats: a busy container uses CPU, and its rate is near one core", async () => {
    const { stats } = await h.cri.runtime.containerStats({ containerId: busy });
    expect(stats?.attributes?.metadata?.name).toBe("busy");
    expect(stats?.cpu?.usageCoreNanoSeconds?.value).toBeGreaterThan(100_000_000n);
    // Two cores on this host, one busy loop: between a tenth of a core and two cores.
    expect(stats?.cpu?.usageNanoCores?.value).toBeGreaterThan(100_000_000n);
    expect(stats?.cpu?.usageNanoCores?.value).toBeLessThan(2_100_000_000n);
    expect(stats?.cpu?.timestamp).toBeGreaterThan(0n);
  });

  it("ContainerStats: a container holding 40 MB has a working set above it", async () => {
    const { stats } = await h.cri.runtime.containerStats({ containerId: holder });
    expect(stats?.memory?.workingSetBytes?.value).toBeGreaterThan(40_000_000n);
    expect(stats?.memory?.usageBytes?.value).toBeGreaterThanOrEqual(
      stats?.memory?.workingSetBytes?.value ?? 0n,
    );
    // No memory limit was set: nothing to be available against.
    expect(stats?.memory?.availableBytes).toBeUndefined();
    expect(stats?.memory?.pageFaults?.value).toBeGreaterThan(0n);
  });

  it("ContainerStats: the writable layer shows what the container wrote to its root", async () => {
    const { stats } = await h.cri.runtime.containerStats({ containerId: writer });
    expect(stats?.writableLayer?.usedBytes?.value).toBeGreaterThan(3_000_000n);
    expect(stats?.writableLayer?.fsId?.mountpoint).toContain("snapshots");
  });

  it("ListContainerStats: all running containers, and filters by id, pod and labels", async () => {
    const ids = async (filter?: {
      id?: string;
      podSandboxId?: string;
      labelSelector?: Record<string, string>;
    }) =>
      (
        await h.cri.runtime.listContainerStats({
          filter: filter && { id: "", podSandboxId: "", labelSelector: {}, ...filter },
        })
      ).stats
        .map((s) => s.attributes?.id)
        .sort();
    expect(await ids()).toEqual([busy, holder, writer].sort());
    expect(await ids({ id: busy })).toEqual([busy]);
    expect(await ids({ id: busy.slice(0, 12) })).toEqual([busy]);
    expect(await ids({ podSandboxId: podA.id })).toEqual([busy, holder].sort());
    expect(await ids({ podSandboxId: podB.id })).toEqual([writer]);
    expect(await ids({ labelSelector: { role: "memory" } })).toEqual([holder]);
    expect(await ids({ podSandboxId: podB.id, labelSelector: { role: "memory" } })).toEqual([]);
  });

  it("PodSandboxStats: the pod cgroup's usage, its processes and its containers", async () => {
    const { stats } = await h.cri.runtime.podSandboxStats({ podSandboxId: podA.id });
    expect(stats?.attributes?.metadata).toMatchObject({ name: "stats-a", namespace: "default" });
    expect(stats?.linux?.cpu?.usageCoreNanoSeconds?.value).toBeGreaterThan(100_000_000n);
    expect(stats?.linux?.memory?.workingSetBytes?.value).toBeGreaterThan(40_000_000n);
    // The infra process, the busy shell, and the holder's sleep at least.
    expect(stats?.linux?.process?.processCount?.value).toBeGreaterThanOrEqual(3n);
    expect(stats?.linux?.containers.map((c) => c.attributes?.metadata?.name).sort()).toEqual([
      "busy",
      "holder",
    ]);
  });

  it("ListPodSandboxStats: every ready pod, filtered by id and labels", async () => {
    const all = await h.cri.runtime.listPodSandboxStats({});
    expect(all.stats.map((s) => s.attributes?.id).sort()).toEqual([podA.id, podB.id].sort());
    const onlyB = await h.cri.runtime.listPodSandboxStats({
      filter: { id: "", labelSelector: { app: "stats-b" } },
    });
    expect(onlyB.stats.map((s) => s.attributes?.id)).toEqual([podB.id]);
  });

  it("NOT_FOUND for unknown ids", async () => {
    expect((await grpcError(h.cri.runtime.containerStats({ containerId: "no-such-container" }))).code).toBe(
      status.NOT_FOUND,
    );
    expect((await grpcError(h.cri.runtime.podSandboxStats({ podSandboxId: "no-such-pod" }))).code).toBe(
      status.NOT_FOUND,
    );
    expect((await grpcError(h.cri.runtime.containerStats({ containerId: "" }))).code).toBe(
      status.INVALID_ARGUMENT,
    );
  });

  it("a stopped container leaves the lists and the cache; a removed one is NOT_FOUND", async () => {
    await h.cri.runtime.stopContainer({ containerId: writer, timeout: 0n });
    await h.runtime.stats.collectNow();
    expect(h.runtime.stats.latest(writer)).toBeUndefined();
    const listed = await h.cri.runtime.listContainerStats({});
    expect(listed.stats.map((s) => s.attributes?.id)).not.toContain(writer);
    const { stats } = await h.cri.runtime.containerStats({ containerId: writer });
    expect(stats?.attributes?.id).toBe(writer);
    expect(stats?.cpu).toBeUndefined();

    await h.cri.runtime.removeContainer({ containerId: writer });
    expect((await grpcError(h.cri.runtime.containerStats({ containerId: writer }))).code).toBe(
      status.NOT_FOUND,
    );
  });
});
