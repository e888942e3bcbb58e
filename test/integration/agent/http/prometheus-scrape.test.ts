// A real Prometheus (Debian's `prometheus` package) scrapes berth's /metrics on loopback, and
// its query API returns the test container's series: the text format, names and labels are
// what a Prometheus server accepts, not only what a parser in this repository accepts.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runtimeHealthCheck } from "../../../../agent/http/health.js";
import { createAgentMetrics, type AgentMetrics } from "../../../../agent/http/metrics.js";
import { startHttpServer, type AgentHttpServer } from "../../../../agent/http/server.js";
import { buildSummary } from "../../../../agent/http/summary.js";
import { silentLogger } from "../../../../common/logger.js";
import { sandboxConfig, startHarness, type Harness } from "../../../../harness/runtime-harness.js";
import { containerConfig, waitFor } from "../../../../harness/cri-fixtures.js";

const PROMETHEUS = "/usr/bin/prometheus";

interface QueryResult {
  status: string;
  data: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] };
}

async function freeLoopbackPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe("a real Prometheus scrapes /metrics", () => {
  let h: Harness;
  let metrics: AgentMetrics;
  let http: AgentHttpServer;
  let dir: string;
  let prometheus: ChildProcess | undefined;
  let prometheusOutput = "";
  let api: string;

  async function query(promql: string): Promise<QueryResult["data"]["result"]> {
    const res = await fetch(`${api}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = (await res.json()) as QueryResult;
    if (body.status !== "success") throw new Error(`query ${promql} failed: ${JSON.stringify(body)}`);
    return body.data.result;
  }

  beforeAll(async () => {
    if (!existsSync(PROMETHEUS)) {
      throw new Error(`${PROMETHEUS} is missing: install the Debian package "prometheus" (scripts/setup.sh)`);
    }
    h = await startHarness({ statsIntervalSeconds: 1 });
    metrics = createAgentMetrics(h.runtime.stats);
    http = await startHttpServer({
      port: 0,
      logger: silentLogger(),
      health: runtimeHealthCheck(h.runtime.runtimeService),
      metrics: metrics.registry,
      summary: () => buildSummary(h.runtime.stats.all(), { nodeName: "test-node" }),
    });

    const image = await h.importBusybox();
    const config = sandboxConfig("scraped-pod", { logDirectory: join(h.root, "logs") });
    const { podSandboxId } = await h.cri.runtime.runPodSandbox({ config, runtimeHandler: "" });
    const { containerId } = await h.cri.runtime.createContainer({
      podSandboxId,
      config: containerConfig("scraped", image, ["sh", "-c", "while :; do :; done"]),
      sandboxConfig: config,
    });
    await h.cri.runtime.startContainer({ containerId });
    await h.runtime.stats.collectNow();

    dir = await mkdtemp(join(tmpdir(), "berth-prom-"));
    const port = await freeLoopbackPort();
    api = `http://127.0.0.1:${port}`;
    await writeFile(
      join(dir, "prometheus.yml"),
      [
        "global:",
        "  scrape_interval: 1s",
        "  evaluation_interval: 1s",
        "scrape_configs:",
        "  - job_name: berth",
        "    static_configs:",
        `      - targets: ["127.0.0.1:${http.port}"]`,
        "",
      ].join("\n"),
    );
    prometheus = spawn(
      PROMETHEUS,
      [
        `--config.file=${join(dir, "prometheus.yml")}`,
        `--storage.tsdb.path=${join(dir, "data")}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    prometheus.stdout?.on("data", (chunk: Buffer) => (prometheusOutput += chunk.toString()));
    prometheus.stderr?.on("data", (chunk: Buffer) => (prometheusOutput += chunk.toString()));
    await waitFor(
      async () => {
        if (prometheus?.exitCode !== null) throw new Error(`prometheus exited:\n${prometheusOutput}`);
        return (await fetch(`${api}/-/ready`).catch(() => undefined))?.status === 200;
      },
      30_000,
      "prometheus ready",
    );
  }, 60_000);

  afterAll(async () => {
    if (prometheus && prometheus.exitCode === null) {
      const exited = new Promise((resolve) => prometheus?.once("exit", resolve));
      prometheus.kill("SIGTERM");
      await exited;
    }
    await http?.close();
    metrics?.close();
    await h?.cleanup();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("the target is up and the query API returns the container's series", async () => {
    await waitFor(
      async () => (await query('up{job="berth"}'))[0]?.value[1] === "1",
      20_000,
      "berth's scrape target up",
    );
    let series: QueryResult["data"]["result"] = [];
    await waitFor(
      async () => {
        series = await query('container_cpu_usage_seconds_total{container="scraped"}');
        return series.length > 0 && Number(series[0]?.value[1]) > 0;
      },
      20_000,
      "the container's CPU series in Prometheus",
    );
    expect(series).toHaveLength(1);
    expect(series[0]?.metric).toMatchObject({
      __name__: "container_cpu_usage_seconds_total",
      container: "scraped",
      pod: "scraped-pod",
      namespace: "default",
      job: "berth",
    });
    expect(series[0]?.metric.id).toContain("/");

    // A rate over the busy loop's counter: the series is a counter Prometheus can use as one.
    await waitFor(
      async () => {
        const rate = await query('rate(container_cpu_usage_seconds_total{container="scraped"}[5s])');
        return Number(rate[0]?.value[1]) > 0.05;
      },
      20_000,
      "a CPU rate for the container",
    );
    const memory = await query('container_memory_working_set_bytes{container="scraped"}');
    expect(Number(memory[0]?.value[1])).toBeGreaterThan(0);
  }, 60_000);
});
