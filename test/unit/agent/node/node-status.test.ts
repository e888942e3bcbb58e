import { describe, expect, it } from "vitest";
import { defaultEvictionConfig, parseEvictionConfig } from "../../../../agent/eviction/config.js";
import type { PressureCondition } from "../../../../agent/eviction/signals.js";
import { gatherNodeFacts, osImage, type SystemInfoSource } from "../../../../agent/node/host-facts.js";
import { readyCondition } from "../../../../agent/node/conditions.js";
import { NodeStatusProvider, type PressureSource } from "../../../../agent/node/node-status.js";
import { StatusResponse } from "../../../../cri/api/generated/api.js";
import { silentLogger } from "../../../../common/logger.js";
import { ManualTime, flush } from "../eviction/fixtures.js";

const fakeSystemInfo: SystemInfoSource = {
  osInfo: async () => ({
    platform: "linux",
    distro: "Debian GNU/Linux",
    release: "12",
    codename: "bookworm",
    kernel: "6.1.0-18-amd64",
    arch: "x64",
    hostname: "Node-7",
  }),
  cpu: async () => ({ manufacturer: "AMD", brand: "EPYC 7B13", cores: 4 }),
  mem: async () => ({ total: 8 * 1024 ** 3 }),
  time: () => ({ uptime: 3600, current: Date.parse("2025-06-01T01:00:00Z") }),
};

function runtimeStatus(networkReady: boolean): StatusResponse {
  return StatusResponse.fromPartial({
    status: {
      conditions: [
        { type: "RuntimeReady", status: true },
        {
          type: "NetworkReady",
          status: networkReady,
          reason: networkReady ? "" : "NetworkPluginNotReady",
          message: networkReady ? "" : "no CNI config",
        },
      ],
    },
  });
}

class FakePressure implements PressureSource {
  conditions = new Set<PressureCondition>();
  private listener?: (c: ReadonlySet<PressureCondition>) => void;
  pressureConditions(): ReadonlySet<PressureCondition> {
    return this.conditions;
  }
  onConditionsChange(listener: (c: ReadonlySet<PressureCondition>) => void): () => void {
    this.listener = listener;
    return () => (this.listener = undefined);
  }
  set(...conditions: PressureCondition[]): void {
    this.conditions = new Set(conditions);
    this.listener?.(this.conditions);
  }
}

async function facts(): ReturnType<typeof gatherNodeFacts> {
  return gatherNodeFacts({
    systemInfo: fakeSystemInfo,
    stateDir: "/var/lib/berth",
    statFs: async () => ({ capacityBytes: 100 * 1024 ** 3, availableBytes: 0, inodes: 0, inodesFree: 0 }),
    runtimeVersion: async () => ({ runtimeName: "berth", runtimeVersion: "0.1.0" }),
    cgroupMode: async () => "hybrid",
    berthVersion: "0.1.0",
  });
}

describe("node facts", () => {
  it("are gathered from systeminformation with Kubernetes' names", async () => {
    expect(await facts()).toEqual({
      hostname: "Node-7",
      operatingSystem: "linux",
      osImage: "Debian GNU/Linux 12 (bookworm)",
      kernelVersion: "6.1.0-18-amd64",
      architecture: "amd64",
      cpuModel: "AMD EPYC 7B13",
      cpuCount: 4,
      memoryBytes: 8 * 1024 ** 3,
      stateFilesystemBytes: 100 * 1024 ** 3,
      bootTimeMs: Date.parse("2025-06-01T00:00:00Z"),
      berthVersion: "0.1.0",
      containerRuntimeVersion: "berth://0.1.0",
      cgroupMode: "hybrid",
    });
    expect(osImage({ distro: "Alpine Linux", release: "3.19.1", codename: "" })).toBe("Alpine Linux 3.19.1");
  });
});

describe("Ready", () => {
  it("needs both the runtime and its network, with the kubelet's reasons", () => {
    expect(readyCondition(runtimeStatus(true))).toMatchObject({ status: "True", reason: "KubeletReady" });
    const notReady = readyCondition(runtimeStatus(false));
    expect(notReady).toMatchObject({ status: "False", reason: "KubeletNotReady" });
    expect(notReady.message).toBe(
      "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:no CNI config",
    );
    expect(readyCondition(new Error("socket closed"))).toMatchObject({
      status: "Unknown",
      reason: "KubeletNotReady",
    });
  });
});

describe("node status", () => {
  it("shows facts, capacity, allocatable and conditions, and tracks transitions", async () => {
    const time = new ManualTime();
    const pressure = new FakePressure();
    let networkReady = false;
    const { thresholds } = parseEvictionConfig(defaultEvictionConfig());
    const provider = new NodeStatusProvider({
      gatherFacts: facts,
      runtimeStatus: async () => runtimeStatus(networkReady),
      pressure,
      reservation: { cpuMilli: 500, memoryBytes: 1024 ** 3, ephemeralStorageBytes: 0 },
      thresholds,
      maxPods: 110,
      logger: silentLogger(),
      clock: time.clock,
      timers: time,
    });
    const changes: string[] = [];
    provider.onChange((s) => changes.push(s.conditions.map((c) => `${c.type}=${c.status}`).join(",")));
    const started = await provider.start();
    const t0 = new Date(time.now).toISOString();
    expect(started.name).toBe("node-7");
    expect(started.capacity).toEqual({ cpu: "4", memory: "8Gi", pods: "110", "ephemeral-storage": "100Gi" });
    // 8Gi - 1Gi reserved - 100Mi hard eviction; 100Gi - 10% (nodefs.available<10%).
    expect(started.allocatable).toEqual({
      cpu: "3500m",
      memory: "7068Mi",
      pods: "110",
      "ephemeral-storage": "90Gi",
    });
    expect(started.conditions).toEqual([
      {
        type: "Ready",
        status: "False",
        reason: "KubeletNotReady",
        message: expect.stringContaining("NetworkReady=false"),
        lastTransitionTime: t0,
      },
      {
        type: "MemoryPressure",
        status: "False",
        reason: "KubeletHasSufficientMemory",
        message: "berth has sufficient memory available",
        lastTransitionTime: t0,
      },
      {
        type: "DiskPressure",
        status: "False",
        reason: "KubeletHasNoDiskPressure",
        message: "berth has no disk pressure",
        lastTransitionTime: t0,
      },
      {
        type: "PIDPressure",
        status: "False",
        reason: "KubeletHasSufficientPID",
        message: "berth has sufficient PID available",
        lastTransitionTime: t0,
      },
    ]);

    await time.advance(5000);
    pressure.set("MemoryPressure");
    const memory = provider.current().conditions.find((c) => c.type === "MemoryPressure");
    expect(memory).toMatchObject({
      status: "True",
      reason: "KubeletHasInsufficientMemory",
      lastTransitionTime: new Date(time.now).toISOString(),
    });
    expect(provider.current().conditions.find((c) => c.type === "DiskPressure")?.lastTransitionTime).toBe(t0);

    networkReady = true;
    await time.advance(10_000); // the readiness check runs on its interval, 10 s after start
    await flush();
    const ready = provider.current().conditions.find((c) => c.type === "Ready");
    expect(ready).toMatchObject({
      status: "True",
      reason: "KubeletReady",
      lastTransitionTime: new Date(Date.parse(t0) + 10_000).toISOString(),
    });
    expect(changes).toEqual([
      "Ready=False,MemoryPressure=True,DiskPressure=False,PIDPressure=False",
      "Ready=True,MemoryPressure=True,DiskPressure=False,PIDPressure=False",
    ]);
    provider.stop();
    expect(time.pendingCount).toBe(0);
  });
});
