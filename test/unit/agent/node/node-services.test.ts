import { tmpdir } from "node:os";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import type { NodeReport, ReportAck } from "../../../../agent/api/generated/report.js";
import { defaultConfig } from "../../../../agent/config.js";
import type { HostReadings } from "../../../../agent/eviction/signals.js";
import { startNodeServices, type NodeServicesRuntime } from "../../../../agent/node-services.js";
import type { PodStatusView } from "../../../../agent/pods/pod-manager-api.js";
import type { ImageStore } from "../../../../cri/images/store.js";
import type { BerthRuntime } from "../../../../cri/runtime/berth-runtime.js";
import { StatusResponse } from "../../../../cri/api/generated/api.js";
import type { StatsSnapshot } from "../../../../cri/stats/types.js";
import { silentLogger } from "../../../../common/logger.js";
import { ManualTime, Mi, flush, snapshot } from "../eviction/fixtures.js";
import { FakePods } from "../reporter/fake-pods.js";

// The daemon hands in its BerthRuntime: it must fit what the node services ask for.
const runtimeFits = (r: BerthRuntime): NodeServicesRuntime => r;
void runtimeFits;

const Gi = 1024 * Mi;

function fakeRuntime(
  stats: () => StatsSnapshot,
  listeners: ((s: StatsSnapshot) => void)[],
): NodeServicesRuntime {
  return {
    stats: {
      all: stats,
      onSample: (l) => {
        listeners.push(l);
        return () => listeners.splice(listeners.indexOf(l), 1);
      },
    },
    images: { root: "/var/lib/berth/images" } as unknown as ImageStore,
    runtimeService: {
      version: async () => ({
        version: "0.1.0",
        runtimeName: "berth",
        runtimeVersion: "0.1.0",
        runtimeApiVersion: "v1",
      }),
      status: async () =>
        StatusResponse.fromPartial({
          status: {
            conditions: [
              { type: "RuntimeReady", status: true },
              { type: "NetworkReady", status: true },
            ],
          },
        }),
      listContainers: async () => ({ containers: [] }),
      listPodSandbox: async () => ({ items: [] }),
      removeContainer: async () => ({}),
    },
    deps: {
      cgroups: {
        layout: { mode: "hybrid", unifiedDir: "unified", v1Mounts: {}, ownV1: {} },
        root: "/sys/fs/cgroup",
      },
      registry: { containers: new Map() },
    },
  };
}

describe("startNodeServices", () => {
  it("wires eviction, node status and the reporter: a memory hog is evicted and the orchestrator hears of the pressure", async () => {
    const time = new ManualTime();
    const pods = new FakePods();
    pods.add("hog");
    pods.set("hog", "Running");
    let stats = snapshot([{ pod: "hog", name: "c0", memory: 3 * Gi }], time.now);
    const listeners: ((s: StatsSnapshot) => void)[] = [];
    let readings: Omit<HostReadings, "timeMs"> = {
      memory: { capacityBytes: 4 * Gi, workingSetBytes: 3.95 * Gi, source: "test" },
      nodeFs: { capacityBytes: 100 * Gi, availableBytes: 60 * Gi, inodes: 100, inodesFree: 90 },
      imageFs: { capacityBytes: 100 * Gi, availableBytes: 60 * Gi, inodes: 100, inodesFree: 90 },
      dedicatedImageFs: false,
    };
    const evicted: { pod: PodStatusView; message: string; signal: string }[] = [];
    const reports: NodeReport[] = [];
    const config = defaultConfig();
    config.stateDir = tmpdir();
    config.nodeName = "worker-1";
    config.reporter.endpoint = "unix:///nowhere.sock";
    config.reservations.kubeReserved.memory = "256Mi";
    const registry = new Registry();

    const services = await startNodeServices({
      config,
      logger: silentLogger(),
      runtime: fakeRuntime(() => stats, listeners),
      pods,
      evictPod: async (pod, message, signal) => {
        evicted.push({ pod, message, signal });
        pods.set(pod.metadata.name, "Failed", { reason: "Evicted", message });
        readings = {
          ...readings,
          memory: { capacityBytes: 4 * Gi, workingSetBytes: 1 * Gi, source: "test" },
        };
      },
      metricsRegistry: registry,
      clock: time.clock,
      timers: time,
      systemInfo: {
        osInfo: async () => ({
          platform: "linux",
          distro: "Debian GNU/Linux",
          release: "12",
          codename: "bookworm",
          kernel: "6.1",
          arch: "x64",
          hostname: "Worker-1",
        }),
        cpu: async () => ({ manufacturer: "AMD", brand: "EPYC", cores: 2 }),
        mem: async () => ({ total: 4 * Gi }),
        time: () => ({ uptime: 10, current: time.now }),
      },
      host: { read: async () => ({ ...readings, timeMs: time.now }) },
      transport: {
        report: async (report: NodeReport): Promise<ReportAck> => {
          reports.push(report);
          return { sequence: report.sequence, resync: false };
        },
        close: () => undefined,
      },
    });
    await flush();

    expect(evicted.map((e) => [e.pod.metadata.name, e.signal])).toEqual([["hog", "memory.available"]]);
    expect(evicted[0]?.message).toContain("Container c0 was using 3Gi, request is 0.");
    const status = services.nodeStatus.current();
    expect(status.name).toBe("worker-1");
    expect(status.allocatable.memory).toBe("3740Mi"); // 4Gi - 256Mi - 100Mi
    expect(status.conditions.find((c) => c.type === "MemoryPressure")?.status).toBe("True");
    expect(status.conditions.find((c) => c.type === "Ready")?.status).toBe("True");

    await time.advance(300);
    const last = reports.at(-1) as NodeReport;
    expect(last.nodeName).toBe("worker-1");
    expect(last.node?.conditions.find((c) => c.type === "MemoryPressure")?.status).toBe("True");
    const memorySignal = (r: NodeReport): bigint | undefined =>
      r.node?.evictionSignals.find((s) => s.signal === "memory.available")?.available;
    expect(memorySignal(last)).toBeLessThan(BigInt(100 * Mi)); // as observed by the pass that evicted
    // The first pass ran before the reporter started: the eviction shows in its first, full report.
    expect(reports[0]?.full).toBe(true);
    expect(reports[0]?.pods.map((p) => [p.metadata?.name, p.status?.phase, p.status?.reason])).toEqual([
      ["hog", "Failed", "Evicted"],
    ]);

    await time.advance(10_000); // the next eviction pass and report see the memory freed
    expect(memorySignal(reports.at(-1) as NodeReport)).toBe(BigInt(3 * Gi));

    const metrics = await registry.metrics();
    expect(metrics).toContain('berth_evictions_total{signal="memory.available"} 1');
    expect(metrics).toContain('berth_node_pressure{condition="MemoryPressure"} 1');
    expect(metrics).toMatch(/berth_reporter_reports_sent_total \d+/);

    // The pressure stays for the transition period, then clears.
    stats = snapshot([], time.now);
    listeners.forEach((l) => l(stats));
    await time.advance(5 * 60_000 + 10_000);
    expect(services.nodeStatus.current().conditions.find((c) => c.type === "MemoryPressure")?.status).toBe(
      "False",
    );

    await services.stop();
    expect(listeners).toHaveLength(0);
    expect(time.pendingCount).toBe(0);
  });

  it("starts no reporter while the endpoint is empty", async () => {
    const time = new ManualTime();
    const config = defaultConfig();
    config.stateDir = tmpdir();
    const services = await startNodeServices({
      config,
      logger: silentLogger(),
      runtime: fakeRuntime(() => snapshot([]), []),
      pods: new FakePods(),
      evictPod: async () => undefined,
      clock: time.clock,
      timers: time,
      systemInfo: {
        osInfo: async () => ({
          platform: "linux",
          distro: "",
          release: "",
          codename: "",
          kernel: "",
          arch: "arm64",
          hostname: "h",
        }),
        cpu: async () => ({ manufacturer: "", brand: "", cores: 1 }),
        mem: async () => ({ total: 1024 * Mi }),
        time: () => ({ uptime: 1, current: time.now }),
      },
      host: { read: async () => ({ timeMs: time.now, dedicatedImageFs: false }) },
    });
    expect(services.reporter).toBeUndefined();
    expect(services.nodeStatus.current().info.architecture).toBe("arm64");
    await services.stop();
    expect(time.pendingCount).toBe(0);
  });
});
