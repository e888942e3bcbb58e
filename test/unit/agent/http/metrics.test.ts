import { status } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { register as globalRegistry } from "prom-client";
import { createAgentMetrics, type StatsSource } from "../../../../agent/http/metrics.js";
import type { SnapshotListener } from "../../../../cri/stats/collector.js";
import type { StatsSnapshot } from "../../../../cri/stats/types.js";
import { snapshotFixture } from "./snapshot-fixture.js";

class FakeStats implements StatsSource {
  listeners = new Set<SnapshotListener>();
  constructor(public snapshot: StatsSnapshot) {}
  all(): StatsSnapshot {
    return this.snapshot;
  }
  onSample(listener: SnapshotListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/** The value of the one series of `name` whose labels include all of `labels`. */
function value(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const lines = text
    .split("\n")
    .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
    .filter((l) => Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)));
  if (lines.length > 1) throw new Error(`${lines.length} series of ${name} match ${JSON.stringify(labels)}`);
  const last = lines[0]?.split(" ").at(-1);
  return last === undefined ? undefined : Number(last);
}

const APP = {
  container: "app",
  pod: "web",
  namespace: "shop",
  id: "/pods/pod-sb1/aaa",
  image: "busybox:latest",
};

describe("agent metrics", () => {
  it("renders container series under cadvisor's names, from the cache", async () => {
    const { registry } = createAgentMetrics(new FakeStats(snapshotFixture()));
    const text = await registry.metrics();
    expect(value(text, "container_cpu_usage_seconds_total", APP)).toBe(12.5);
    expect(value(text, "container_cpu_user_seconds_total", APP)).toBe(9.375);
    expect(value(text, "container_cpu_system_seconds_total", APP)).toBe(3.125);
    expect(value(text, "container_cpu_cfs_periods_total", APP)).toBe(10);
    expect(value(text, "container_cpu_cfs_throttled_periods_total", APP)).toBe(3);
    expect(value(text, "container_cpu_cfs_throttled_seconds_total", APP)).toBe(2.5);
    expect(value(text, "container_memory_working_set_bytes", APP)).toBe(40 << 20);
    expect(value(text, "container_memory_usage_bytes", APP)).toBe((40 << 20) + 4096);
    expect(value(text, "container_memory_rss", APP)).toBe(1000);
    expect(value(text, "container_oom_events_total", APP)).toBe(1);
    expect(value(text, "container_spec_memory_limit_bytes", APP)).toBe(128 << 20);
    expect(value(text, "container_spec_memory_limit_bytes", { container: "sidecar" })).toBe(0);
    expect(value(text, "container_processes", APP)).toBe(3);
    expect(value(text, "container_start_time_seconds", APP)).toBe(1_699_999_001);
    expect(text).toContain("# TYPE container_cpu_usage_seconds_total counter");
    expect(text).toContain("# TYPE container_memory_working_set_bytes gauge");
  });

  it("renders PSI totals in seconds where the host has PSI, and nothing where it has not", async () => {
    const { registry } = createAgentMetrics(new FakeStats(snapshotFixture()));
    const text = await registry.metrics();
    expect(value(text, "container_pressure_cpu_waiting_seconds_total", APP)).toBe(1.5);
    expect(value(text, "container_pressure_cpu_stalled_seconds_total", APP)).toBe(0.5);
    expect(
      value(text, "container_pressure_cpu_waiting_seconds_total", { container: "sidecar" }),
    ).toBeUndefined();
    expect(value(text, "container_pressure_memory_waiting_seconds_total", APP)).toBeUndefined();
  });

  it('renders pod-level series with container="" and the pod\'s network', async () => {
    const { registry } = createAgentMetrics(new FakeStats(snapshotFixture()));
    const text = await registry.metrics();
    const pod = { container: "", pod: "web", id: "/pods/pod-sb1" };
    expect(value(text, "container_cpu_usage_seconds_total", pod)).toBe(13.5);
    expect(value(text, "container_processes", pod)).toBe(5);
    expect(value(text, "container_network_receive_bytes_total", { ...pod, interface: "eth0" })).toBe(1000);
    expect(value(text, "container_network_transmit_errors_total", { ...pod, interface: "eth0" })).toBe(1);
  });

  it("renders machine facts", async () => {
    const { registry } = createAgentMetrics(new FakeStats(snapshotFixture()));
    const text = await registry.metrics();
    expect(value(text, "machine_cpu_cores")).toBe(2);
    expect(value(text, "machine_memory_bytes")).toBe(8 * 2 ** 30);
  });

  it("follows the cache: a container gone from it loses its series at the next scrape", async () => {
    const stats = new FakeStats(snapshotFixture());
    const { registry } = createAgentMetrics(stats);
    expect(value(await registry.metrics(), "container_memory_rss", { container: "sidecar" })).toBe(1000);
    const next = snapshotFixture();
    (next.containers as Map<string, unknown>).delete("bbb");
    stats.snapshot = next;
    const text = await registry.metrics();
    expect(value(text, "container_memory_rss", { container: "sidecar" })).toBeUndefined();
    expect(value(text, "container_memory_rss", APP)).toBe(1000);
  });

  it("counts runtime operations, errors by code, and their durations", async () => {
    const { registry, observeRpc } = createAgentMetrics(new FakeStats(snapshotFixture()));
    const op = "runtime.v1.RuntimeService/ContainerStats";
    observeRpc(op, status.OK, 0.002);
    observeRpc(op, status.NOT_FOUND, 0.001);
    observeRpc("runtime.v1.RuntimeService/Version", status.OK, 0.5);
    const text = await registry.metrics();
    expect(value(text, "berth_runtime_operations_total", { operation: op })).toBe(2);
    expect(value(text, "berth_runtime_operations_errors_total", { operation: op, code: "NOT_FOUND" })).toBe(
      1,
    );
    expect(
      value(text, "berth_runtime_operations_errors_total", {
        operation: "runtime.v1.RuntimeService/Version",
      }),
    ).toBeUndefined();
    expect(value(text, "berth_runtime_operation_duration_seconds_count", { operation: op })).toBe(2);
    expect(
      value(text, "berth_runtime_operation_duration_seconds_bucket", { operation: op, le: "0.005" }),
    ).toBe(2);
  });

  it("records each collection pass's duration, and stops listening on close", async () => {
    const stats = new FakeStats(snapshotFixture());
    const metrics = createAgentMetrics(stats);
    for (const listener of stats.listeners) listener(snapshotFixture());
    expect(value(await metrics.registry.metrics(), "berth_stats_collection_duration_seconds_count")).toBe(1);
    expect(value(await metrics.registry.metrics(), "berth_stats_collection_duration_seconds_sum")).toBe(
      0.004,
    );
    metrics.close();
    expect(stats.listeners.size).toBe(0);
  });

  it("uses a registry of its own: two agents do not share series, the global registry stays empty", async () => {
    const a = createAgentMetrics(new FakeStats(snapshotFixture()));
    const b = createAgentMetrics(new FakeStats(snapshotFixture()));
    a.observeRpc("x/Y", status.OK, 0.1);
    expect(value(await b.registry.metrics(), "berth_runtime_operations_total")).toBeUndefined();
    expect(await globalRegistry.getMetricsAsJSON()).toEqual([]);
  });
});
