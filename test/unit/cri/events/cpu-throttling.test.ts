import { describe, expect, it } from "vitest";
import type { CgroupStats } from "../../../../cgroups/stats.js";
import { CpuThrottlingDetector, ThrottlingWindow } from "../../../../cri/events/cpu-throttling.js";
import type { ContainerSample, ContainerTarget } from "../../../../cri/stats/types.js";

/** Samples every 10 s, `periodsPerStep` periods each, `throttledPerStep` of them throttled. */
function feed(
  window: ThrottlingWindow,
  steps: number,
  periodsPerStep: number,
  throttledPerStep: number,
  start = { t: 0, periods: 0, throttled: 0 },
) {
  const verdicts = [];
  let { t, periods, throttled } = start;
  for (let i = 0; i < steps; i++) {
    t += 10_000;
    periods += periodsPerStep;
    throttled += throttledPerStep;
    const verdict = window.add({
      timestampMs: t,
      periods,
      throttledPeriods: throttled,
      throttledNanos: throttled * 5_000_000,
    });
    verdicts.push(verdict && { at: t, ...verdict });
  }
  return { verdicts, end: { t, periods, throttled } };
}

describe("ThrottlingWindow", () => {
  it("says nothing until its history covers the whole window", () => {
    const window = new ThrottlingWindow(60_000, 0.25, 10);
    window.add({ timestampMs: 0, periods: 0, throttledPeriods: 0, throttledNanos: 0 });
    const { verdicts } = feed(window, 5, 100, 100); // 10..50 s: shorter than 60 s
    expect(verdicts.every((v) => v === undefined)).toBe(true);
    const [at60] = feed(window, 1, 100, 100, { t: 50_000, periods: 500, throttled: 500 }).verdicts;
    expect(at60).toMatchObject({ at: 60_000, share: 1, periods: 600, throttledPeriods: 600, spanMs: 60_000 });
  });

  it("reports once per window while throttling lasts", () => {
    const window = new ThrottlingWindow(60_000, 0.25, 10);
    window.add({ timestampMs: 0, periods: 0, throttledPeriods: 0, throttledNanos: 0 });
    const { verdicts } = feed(window, 18, 100, 50); // 3 minutes at 50%
    const reportedAt = verdicts.filter((v) => v !== undefined).map((v) => v?.at);
    expect(reportedAt).toEqual([60_000, 120_000, 180_000]);
    for (const v of verdicts.filter((x) => x !== undefined)) {
      expect(v?.share).toBeCloseTo(0.5);
      expect(v?.throttledNanos).toBe(300 * 5_000_000);
    }
  });

  it("stays quiet at or under the share, and reports again once it is crossed", () => {
    const window = new ThrottlingWindow(60_000, 0.25, 10);
    window.add({ timestampMs: 0, periods: 0, throttledPeriods: 0, throttledNanos: 0 });
    const calm = feed(window, 12, 100, 25); // exactly 25%: not more than the share
    expect(calm.verdicts.every((v) => v === undefined)).toBe(true);
    const hot = feed(window, 6, 100, 90, calm.end);
    // The first hot sample lifts the last 60 s to (5 x 25 + 90) / 600 = 36%; the next report
    // would need a full window after that one.
    const reports = hot.verdicts.filter((v) => v !== undefined);
    expect(reports.map((v) => v?.at)).toEqual([130_000]);
    expect(reports[0]?.share).toBeCloseTo(215 / 600);
  });

  it("ignores windows with too few periods to mean anything", () => {
    const window = new ThrottlingWindow(60_000, 0.25, 10);
    window.add({ timestampMs: 0, periods: 0, throttledPeriods: 0, throttledNanos: 0 });
    const { verdicts } = feed(window, 6, 1, 1); // 6 periods, all throttled
    expect(verdicts.every((v) => v === undefined)).toBe(true);
  });

  it("starts over when the counters go backwards (a new cgroup under the name)", () => {
    const window = new ThrottlingWindow(60_000, 0.25, 10);
    window.add({ timestampMs: 0, periods: 0, throttledPeriods: 0, throttledNanos: 0 });
    feed(window, 3, 100, 100);
    // Reset: counters small again at 40 s; a window from here needs 60 s of new history.
    expect(
      window.add({ timestampMs: 40_000, periods: 5, throttledPeriods: 5, throttledNanos: 0 }),
    ).toBeUndefined();
    const { verdicts } = feed(window, 6, 100, 100, { t: 40_000, periods: 5, throttled: 5 });
    expect(verdicts.filter((v) => v !== undefined).map((v) => v?.at)).toEqual([100_000]);
  });

  it("ignores samples that do not move time forward", () => {
    const window = new ThrottlingWindow(1_000, 0.25, 1);
    window.add({ timestampMs: 1_000, periods: 0, throttledPeriods: 0, throttledNanos: 0 });
    expect(
      window.add({ timestampMs: 1_000, periods: 50, throttledPeriods: 50, throttledNanos: 0 }),
    ).toBeUndefined();
    expect(
      window.add({ timestampMs: 2_000, periods: 50, throttledPeriods: 50, throttledNanos: 0 }),
    ).toMatchObject({
      share: 1,
    });
  });
});

function sample(id: string, t: number, periods: number, throttled: number): ContainerSample {
  const target = { id, sandboxId: `pod-of-${id}` } as ContainerTarget;
  const stats = {
    timestamp: t,
    cpu: {
      usageNanos: 0,
      userNanos: 0,
      systemNanos: 0,
      periods,
      throttledPeriods: throttled,
      throttledNanos: throttled * 1_000_000,
    },
  } as CgroupStats;
  return { target, stats };
}

describe("CpuThrottlingDetector", () => {
  it("follows each container of the snapshots and names it in the event", () => {
    const detector = new CpuThrottlingDetector({ share: 0.25, windowSeconds: 2, minPeriods: 5 });
    const snap = (t: number, a: [number, number], b: [number, number]) => ({
      containers: new Map([
        ["a", sample("a", t, ...a)],
        ["b", sample("b", t, ...b)],
      ]),
    });
    expect(detector.observe(snap(0, [0, 0], [0, 0]))).toEqual([]);
    expect(detector.observe(snap(1_000, [10, 9], [10, 1]))).toEqual([]);
    const events = detector.observe(snap(2_000, [20, 18], [20, 2]));
    expect(events).toHaveLength(1);
    const [event] = events;
    expect(event).toMatchObject({
      containerId: "a",
      sandboxId: "pod-of-a",
      time: 2_000,
      share: 0.9,
      windowSeconds: 2,
      periods: 20,
      throttledPeriods: 18,
      throttledSeconds: 0.018,
    });
    expect(event?.message).toContain("90%");
    expect(event?.message).toContain("18 of 20 periods");
  });

  it("forgets containers that leave the snapshots", () => {
    const detector = new CpuThrottlingDetector();
    detector.observe({ containers: new Map([["a", sample("a", 0, 0, 0)]]) });
    expect(detector.size).toBe(1);
    detector.observe({ containers: new Map() });
    expect(detector.size).toBe(0);
  });

  it("defaults to a quarter of the periods over 60 s", () => {
    const detector = new CpuThrottlingDetector();
    expect(detector.share).toBe(0.25);
    expect(detector.windowMs).toBe(60_000);
  });
});
