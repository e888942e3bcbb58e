// The reporter against a real gRPC orchestrator (grpc-js serving berth.v1.Orchestrator) on a
// unix socket: the orchestrator goes away, pods change meanwhile, it comes back and receives
// every transition, in order, with increasing sequence numbers; and the same over TLS with a
// self-signed certificate made by openssl here.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Server, ServerCredentials, type sendUnaryData, type ServerUnaryCall } from "@grpc/grpc-js";
import { execa } from "execa";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  OrchestratorService,
  type NodeReport,
  type ReportAck,
} from "../../../../agent/api/generated/report.js";
import { NodeStatus } from "../../../../agent/api/generated/report.js";
import { defaultReporterConfig, type ReporterConfig } from "../../../../agent/reporter/config.js";
import { grpcOrchestratorTransport } from "../../../../agent/reporter/orchestrator-client.js";
import { Reporter } from "../../../../agent/reporter/reporter.js";
import { RetryBackoff } from "../../../../agent/reporter/retry-backoff.js";
import { silentLogger } from "../../../../common/logger.js";
import { snapshot } from "../../../unit/agent/eviction/fixtures.js";
import { FakePods } from "../../../unit/agent/reporter/fake-pods.js";

/** A small orchestrator: takes every report in and remembers it. */
class Orchestrator {
  readonly reports: NodeReport[];
  private server?: Server;

  constructor(reports: NodeReport[] = []) {
    this.reports = reports;
  }

  async listen(address: string, credentials = ServerCredentials.createInsecure()): Promise<number> {
    const server = new Server();
    server.addService(OrchestratorService, {
      report: (call: ServerUnaryCall<NodeReport, ReportAck>, callback: sendUnaryData<ReportAck>) => {
        this.reports.push(call.request);
        callback(null, { sequence: call.request.sequence, resync: false });
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(address, credentials, (err, p) => (err ? reject(err) : resolve(p))),
    );
    this.server = server;
    return port;
  }

  down(): void {
    this.server?.forceShutdown();
    this.server = undefined;
  }
}

async function eventually<T>(
  check: () => T | undefined | false,
  what: string,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not seen within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

let dir: string;
const cleanups: (() => Promise<void> | void)[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "berth-reporter-"));
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await rm(dir, { recursive: true, force: true });
});

async function startReporter(
  config: Pick<ReporterConfig, "endpoint" | "tls">,
  pods: FakePods,
): Promise<Reporter> {
  const reporter = new Reporter({
    nodeName: () => "node-it",
    pods,
    stats: { all: () => snapshot([{ pod: "job", memory: 1 << 20 }], Date.now()) },
    nodeStatus: () => NodeStatus.fromPartial({ capacity: { pods: "110" } }),
    transport: await grpcOrchestratorTransport(config),
    logger: silentLogger(),
    // Reports come from pod changes here; the interval only adds heartbeats.
    intervalMs: 60_000,
    limits: { podUpdates: 10_000, events: 100, metricSamples: 100 },
    debounceMs: 20,
    deadlineMs: 2000,
    backoff: new RetryBackoff({ initialMs: 100, maxMs: 400 }),
  });
  reporter.start();
  cleanups.push(() => reporter.stop());
  return reporter;
}

const transitions = (reports: NodeReport[]): string[] => {
  // A retry repeats revisions: each counts once.
  const seen = new Map<bigint, string>();
  for (const r of reports) {
    for (const u of r.podUpdates)
      seen.set(u.revision, `${u.type} ${u.pod?.metadata?.name} ${u.pod?.status?.phase}`);
  }
  const revisions = [...seen.keys()];
  expect(revisions).toEqual(revisions.map((_, i) => BigInt(i + 1)));
  return [...seen.values()];
};

describe("reporter to a gRPC orchestrator", () => {
  it("delivers every pod transition in order across an orchestrator outage", async () => {
    const socket = join(dir, "orchestrator.sock");
    const received: NodeReport[] = [];
    const first = new Orchestrator(received);
    await first.listen(`unix:${socket}`);
    cleanups.push(() => first.down());

    const pods = new FakePods();
    pods.add("job");
    const reporter = await startReporter(
      { endpoint: `unix://${socket}`, tls: defaultReporterConfig().tls },
      pods,
    );
    await eventually(() => received.length >= 1, "the first report");
    expect(received[0]).toMatchObject({ nodeName: "node-it", sequence: 1n, full: true });
    expect(received[0]?.pods.map((p) => p.metadata?.name)).toEqual(["job"]);

    pods.set("job", "Running");
    await eventually(() => received.some((r) => r.podUpdates.length > 0), "the Running update");

    first.down();
    await rm(socket, { force: true });
    pods.set("job", "Succeeded");
    pods.add("web");
    pods.set("web", "Running");
    pods.set("web", "Running", { message: "detail, no transition" });
    pods.remove("job");
    pods.set("web", "Failed", { reason: "Evicted", message: "The node was low on resource: memory." });
    await eventually(
      () => reporter.counters().reportsFailed >= 2,
      "failed reports while the orchestrator is down",
    );
    const receivedWhileDown = received.length;

    const second = new Orchestrator(received);
    await second.listen(`unix:${socket}`);
    cleanups.push(() => second.down());
    await eventually(
      () => received.some((r) => r.podUpdates.some((u) => u.pod?.status?.reason === "Evicted")),
      "the catch-up after the outage",
    );

    expect(transitions(received)).toEqual([
      "MODIFIED job Running",
      "MODIFIED job Succeeded",
      "ADDED web Pending",
      "MODIFIED web Running",
      "DELETED job Succeeded",
      "MODIFIED web Failed",
    ]);
    const sequences = received.map((r) => r.sequence);
    for (let i = 1; i < sequences.length; i++)
      expect(sequences[i]).toBeGreaterThan(sequences[i - 1] as bigint);
    const catchUp = received[receivedWhileDown] as NodeReport;
    expect(catchUp.full).toBe(true);
    expect(catchUp.pods.map((p) => `${p.metadata?.name} ${p.status?.phase}`)).toEqual(["web Failed"]);
    // The failed attempts used sequence numbers too: the catch-up's is past them.
    expect(catchUp.sequence).toBeGreaterThan(BigInt(receivedWhileDown + 1));
    expect(reporter.counters()).toMatchObject({ queuedPodUpdates: 0, consecutiveFailures: 0 });
  });

  it("reports over TLS to an orchestrator with a self-signed certificate, and refuses one it cannot trust", async () => {
    const key = join(dir, "orchestrator.key");
    const cert = join(dir, "orchestrator.crt");
    await execa("openssl", [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      key,
      "-out",
      cert,
      "-days",
      "1",
      "-subj",
      "/CN=berth-test-orchestrator",
      "-addext",
      "subjectAltName=IP:127.0.0.1,DNS:orchestrator.test",
    ]);
    const orchestrator = new Orchestrator();
    const port = await orchestrator.listen(
      "127.0.0.1:0",
      ServerCredentials.createSsl(
        null,
        [{ private_key: await readFile(key), cert_chain: await readFile(cert) }],
        false,
      ),
    );
    cleanups.push(() => orchestrator.down());

    const pods = new FakePods();
    pods.add("secure");
    const trusting = await startReporter(
      { endpoint: `127.0.0.1:${port}`, tls: { ...defaultReporterConfig().tls, enabled: true, caFile: cert } },
      pods,
    );
    await eventually(() => orchestrator.reports.length >= 1, "a report over TLS");
    expect(orchestrator.reports[0]?.pods.map((p) => p.metadata?.name)).toEqual(["secure"]);
    expect(trusting.counters().reportsFailed).toBe(0);

    // By name, as a certificate usually names its server.
    const byName = await startReporter(
      {
        endpoint: `127.0.0.1:${port}`,
        tls: { ...defaultReporterConfig().tls, enabled: true, caFile: cert, serverName: "orchestrator.test" },
      },
      new FakePods(),
    );
    await eventually(() => byName.counters().reportsSent >= 1, "a report to the server by name");

    const reportsBefore = orchestrator.reports.length;
    const doubtful = await startReporter(
      { endpoint: `127.0.0.1:${port}`, tls: { ...defaultReporterConfig().tls, enabled: true } },
      new FakePods(),
    );
    await eventually(() => doubtful.counters().reportsFailed >= 1, "a refused handshake");
    expect(doubtful.counters().reportsSent).toBe(0);
    expect(orchestrator.reports.length).toBe(reportsBefore);
  });
});
