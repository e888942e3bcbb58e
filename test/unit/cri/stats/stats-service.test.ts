import { describe, expect, it } from "vitest";
import { NotFoundError, InvalidArgumentError } from "../../../../common/errors.js";
import { silentLogger } from "../../../../common/logger.js";
import { StatsCollector } from "../../../../cri/stats/collector.js";
import { CriStatsService } from "../../../../cri/stats/stats-service.js";
import {
  FakeCatalog,
  FakeClock,
  FakeProc,
  FakeReader,
  ManualTimer,
  cgroupStats,
  containerTarget,
  sandboxTarget,
} from "./fakes.js";

async function setup() {
  const catalog = new FakeCatalog(
    [
      containerTarget("aaa111", { labels: { app: "web", tier: "front" } }),
      containerTarget("bbb222", { name: "sidecar", labels: { app: "web", tier: "back" } }),
      containerTarget("ccc333", { running: false }),
      containerTarget("ddd444", {
        sandboxId: "sb2",
        cgroupPath: "pods/pod-sb2/ddd444",
        labels: { app: "db" },
      }),
    ],
    [sandboxTarget("sb1"), sandboxTarget("sb2", { name: "db", labels: { app: "db" } })],
  );
  const reader = new FakeReader();
  reader.cgroups.set(
    "pods/pod-sb1/aaa111",
    cgroupStats({ timestamp: 1_000, cpuNanos: 2e9, workingSet: 300, limit: 1000, psi: true }),
  );
  reader.cgroups.set(
    "pods/pod-sb1/bbb222",
    cgroupStats({ timestamp: 1_000, cpuNanos: 1e9, workingSet: 100 }),
  );
  reader.cgroups.set("pods/pod-sb2/ddd444", cgroupStats({ timestamp: 1_000, cpuNanos: 1e9 }));
  reader.cgroups.set("pods/pod-sb1", cgroupStats({ timestamp: 1_000, cpuNanos: 3e9, pids: 4 }));
  reader.cgroups.set("pods/pod-sb2", cgroupStats({ timestamp: 1_000, cpuNanos: 1e9 }));
  const collector = new StatsCollector({
    catalog,
    reader,
    logger: silentLogger(),
    clock: new FakeClock(),
    proc: new FakeProc(),
    timer: new ManualTimer(),
    measureTree: async () => ({ bytes: 4096, inodes: 2 }),
    statFs: async () => ({ capacityBytes: 1e9, availableBytes: 5e8, inodes: 100, inodesFree: 50 }),
    writableLayerMountpoint: "/var/lib/berth/snapshots",
  });
  await collector.collectNow();
  // A second sample 2 s later gives rates.
  reader.cgroups.set(
    "pods/pod-sb1/aaa111",
    cgroupStats({ timestamp: 3_000, cpuNanos: 3e9, workingSet: 300, limit: 1000, psi: true }),
  );
  await collector.collectNow();
  return { service: new CriStatsService(catalog, collector), collector };
}

describe("CRI stats RPCs", () => {
  it("ContainerStats: CPU with its rate, memory, writable layer, PSI, from the cache", async () => {
    const { service } = await setup();
    const { stats } = await service.containerStats({ containerId: "aaa111" });
    expect(stats?.attributes).toMatchObject({
      id: "aaa111",
      metadata: { name: "c-aaa111", attempt: 0 },
      labels: { app: "web", tier: "front" },
    });
    expect(stats?.cpu).toMatchObject({
      timestamp: 3_000_000_000n,
      usageCoreNanoSeconds: { value: 3_000_000_000n },
      usageNanoCores: { value: 500_000_000n },
    });
    expect(stats?.cpu?.psi?.Some).toMatchObject({ Total: 1_500_000_000n, Avg10: 1 });
    expect(stats?.cpu?.psi?.Full?.Total).toBe(500_000_000n);
    expect(stats?.memory).toMatchObject({
      workingSetBytes: { value: 300n },
      availableBytes: { value: 700n },
      usageBytes: { value: 4396n },
      rssBytes: { value: 1000n },
      pageFaults: { value: 50n },
      majorPageFaults: { value: 2n },
    });
    expect(stats?.writableLayer).toMatchObject({
      fsId: { mountpoint: "/var/lib/berth/snapshots" },
      usedBytes: { value: 4096n },
      inodesUsed: { value: 2n },
    });
    expect(stats?.swap).toBeUndefined();
  });

  it("ContainerStats: no availableBytes without a memory limit; a unique prefix works", async () => {
    const { service } = await setup();
    const { stats } = await service.containerStats({ containerId: "bbb" });
    expect(stats?.attributes?.id).toBe("bbb222");
    expect(stats?.memory?.availableBytes).toBeUndefined();
    // Both passes saw the same reading (same timestamp): no elapsed time, so no rate.
    expect(stats?.cpu?.usageNanoCores).toBeUndefined();
    expect(stats?.cpu?.usageCoreNanoSeconds?.value).toBe(1_000_000_000n);
  });

  it("ContainerStats: a known container that is not running has attributes only", async () => {
    const { service } = await setup();
    const { stats } = await service.containerStats({ containerId: "ccc333" });
    expect(stats?.attributes?.id).toBe("ccc333");
    expect(stats?.cpu).toBeUndefined();
    expect(stats?.memory).toBeUndefined();
  });

  it("ContainerStats and PodSandboxStats: NOT_FOUND for unknown ids, INVALID_ARGUMENT for none", async () => {
    const { service } = await setup();
    await expect(service.containerStats({ containerId: "nope" })).rejects.toBeInstanceOf(NotFoundError);
    await expect(service.podSandboxStats({ podSandboxId: "nope" })).rejects.toBeInstanceOf(NotFoundError);
    await expect(service.containerStats({ containerId: "" })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(service.podSandboxStats({ podSandboxId: "" })).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it("ListContainerStats: running containers, filtered by id, pod sandbox id and labels", async () => {
    const { service } = await setup();
    const ids = async (filter?: Parameters<typeof service.listContainerStats>[0]["filter"]) =>
      (await service.listContainerStats({ filter })).stats.map((s) => s.attributes?.id).sort();
    expect(await ids()).toEqual(["aaa111", "bbb222", "ddd444"]);
    expect(await ids({ id: "aaa111", podSandboxId: "", labelSelector: {} })).toEqual(["aaa111"]);
    expect(await ids({ id: "", podSandboxId: "sb2", labelSelector: {} })).toEqual(["ddd444"]);
    expect(await ids({ id: "", podSandboxId: "", labelSelector: { app: "web" } })).toEqual([
      "aaa111",
      "bbb222",
    ]);
    expect(await ids({ id: "", podSandboxId: "", labelSelector: { app: "web", tier: "back" } })).toEqual([
      "bbb222",
    ]);
    expect(await ids({ id: "ccc333", podSandboxId: "", labelSelector: {} })).toEqual([]);
    expect(await ids({ id: "", podSandboxId: "sb1", labelSelector: { app: "db" } })).toEqual([]);
  });

  it("PodSandboxStats: the pod cgroup's usage, network, process count and its running containers", async () => {
    const { service } = await setup();
    const { stats } = await service.podSandboxStats({ podSandboxId: "sb1" });
    expect(stats?.attributes).toMatchObject({
      id: "sb1",
      metadata: { name: "web", namespace: "shop", uid: "uid-web", attempt: 0 },
    });
    expect(stats?.linux?.cpu?.usageCoreNanoSeconds?.value).toBe(3_000_000_000n);
    expect(stats?.linux?.process?.processCount?.value).toBe(4n);
    expect(stats?.linux?.network?.defaultInterface).toMatchObject({
      name: "eth0",
      rxBytes: { value: 1000n },
      txErrors: { value: 1n },
    });
    expect(stats?.linux?.containers.map((c) => c.attributes?.id).sort()).toEqual(["aaa111", "bbb222"]);
  });

  it("ListPodSandboxStats: ready pods, filtered by id and labels", async () => {
    const { service } = await setup();
    const ids = async (filter?: { id: string; labelSelector: Record<string, string> }) =>
      (await service.listPodSandboxStats({ filter })).stats.map((s) => s.attributes?.id).sort();
    expect(await ids()).toEqual(["sb1", "sb2"]);
    expect(await ids({ id: "sb2", labelSelector: {} })).toEqual(["sb2"]);
    expect(await ids({ id: "", labelSelector: { app: "db" } })).toEqual(["sb2"]);
    expect(await ids({ id: "", labelSelector: { app: "none" } })).toEqual([]);
  });
});
