import { describe, expect, it } from "vitest";
import type { NodeReport, ReportAck } from "../../../../agent/api/generated/report.js";
import { NodeStatus } from "../../../../agent/api/generated/report.js";
import type { OrchestratorTransport } from "../../../../agent/reporter/orchestrator-client.js";
import { Reporter } from "../../../../agent/reporter/reporter.js";
import { RetryBackoff } from "../../../../agent/reporter/retry-backoff.js";
import type { StatsSnapshot } from "../../../../cri/stats/types.js";
import { silentLogger } from "../../../../common/logger.js";
import { ManualTime, Mi, flush, snapshot } from "../eviction/fixtures.js";
import { FakePods } from "./fake-pods.js";

class FakeOrchestrator implements OrchestratorTransport {
  readonly received: NodeReport[] = [];
  /** Every attempt, the failed ones too: [sequence, time]. */
  readonly attempts: [bigint, number][] = [];
  up = true;
  resyncOnce = false;
  closed = false;

  constructor(private readonly time: ManualTime) {}

  async report(report: NodeReport): Promise<ReportAck> {
    this.attempts.push([report.sequence, this.time.now]);
    if (!this.up) throw new Error("14 UNAVAILABLE: connection refused");
    this.received.push(report);
    const resync = this.resyncOnce;
    this.resyncOnce = false;
    return { sequence: report.sequence, resync };
  }

  close(): void {
    this.closed = true;
  }
}

function setup(options: { queueLimit?: number; batch?: number } = {}) {
  const time = new ManualTime();
  const pods = new FakePods();
  const orchestrator = new FakeOrchestrator(time);
  let stats: StatsSnapshot = snapshot([{ pod: "web", memory: 10 * Mi }], time.now);
  const reporter = new Reporter({
    nodeName: () => "node-1",
    pods,
    stats: { all: () => stats },
    nodeStatus: () => NodeStatus.fromPartial({ capacity: { cpu: "2" } }),
    transport: orchestrator,
    logger: silentLogger(),
    intervalMs: 10_000,
    limits: {
      podUpdates: 10_000,
      events: options.queueLimit ?? 100,
      metricSamples: options.queueLimit ?? 100,
    },
    ...(options.batch && {
      batchLimits: { podUpdates: options.batch, events: options.batch, metricSamples: options.batch },
    }),
    backoff: new RetryBackoff({ random: () => 0, initialMs: 1000, maxMs: 8000 }),
    clock: time.clock,
    timers: time,
    sessionId: "session-1",
  });
  const newStats = (): void => {
    stats = snapshot([{ pod: "web", memory: 10 * Mi }], time.now);
  };
  return { time, pods, orchestrator, reporter, newStats };
}

const updates = (r: NodeReport): string[] =>
  r.podUpdates.map((u) => `${u.revision}:${u.type}:${u.pod?.metadata?.name}:${u.pod?.status?.phase}`);

describe("reporter", () => {
  it("sends a full report at start, then each pod change shortly after it, a burst in one report", async () => {
    const { time, pods, orchestrator, reporter } = setup();
    pods.add("web");
    reporter.start();
    await flush();
    const first = orchestrator.received[0];
    expect(first).toMatchObject({
      nodeName: "node-1",
      sessionId: "session-1",
      sequence: 1n,
      full: true,
      more: false,
    });
    expect(first?.pods.map((p) => p.metadata?.name)).toEqual(["web"]);
    expect(first?.metrics).toHaveLength(1);
    expect(first?.metrics[0]?.containers[0]).toMatchObject({
      podName: "web",
      memoryWorkingSetBytes: BigInt(10 * Mi),
    });
    expect(first?.node?.capacity).toEqual({ cpu: "2" });

    pods.set("web", "Running");
    pods.event("web", "Started", "Started container c0");
    pods.add("db");
    await time.advance(199);
    expect(orchestrator.received).toHaveLength(1);
    await time.advance(1);
    const second = orchestrator.received[1];
    expect(second).toMatchObject({ sequence: 2n, full: false, pods: [] });
    expect(updates(second as NodeReport)).toEqual(["1:MODIFIED:web:Running", "2:ADDED:db:Pending"]);
    expect(second?.events.map((e) => e.reason)).toEqual(["Started"]);
    await reporter.stop();
    expect(pods.watchers).toBe(0);
    expect(orchestrator.closed).toBe(true);
    expect(time.pendingCount).toBe(0);
  });

  it("reports every interval with a new usage sample, once per stats pass", async () => {
    const { time, orchestrator, reporter, newStats } = setup();
    reporter.start();
    await flush();
    await time.advance(10_000); // no stats pass in between: a report, but no new sample
    expect(orchestrator.received).toHaveLength(2);
    expect(orchestrator.received[1]?.metrics).toHaveLength(0);
    newStats();
    await time.advance(10_000);
    expect(orchestrator.received[2]?.metrics).toHaveLength(1);
    await reporter.stop();
  });

  it("backs off while the orchestrator is down, keeps every transition, and catches up in order when it is back", async () => {
    const { time, pods, orchestrator, reporter, newStats } = setup({ queueLimit: 3 });
    pods.add("job");
    reporter.start();
    await flush();
    orchestrator.up = false;

    pods.set("job", "Running");
    await time.advance(200); // the change's report fails: backoff 500 ms (1 s step, no jitter drawn)
    const failedAt = time.now;
    pods.set("job", "Running", { message: "same phase, more detail" });
    pods.set("job", "Failed", { reason: "Error" });
    for (let i = 0; i < 6; i++) {
      newStats();
      await time.advance(10_000);
    }
    // Retries at +500, +1000, +2000, +4000, +4000 (8 s cap, half jitter), ... never earlier.
    const retryTimes = orchestrator.attempts
      .filter(([, at]) => at >= failedAt)
      .map(([, at]) => at - failedAt);
    expect(retryTimes.slice(0, 6)).toEqual([0, 500, 1500, 3500, 7500, 11500]);
    const c = reporter.counters();
    expect(c.reportsFailed).toBeGreaterThanOrEqual(8);
    expect(c.queuedPodUpdates).toBe(2);
    expect(c.queuedMetricSamples).toBe(3);
    expect(c.droppedMetricSamples).toBe(3);

    orchestrator.up = true;
    await time.advance(4000);
    const back = orchestrator.received[1] as NodeReport;
    expect(back.full).toBe(true);
    expect(updates(back)).toEqual(["1:MODIFIED:job:Running", "2:MODIFIED:job:Failed"]);
    expect(back.podUpdates[0]?.pod?.status?.message).toBe("same phase, more detail");
    expect(back.pods.map((p) => p.status?.phase)).toEqual(["Failed"]);
    expect(back.metrics.map((m) => m.timestamp)).toHaveLength(3);
    expect(back.droppedMetricSamples).toBe(3n);
    expect(back.sequence).toBeGreaterThan((orchestrator.received[0] as NodeReport).sequence + 1n);
    expect(reporter.counters()).toMatchObject({
      queuedPodUpdates: 0,
      queuedMetricSamples: 0,
      consecutiveFailures: 0,
    });
    await reporter.stop();
  });

  it("catches up in several reports back to back, and sends a full one when the orchestrator asks", async () => {
    const { time, pods, orchestrator, reporter } = setup({ batch: 2 });
    reporter.start();
    await flush();
    orchestrator.up = false;
    for (const name of ["a", "b", "c", "d", "e"]) pods.add(name);
    await time.advance(200);
    orchestrator.up = true;
    await time.advance(500);
    const catchUp = orchestrator.received.slice(1);
    expect(catchUp.map((r) => [updates(r).length, r.full, r.more])).toEqual([
      [2, false, true],
      [2, false, true],
      [1, true, false],
    ]);
    expect(catchUp.flatMap((r) => r.podUpdates.map((u) => u.revision))).toEqual([1n, 2n, 3n, 4n, 5n]);

    orchestrator.resyncOnce = true;
    const before = orchestrator.received.length;
    await time.advance(10_000);
    // The interval's report is answered with a resync request; a full report follows at once.
    expect(orchestrator.received.slice(before).map((r) => r.full)).toEqual([false, true]);
    await reporter.stop();
  });

  it("reports soon after the node changes", async () => {
    const { time, orchestrator, reporter } = setup();
    reporter.start();
    await flush();
    reporter.nodeChanged();
    await time.advance(200);
    expect(orchestrator.received).toHaveLength(2);
    await reporter.stop();
  });
});
