import { describe, expect, it } from "vitest";
import { Pod } from "../../../../agent/api/generated/berth.js";
import { MetricsSample } from "../../../../agent/api/generated/report.js";
import { ReportQueue } from "../../../../agent/reporter/report-queue.js";

function podMsg(uid: string, phase: string, message = ""): Pod {
  return Pod.fromPartial({ metadata: { uid, name: uid, namespace: "default" }, status: { phase, message } });
}

function sample(i: number): MetricsSample {
  return MetricsSample.fromPartial({ timestamp: `t${i}` });
}

const caps = { podUpdates: 100, events: 100, metricSamples: 100 };

describe("report queue", () => {
  it("keeps every transition in order and refreshes non-transitions in place", () => {
    const q = new ReportQueue({ podUpdates: 100, events: 10, metricSamples: 10 });
    q.addPodChange("ADDED", podMsg("a", "Pending"), "Pending", "t1");
    q.addPodChange("MODIFIED", podMsg("a", "Pending", "pulling"), "Pending", "t2"); // same key: refresh
    q.addPodChange("MODIFIED", podMsg("b", "Running"), "Running", "t3");
    q.addPodChange("MODIFIED", podMsg("a", "Running"), "Running", "t4");
    q.addPodChange("MODIFIED", podMsg("a", "Running", "still"), "Running", "t5"); // refresh
    q.addPodChange("MODIFIED", podMsg("a", "Failed"), "Failed", "t6");
    q.addPodChange("DELETED", podMsg("a", "Failed"), "Failed", "t7");
    const batch = q.takeBatch(caps);
    expect(
      batch.podUpdates.map((u) => [
        u.revision,
        u.type,
        u.pod?.metadata?.uid,
        u.pod?.status?.phase,
        u.observedAt,
      ]),
    ).toEqual([
      [1n, "ADDED", "a", "Pending", "t2"],
      [2n, "MODIFIED", "b", "Running", "t3"],
      [3n, "MODIFIED", "a", "Running", "t5"],
      [4n, "MODIFIED", "a", "Failed", "t6"],
      [5n, "DELETED", "a", "Failed", "t7"],
    ]);
    expect(batch.podUpdates[0]?.pod?.status?.message).toBe("pulling");
    expect(q.counters().coalescedPodUpdates).toBe(2);
  });

  it("never refreshes an update that is in flight: the newer content follows as its own update", () => {
    const q = new ReportQueue({ podUpdates: 100, events: 10, metricSamples: 10 });
    q.addPodChange("MODIFIED", podMsg("a", "Running"), "Running", "t1");
    const inFlight = q.takeBatch(caps);
    q.addPodChange("MODIFIED", podMsg("a", "Running", "newer"), "Running", "t2");
    q.ack();
    expect(inFlight.podUpdates).toHaveLength(1);
    const next = q.takeBatch(caps);
    expect(next.podUpdates.map((u) => [u.revision, u.pod?.status?.message])).toEqual([[2n, "newer"]]);
  });

  it("asks for a full report first, and again after a failure; the batch stays queued", () => {
    const q = new ReportQueue({ podUpdates: 100, events: 10, metricSamples: 10 });
    expect(q.takeBatch(caps).full).toBe(true);
    q.ack();
    q.addPodChange("ADDED", podMsg("a", "Pending"), "Pending", "t1");
    expect(q.takeBatch(caps).full).toBe(false);
    q.fail();
    const retry = q.takeBatch(caps);
    expect(retry.full).toBe(true);
    expect(retry.podUpdates.map((u) => u.revision)).toEqual([1n]);
    q.ack();
    expect(q.sizes().podUpdates).toBe(0);
    expect(q.takeBatch(caps).full).toBe(false);
  });

  it("drops the oldest metric samples and events beyond the limit, counting them", () => {
    const q = new ReportQueue({ podUpdates: 100, events: 2, metricSamples: 3 });
    for (let i = 1; i <= 5; i++) q.addMetrics(sample(i));
    for (let i = 1; i <= 4; i++)
      q.addEvent({ time: `e${i}`, type: "Normal", reason: "Pulled", message: "", fieldPath: "", count: 1 });
    const batch = q.takeBatch(caps);
    expect(batch.metrics.map((m) => m.timestamp)).toEqual(["t3", "t4", "t5"]);
    expect(batch.events.map((e) => e.time)).toEqual(["e3", "e4"]);
    expect(q.counters()).toMatchObject({ droppedMetricSamples: 2, droppedEvents: 2 });
  });

  it("keeps the in-flight batch consistent when its oldest sample is dropped meanwhile", () => {
    const q = new ReportQueue({ podUpdates: 100, events: 10, metricSamples: 2 });
    q.addMetrics(sample(1));
    q.addMetrics(sample(2));
    q.takeBatch(caps); // t1, t2 in flight
    q.addMetrics(sample(3)); // drops t1
    q.ack(); // t2 acknowledged: only t3 is left
    expect(q.takeBatch(caps).metrics.map((m) => m.timestamp)).toEqual(["t3"]);
  });

  it("squashes pod updates into one full report beyond the limit, and says how many", () => {
    const q = new ReportQueue({ podUpdates: 3, events: 10, metricSamples: 10 });
    q.takeBatch(caps);
    q.ack(); // the first full report is done
    for (let i = 1; i <= 4; i++) q.addPodChange("MODIFIED", podMsg(`p${i}`, "Running"), "Running", `t${i}`);
    expect(q.counters().squashedPodUpdates).toBe(4);
    q.addPodChange("MODIFIED", podMsg("p5", "Running"), "Running", "t5");
    const batch = q.takeBatch(caps);
    expect(batch.full).toBe(true);
    expect(batch.podUpdates.map((u) => u.revision)).toEqual([5n]);
  });

  it("splits a catch-up into batches and sends the full list only with the batch that drains the updates", () => {
    const q = new ReportQueue({ podUpdates: 100, events: 10, metricSamples: 10 });
    for (let i = 1; i <= 5; i++) q.addPodChange("ADDED", podMsg(`p${i}`, "Pending"), "Pending", `t${i}`);
    const small = { podUpdates: 2, events: 10, metricSamples: 10 };
    const seen: bigint[] = [];
    const flags: [boolean, boolean][] = [];
    for (;;) {
      const b = q.takeBatch(small);
      seen.push(...b.podUpdates.map((u) => u.revision));
      flags.push([b.full, b.more]);
      q.ack();
      if (!b.more) break;
    }
    expect(seen).toEqual([1n, 2n, 3n, 4n, 5n]);
    expect(flags).toEqual([
      [false, true],
      [false, true],
      [true, false],
    ]);
  });

  it("keeps a full report owed when another was asked for while one was in flight", () => {
    const q = new ReportQueue({ podUpdates: 100, events: 10, metricSamples: 10 });
    const first = q.takeBatch(caps);
    expect(first.full).toBe(true);
    q.requestFull(); // e.g. the orchestrator asked for a resync meanwhile
    q.ack();
    expect(q.takeBatch(caps).full).toBe(true);
  });
});
