// The agent's HTTP endpoint over a real runtime with real containers: /healthz, /metrics and
// /stats/summary answer from the stats cache, and RPCs served through an instrumented binding
// show up in berth's own series.
import { join } from "node:path";
import type { Server } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runtimeHealthCheck } from "../../../../agent/http/health.js";
import { createAgentMetrics, type AgentMetrics } from "../../../../agent/http/metrics.js";
import { startHttpServer, type AgentHttpServer } from "../../../../agent/http/server.js";
import { buildSummary, type Summary } from "../../../../agent/http/summary.js";
import { silentLogger } from "../../../../common/logger.js";
import { RuntimeServiceService } from "../../../../cri/api/generated/api.js";
import { bindService } from "../../../../cri/grpc-binding.js";
import { connectCri, type CriClients } from "../../../../cri/grpc-client.js";
import { startGrpcServer, stopGrpcServer } from "../../../../cri/grpc-server.js";
import { sandboxConfig, startHarness, type Harness } from "../../../../harness/runtime-harness.js";
import { containerConfig, grpcError } from "../../../../harness/cri-fixtures.js";

/** The value of the one series of `name` whose labels include all of `labels`. */
function value(text: string, name: string, labels: Record<string, string>): number | undefined {
  const lines = text
    .split("\n")
    .filter((l) => l.startsWith(`${name}{`))
    .filter((l) => Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)));
  if (lines.length > 1) throw new Error(`${lines.length} series of ${name} match ${JSON.stringify(labels)}`);
  const last = lines[0]?.split(" ").at(-1);
  return last === undefined ? undefined : Number(last);
}

describe("agent HTTP endpoint", () => {
  let h: Harness;
  let metrics: AgentMetrics;
  let http: AgentHttpServer;
  let instrumented: { server: Server; cri: CriClients };
  let podUid: string;
  let busy: string;

  beforeAll(async () => {
    h = await startHarness({ statsIntervalSeconds: 3600 });
    metrics = createAgentMetrics(h.runtime.stats);
    http = await startHttpServer({
      port: 0,
      logger: silentLogger(),
      health: runtimeHealthCheck(h.runtime.runtimeService),
      metrics: metrics.registry,
      summary: () => buildSummary(h.runtime.stats.all(), { nodeName: "test-node" }),
    });
    // A second socket whose binding reports to the metrics, as the daemon's does.
    const socket = join(h.root, "instrumented.sock");
    const server = await startGrpcServer(socket, [
      {
        definition: RuntimeServiceService,
        implementation: bindService(
          "runtime.v1.RuntimeService",
          RuntimeServiceService,
          h.runtime.runtimeService,
          silentLogger(),
          metrics.observeRpc,
        ),
      },
    ]);
    instrumented = { server, cri: connectCri(socket) };

    const image = await h.importBusybox();
    const config = sandboxConfig("metrics-pod", { logDirectory: join(h.root, "logs") });
    podUid = config.metadata!.uid;
    const { podSandboxId } = await h.cri.runtime.runPodSandbox({ config, runtimeHandler: "" });
    ({ containerId: busy } = await h.cri.runtime.createContainer({
      podSandboxId,
      config: containerConfig("spinner", image, ["sh", "-c", "while :; do :; done"]),
      sandboxConfig: config,
    }));
    await h.cri.runtime.startContainer({ containerId: busy });
    await h.runtime.stats.collectNow();
    await new Promise((r) => setTimeout(r, 500));
    await h.runtime.stats.collectNow();
  });
  afterAll(async () => {
    instrumented?.cri.close();
    if (instrumented) await stopGrpcServer(instrumented.server, 1000);
    await http?.close();
    metrics?.close();
    await h?.cleanup();
  });

  it("serves on loopback by default", () => {
    expect(http.address).toBe("127.0.0.1");
    expect(http.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it("/healthz: 200 ok while the runtime answers", async () => {
    const res = await fetch(`${http.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("ok");
  });

  it("/metrics: the busy container's CPU and memory series, with its names", async () => {
    const res = await fetch(`${http.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/plain");
    const text = await res.text();
    const labels = { container: "spinner", pod: "metrics-pod", namespace: "default" };
    expect(value(text, "container_cpu_usage_seconds_total", labels)).toBeGreaterThan(0.1);
    expect(value(text, "container_memory_working_set_bytes", labels)).toBeGreaterThan(0);
    expect(value(text, "container_start_time_seconds", labels)).toBeGreaterThan(1.6e9);
    expect(value(text, "container_processes", labels)).toBeGreaterThanOrEqual(1);
    // The pod's own cgroup, as cadvisor shows it: container="".
    expect(
      value(text, "container_cpu_usage_seconds_total", { container: "", pod: "metrics-pod" }),
    ).toBeGreaterThan(0.1);
    expect(text).toMatch(/^machine_cpu_cores \d+$/m);
    expect(text).toMatch(/^berth_stats_collection_duration_seconds_count [1-9]\d*$/m);
  });

  it("/metrics: calls through the instrumented binding are counted, failures by code", async () => {
    await instrumented.cri.runtime.version({ version: "v1" });
    await grpcError(instrumented.cri.runtime.containerStats({ containerId: "no-such-container" }));
    const text = await (await fetch(`${http.url}/metrics`)).text();
    const stats = { operation: "runtime.v1.RuntimeService/ContainerStats" };
    expect(
      value(text, "berth_runtime_operations_total", { operation: "runtime.v1.RuntimeService/Version" }),
    ).toBe(1);
    expect(value(text, "berth_runtime_operations_total", stats)).toBe(1);
    expect(value(text, "berth_runtime_operations_errors_total", { ...stats, code: "NOT_FOUND" })).toBe(1);
    expect(value(text, "berth_runtime_operation_duration_seconds_count", stats)).toBe(1);
  });

  it("/stats/summary: the node, and the pod with its container by name", async () => {
    const res = await fetch(`${http.url}/stats/summary`);
    expect(res.status).toBe(200);
    const summary = (await res.json()) as Summary;
    expect(summary.node.nodeName).toBe("test-node");
    expect(summary.node.memory?.workingSetBytes).toBeGreaterThan(0);
    expect(summary.node.runtime?.imageFs?.usedBytes).toBeGreaterThan(0);
    const pod = summary.pods.find((p) => p.podRef.uid === podUid);
    expect(pod?.podRef).toEqual({ name: "metrics-pod", namespace: "default", uid: podUid });
    expect(pod?.containers.map((c) => c.name)).toEqual(["spinner"]);
    expect(pod?.containers[0]?.cpu?.usageNanoCores).toBeGreaterThan(0);
    expect(pod?.containers[0]?.memory?.workingSetBytes).toBeGreaterThan(0);
    expect(pod?.cpu?.usageCoreNanoSeconds).toBeGreaterThan(0);
  });

  it("unknown paths are 404, other methods 405", async () => {
    expect((await fetch(`${http.url}/nope`)).status).toBe(404);
    expect((await fetch(`${http.url}/metrics`, { method: "POST" })).status).toBe(405);
  });

  it("/healthz: 503 with the reason when the runtime does not answer in time", async () => {
    const hung = await startHttpServer({
      port: 0,
      logger: silentLogger(),
      health: runtimeHealthCheck({ status: () => new Promise(() => undefined) }, 100),
      metrics: metrics.registry,
      summary: () => ({ node: { nodeName: "x" }, pods: [] }),
    });
    try {
      const res = await fetch(`${hung.url}/healthz`);
      expect(res.status).toBe(503);
      expect(await res.text()).toContain("did not answer within 100 ms");
    } finally {
      await hung.close();
    }
  });
});
