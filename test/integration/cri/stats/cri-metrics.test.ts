// The CRI metrics RPCs (ListMetricDescriptors, ListPodSandboxMetrics) over berth's socket,
// on real containers: the collector reads their cgroups on this host and the RPCs answer
// with the cadvisor series /metrics serves, per pod and per container.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MetricType, type Metric, type PodSandboxConfig } from "../../../../cri/api/generated/api.js";
import { sandboxConfig, startHarness, type Harness } from "../../../../harness/runtime-harness.js";
import { containerConfig, waitFor } from "../../../../harness/cri-fixtures.js";

describe("CRI metrics on real containers", () => {
  let h: Harness;
  let image: string;
  let config: PodSandboxConfig;
  let podSandboxId: string;
  let busy: string;

  beforeAll(async () => {
    // A long interval: the test drives collection with collectNow().
    h = await startHarness({ statsIntervalSeconds: 3600 });
    image = await h.importBusybox();
    config = sandboxConfig("metrics", { logDirectory: join(h.root, "logs") });
    podSandboxId = (await h.cri.runtime.runPodSandbox({ config, runtimeHandler: "" })).podSandboxId;
    const { containerId } = await h.cri.runtime.createContainer({
      podSandboxId,
      config: containerConfig("busy", image, ["sh", "-c", "while :; do :; done"]),
      sandboxConfig: config,
    });
    busy = containerId;
    await h.cri.runtime.startContainer({ containerId });
  });
  afterAll(async () => {
    await h?.cleanup();
  });

  it("ListMetricDescriptors describes the cadvisor series with their label keys", async () => {
    const { descriptors } = await h.cri.runtime.listMetricDescriptors({});
    const byName = new Map(descriptors.map((d) => [d.name, d]));
    expect(byName.size).toBe(descriptors.length);
    expect(byName.get("container_cpu_usage_seconds_total")).toEqual({
      name: "container_cpu_usage_seconds_total",
      help: "Cumulative cpu time consumed in seconds.",
      labelKeys: ["container", "pod", "namespace", "id", "image"],
    });
    expect(byName.get("container_memory_working_set_bytes")?.labelKeys).toHaveLength(5);
    expect(byName.get("container_network_receive_bytes_total")?.labelKeys).toEqual([
      "container",
      "pod",
      "namespace",
      "id",
      "image",
      "interface",
    ]);
  });

  it("ListPodSandboxMetrics gives each pod's and each container's samples, labelled and timestamped", async () => {
    // Two passes, with CPU burnt in between, so the counter has something to show.
    await h.runtime.stats.collectNow();
    let usage = 0n;
    await waitFor(
      async () => {
        await h.runtime.stats.collectNow();
        const { podMetrics } = await h.cri.runtime.listPodSandboxMetrics({});
        const pod = podMetrics.find((p) => p.podSandboxId === podSandboxId);
        const c = pod?.containerMetrics.find((m) => m.containerId === busy);
        usage = c?.metrics.find((m) => m.name === "container_cpu_usage_seconds_total")?.value?.value ?? 0n;
        return usage >= 1n;
      },
      30_000,
      "a whole second of CPU time in container_cpu_usage_seconds_total",
    );

    const { descriptors } = await h.cri.runtime.listMetricDescriptors({});
    const described = new Map(descriptors.map((d) => [d.name, d.labelKeys.length]));
    const { podMetrics } = await h.cri.runtime.listPodSandboxMetrics({});
    expect(podMetrics.map((p) => p.podSandboxId)).toEqual([podSandboxId]);
    const pod = podMetrics[0]!;
    expect(pod.containerMetrics.map((c) => c.containerId)).toEqual([busy]);
    const container = pod.containerMetrics[0]!.metrics;

    const find = (metrics: Metric[], name: string): Metric => {
      const m = metrics.find((x) => x.name === name);
      if (!m) throw new Error(`no ${name} among ${metrics.map((x) => x.name).join(", ")}`);
      return m;
    };
    const cpu = find(container, "container_cpu_usage_seconds_total");
    expect(cpu.metricType).toBe(MetricType.COUNTER);
    expect(cpu.labelValues).toEqual(["busy", "metrics", "default", expect.stringContaining(busy), image]);
    // Collected moments ago: a nanosecond timestamp within the last few minutes.
    const nowNs = BigInt(Date.now()) * 1_000_000n;
    expect(cpu.timestamp).toBeGreaterThan(nowNs - 300n * 1_000_000_000n);
    expect(cpu.timestamp).toBeLessThanOrEqual(nowNs);
    const memory = find(container, "container_memory_working_set_bytes");
    expect(memory.metricType).toBe(MetricType.GAUGE);
    expect(memory.value!.value).toBeGreaterThan(0n);

    // The pod's own series: its cgroup, labelled with an empty container name.
    const podCpu = find(pod.metrics, "container_cpu_usage_seconds_total");
    expect(podCpu.labelValues.slice(0, 3)).toEqual(["", "metrics", "default"]);
    expect(podCpu.value!.value).toBeGreaterThanOrEqual(cpu.value!.value);

    // Every metric names a described series and carries one value per label key.
    for (const m of [...pod.metrics, ...container]) {
      expect(described.get(m.name), m.name).toBe(m.labelValues.length);
    }
  });

  it("StreamPodSandboxMetrics sends the same pods, then ends", async () => {
    const streamed = [];
    for await (const chunk of h.cri.runtime.streamPodSandboxMetrics({}))
      streamed.push(...chunk.podSandboxMetrics);
    const { podMetrics } = await h.cri.runtime.listPodSandboxMetrics({});
    expect(streamed).toEqual(podMetrics);
    expect(streamed.map((p) => p.podSandboxId)).toEqual([podSandboxId]);
  });
});
