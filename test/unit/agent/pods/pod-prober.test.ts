import { describe, expect, it } from "vitest";
import { silentLogger } from "../../../../common/logger.js";
import { PodProber } from "../../../../agent/pods/pod-prober.js";
import { ProbeMetrics } from "../../../../agent/pods/probe-metrics.js";
import type { HandlerOutcome, ProbeResult } from "../../../../probes/outcome.js";
import { ProbeScheduler, type ProbeUpdate, type SchedulerTimers } from "../../../../probes/scheduler.js";
import { container, podSpec } from "./pod-spec-fixture.js";

const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Timers that fire only when the test moves the clock. */
class FakeTime {
  now = 1_000_000;
  private nextId = 1;
  private readonly pending = new Map<number, { at: number; fn: () => void }>();
  readonly clock = { now: (): number => this.now };
  readonly timers: SchedulerTimers = {
    setTimeout: (fn, ms) => {
      const id = this.nextId++;
      this.pending.set(id, { at: this.now + ms, fn });
      return id;
    },
    clearTimeout: (handle) => {
      this.pending.delete(handle as number);
    },
  };

  async advance(ms: number): Promise<void> {
    this.now += ms;
    for (;;) {
      const due = [...this.pending].filter(([, t]) => t.at <= this.now);
      if (due.length === 0) break;
      for (const [id, t] of due) {
        this.pending.delete(id);
        t.fn();
      }
      await flush();
    }
    await flush();
  }
}

function setup(outcomes: ProbeResult[]): {
  time: FakeTime;
  prober: PodProber;
  metrics: ProbeMetrics;
  updates: ProbeUpdate[];
  start: () => void;
} {
  const time = new FakeTime();
  let run = 0;
  const scheduler = new ProbeScheduler({
    execFn: () => Promise.reject(new Error("no exec here")),
    logger: silentLogger(),
    clock: time.clock,
    timers: time.timers,
    random: () => 0,
    runHandler: (): Promise<HandlerOutcome> =>
      Promise.resolve({ result: outcomes[Math.min(run++, outcomes.length - 1)] ?? "success", output: "" }),
  });
  const metrics = new ProbeMetrics();
  const prober = new PodProber(scheduler, metrics);
  const spec = podSpec("web", {
    containers: [
      container("app", {
        readinessProbe: { exec: { command: ["true"] }, periodSeconds: 1, failureThreshold: 2 },
      }),
    ],
  });
  const updates: ProbeUpdate[] = [];
  const start = (): void => {
    prober.ensure(
      { pod: spec.metadata, container: spec.containers[0]!, containerId: "c1", startedAt: time.now },
      (_target, update) => updates.push(update),
    );
  };
  return { time, prober, metrics, updates, start };
}

describe("PodProber", () => {
  it("does not call the pod worker for runs that repeat a passing result, and does for every failure", async () => {
    const { time, prober, updates, start } = setup([
      "success",
      "success",
      "success",
      "failure",
      "failure",
      "failure",
      "success",
    ]);
    start();
    for (let i = 0; i < 7; i++) await time.advance(1000);

    // Run 1 makes the container ready; runs 2-3 change nothing; each failure is an event (4-6)
    // and run 5 makes it unready; run 7 makes it ready again.
    expect(updates.map((u) => [u.outcome, u.changed])).toEqual([
      ["success", true],
      ["failure", false],
      ["failure", true],
      ["failure", false],
      ["success", true],
    ]);
    expect(prober.ready("c1")).toBe(true);
  });

  it("counts every run, passing or not, under the kubelet's labels", async () => {
    const { time, metrics, start } = setup(["success", "success", "failure", "success"]);
    start();
    for (let i = 0; i < 4; i++) await time.advance(1000);
    const counts = metrics.probeCounts().map((c) => [c.probe_type, c.result, c.count]);
    expect(counts).toEqual([
      ["Readiness", "successful", 3],
      ["Readiness", "failed", 1],
    ]);
  });

  it("starts a pod's series afresh after forgetPod, though its probes keep running", async () => {
    const { time, metrics, start } = setup(["success"]);
    start();
    await time.advance(1000);
    await time.advance(1000);
    metrics.forgetPod("default", "web");
    expect(metrics.probeCounts()).toEqual([]);
    await time.advance(1000);
    expect(metrics.probeCounts().map((c) => c.count)).toEqual([1]);
  });
});
