import { describe, expect, it } from "vitest";
import { MetricType } from "../../../../cri/api/generated/api.js";
import {
  CriMetricsService,
  PODS_PER_STREAM_MESSAGE,
  metricDescriptors,
  podSandboxMetrics,
} from "../../../../cri/stats/cri-metrics.js";
import type { SandboxSample, StatsSnapshot } from "../../../../cri/stats/types.js";
import { T, snapshotFixture } from "../../agent/http/snapshot-fixture.js";

describe("CRI metrics", () => {
  it("describes every series once", () => {
    const names = metricDescriptors().map((d) => d.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toContain("container_memory_working_set_bytes");
    expect(names).not.toContain("machine_cpu_cores");
  });

  it("gives each pod its own samples and its containers', in whole units, timestamped in ns", () => {
    const snapshot = snapshotFixture();
    const pods = podSandboxMetrics(snapshot);
    expect(pods).toHaveLength(snapshot.sandboxes.size);
    const pod = pods[0]!;
    expect(pod.containerMetrics.map((c) => c.containerId).sort()).toEqual(["aaa", "bbb"]);
    const app = pod.containerMetrics.find((c) => c.containerId === "aaa")!.metrics;
    const cpu = app.find((m) => m.name === "container_cpu_usage_seconds_total")!;
    // 12.5 s of CPU: whole seconds, as a CRI uint64.
    expect(cpu.value).toEqual({ value: 12n });
    expect(cpu.metricType).toBe(MetricType.COUNTER);
    expect(cpu.timestamp).toBe(BigInt(T) * 1_000_000n);
    expect(cpu.labelValues[0]).toBe("app");
    const ws = app.find((m) => m.name === "container_memory_working_set_bytes")!;
    expect(ws).toMatchObject({ metricType: MetricType.GAUGE, value: { value: BigInt(40 << 20) } });
    const described = new Map(metricDescriptors().map((d) => [d.name, d.labelKeys.length]));
    for (const m of [...pod.metrics, ...pod.containerMetrics.flatMap((c) => c.metrics)]) {
      expect(described.get(m.name), m.name).toBe(m.labelValues.length);
      expect(m.value!.value).toBeGreaterThanOrEqual(0n);
    }
  });

  it("streams many pods in chunks", async () => {
    const base = snapshotFixture();
    const [one] = [...base.sandboxes.values()] as [SandboxSample];
    const sandboxes = new Map<string, SandboxSample>();
    for (let i = 0; i < PODS_PER_STREAM_MESSAGE * 2 + 1; i++) {
      sandboxes.set(`s${i}`, { ...one, target: { ...one.target, id: `s${i}` } });
    }
    const snapshot: StatsSnapshot = { ...base, sandboxes };
    const service = new CriMetricsService({ all: () => snapshot });
    const sizes: number[] = [];
    for await (const chunk of service.streamPodSandboxMetrics({})) sizes.push(chunk.podSandboxMetrics.length);
    expect(sizes).toEqual([PODS_PER_STREAM_MESSAGE, PODS_PER_STREAM_MESSAGE, 1]);
  });
});
