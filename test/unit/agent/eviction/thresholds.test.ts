import { describe, expect, it } from "vitest";
import { defaultEvictionConfig, parseEvictionConfig } from "../../../../agent/eviction/config.js";
import {
  computeObservations,
  type EvictionSignal,
  type Observations,
} from "../../../../agent/eviction/signals.js";
import {
  byEvictionPriority,
  conditionsLastObservedAt,
  conditionsWithinTransitionPeriod,
  describeThreshold,
  isThresholdMet,
  mergeThresholds,
  pressureConditions,
  thresholdQuantity,
  thresholdsFirstObservedAt,
  thresholdsMet,
  thresholdsPastGracePeriod,
  type Threshold,
} from "../../../../agent/eviction/thresholds.js";
import { InvalidArgumentError } from "../../../../common/errors.js";
import { Mi } from "./fixtures.js";

function observe(
  values: Partial<Record<EvictionSignal, [available: number, capacity: number]>>,
): Observations {
  return new Map(
    Object.entries(values).map(([signal, [available, capacity]]) => [
      signal as EvictionSignal,
      { available, capacity, timeMs: 0, source: "test" },
    ]),
  );
}

const memoryHard: Threshold = {
  signal: "memory.available",
  operator: "LessThan",
  value: { quantity: 100 * Mi },
  gracePeriodMs: 0,
};

describe("threshold checks", () => {
  it("meets a LessThan threshold only below the value, and never for an unobserved signal", () => {
    expect(isThresholdMet(memoryHard, observe({ "memory.available": [99 * Mi, 1000 * Mi] }), false)).toBe(
      true,
    );
    expect(isThresholdMet(memoryHard, observe({ "memory.available": [100 * Mi, 1000 * Mi] }), false)).toBe(
      false,
    );
    expect(isThresholdMet(memoryHard, observe({}), false)).toBe(false);
  });

  it("takes a percentage of the capacity, truncated as the kubelet's int64", () => {
    expect(thresholdQuantity({ percentage: 0.1 }, 1005)).toBe(100);
    const nodefs: Threshold = {
      signal: "nodefs.available",
      operator: "LessThan",
      value: { percentage: 0.1 },
      gracePeriodMs: 0,
    };
    expect(isThresholdMet(nodefs, observe({ "nodefs.available": [99, 1000] }), false)).toBe(true);
    expect(isThresholdMet(nodefs, observe({ "nodefs.available": [100, 1000] }), false)).toBe(false);
  });

  it("keeps a met threshold met until the signal recovers past the minimum reclaim", () => {
    const t: Threshold = { ...memoryHard, minReclaim: { quantity: 50 * Mi } };
    const recovered = observe({ "memory.available": [120 * Mi, 1000 * Mi] });
    expect(isThresholdMet(t, recovered, false)).toBe(false);
    expect(isThresholdMet(t, recovered, true)).toBe(true);
    expect(isThresholdMet(t, observe({ "memory.available": [150 * Mi, 1000 * Mi] }), true)).toBe(false);
    // The kubelet's pass: newly met thresholds, plus earlier ones not yet resolved.
    const met = mergeThresholds(thresholdsMet([t], recovered, false), thresholdsMet([t], recovered, true));
    expect(met).toEqual([t]);
  });

  it("bounds the PSI signal from above", () => {
    const psi: Threshold = {
      signal: "memory.psiFullAvg10",
      operator: "GreaterThan",
      value: { quantity: 40 },
      gracePeriodMs: 0,
    };
    expect(isThresholdMet(psi, observe({ "memory.psiFullAvg10": [40.5, 100] }), false)).toBe(true);
    expect(isThresholdMet(psi, observe({ "memory.psiFullAvg10": [39, 100] }), false)).toBe(false);
  });
});

describe("grace periods and pressure transition", () => {
  const soft: Threshold = { ...memoryHard, value: { quantity: 500 * Mi }, gracePeriodMs: 90_000 };

  it("acts on hard thresholds at once and on soft ones after their grace period since first observed", () => {
    let first = thresholdsFirstObservedAt([memoryHard, soft], new Map(), 1000);
    expect(thresholdsPastGracePeriod([memoryHard, soft], first, 1000)).toEqual([memoryHard]);
    first = thresholdsFirstObservedAt([memoryHard, soft], first, 60_000);
    expect(thresholdsPastGracePeriod([memoryHard, soft], first, 60_000)).toEqual([memoryHard]);
    first = thresholdsFirstObservedAt([soft], first, 91_000);
    expect(thresholdsPastGracePeriod([soft], first, 91_000)).toEqual([soft]);
  });

  it("starts the grace period over once a threshold was not met", () => {
    let first = thresholdsFirstObservedAt([soft], new Map(), 0);
    first = thresholdsFirstObservedAt([], first, 50_000); // recovered for a moment
    first = thresholdsFirstObservedAt([soft], first, 60_000);
    expect(thresholdsPastGracePeriod([soft], first, 100_000)).toEqual([]);
    expect(thresholdsPastGracePeriod([soft], first, 150_000)).toEqual([soft]);
  });

  it("reports a pressure condition until the transition period has passed since it was last observed", () => {
    const conditions = pressureConditions([memoryHard, { ...memoryHard, signal: "nodefs.inodesFree" }]);
    expect([...conditions].sort()).toEqual(["DiskPressure", "MemoryPressure"]);
    let last = conditionsLastObservedAt(conditions, new Map(), 0);
    last = conditionsLastObservedAt(new Set(["MemoryPressure"]), last, 200_000);
    const period = 300_000;
    expect([...conditionsWithinTransitionPeriod(last, period, 299_999)].sort()).toEqual([
      "DiskPressure",
      "MemoryPressure",
    ]);
    expect([...conditionsWithinTransitionPeriod(last, period, 300_000)]).toEqual(["MemoryPressure"]);
    expect([...conditionsWithinTransitionPeriod(last, period, 500_000)]).toEqual([]);
  });

  it("attends to memory first, as the kubelet does", () => {
    const disk: Threshold = { ...memoryHard, signal: "nodefs.available" };
    const pids: Threshold = { ...memoryHard, signal: "pid.available" };
    expect(byEvictionPriority([disk, pids, memoryHard]).map((t) => t.signal)).toEqual([
      "memory.available",
      "nodefs.available",
      "pid.available",
    ]);
  });
});

describe("eviction config", () => {
  it("defaults to the kubelet's hard thresholds", () => {
    const policy = parseEvictionConfig(defaultEvictionConfig());
    expect(policy.thresholds.map(describeThreshold)).toEqual([
      "memory.available<100Mi",
      "nodefs.available<10%",
      "nodefs.inodesFree<5%",
      "imagefs.available<15%",
    ]);
    expect(policy.thresholds.every((t) => t.gracePeriodMs === 0)).toBe(true);
    expect(policy.pressureTransitionPeriodMs).toBe(300_000);
    expect(policy.intervalMs).toBe(10_000);
  });

  it("parses soft thresholds with grace periods, minimum reclaim, pid counts and the PSI signal", () => {
    const config = defaultEvictionConfig();
    config.soft["memory.available"] = "1.5Gi";
    config.softGracePeriod["memory.available"] = "1m30s";
    config.minimumReclaim["memory.available"] = "0.5Gi";
    config.hard["pid.available"] = "1000";
    config.hard["nodefs.available"] = "";
    config.psiMemoryFullAvg10Percent = 40;
    const policy = parseEvictionConfig(config);
    const soft = policy.thresholds.find((t) => t.signal === "memory.available" && t.gracePeriodMs > 0);
    expect(soft).toEqual({
      signal: "memory.available",
      operator: "LessThan",
      value: { quantity: 1536 * Mi },
      gracePeriodMs: 90_000,
      minReclaim: { quantity: 512 * Mi },
    });
    expect(policy.thresholds.find((t) => t.signal === "pid.available")?.value).toEqual({ quantity: 1000 });
    expect(policy.thresholds.some((t) => t.signal === "nodefs.available")).toBe(false);
    expect(policy.thresholds.find((t) => t.signal === "memory.psiFullAvg10")).toMatchObject({
      operator: "GreaterThan",
      value: { quantity: 40 },
      gracePeriodMs: 0,
    });
  });

  it("refuses what the kubelet refuses, naming the field", () => {
    const soft = defaultEvictionConfig();
    soft.soft["nodefs.available"] = "20%";
    expect(() => parseEvictionConfig(soft)).toThrow(
      /eviction: softGracePeriod: nodefs.available: a soft threshold needs a grace period/,
    );
    const badPercent = defaultEvictionConfig();
    badPercent.hard["imagefs.available"] = "150%";
    expect(() => parseEvictionConfig(badPercent)).toThrow(InvalidArgumentError);
    const badQuantity = defaultEvictionConfig();
    badQuantity.hard["memory.available"] = "100MB";
    expect(() => parseEvictionConfig(badQuantity)).toThrow(/eviction: hard: memory.available/);
    const badDuration = defaultEvictionConfig();
    badDuration.pressureTransitionPeriod = "five minutes";
    expect(() => parseEvictionConfig(badDuration)).toThrow(/pressureTransitionPeriod/);
    const orphanGrace = defaultEvictionConfig();
    orphanGrace.softGracePeriod["pid.available"] = "1m";
    expect(() => parseEvictionConfig(orphanGrace)).toThrow(/no soft threshold/);
  });
});

describe("observations", () => {
  it("computes the kubelet's signals from one reading", () => {
    const observations = computeObservations({
      timeMs: 5,
      memory: { capacityBytes: 1000 * Mi, workingSetBytes: 900 * Mi, source: "root memory cgroup" },
      nodeFs: { capacityBytes: 100, availableBytes: 7, inodes: 50, inodesFree: 2 },
      imageFs: { capacityBytes: 100, availableBytes: 7, inodes: 0, inodesFree: 0 },
      dedicatedImageFs: false,
      pids: { max: 32768, running: 32000 },
      psiMemoryFullAvg10: { percent: 12.5, source: "psi" },
    });
    expect(observations.get("memory.available")).toMatchObject({
      available: 100 * Mi,
      capacity: 1000 * Mi,
      timeMs: 5,
    });
    expect(observations.get("nodefs.available")).toMatchObject({ available: 7, capacity: 100 });
    expect(observations.get("nodefs.inodesFree")).toMatchObject({ available: 2, capacity: 50 });
    // No inode table (btrfs, overlay): no inode signal rather than a false alarm.
    expect(observations.has("imagefs.inodesFree")).toBe(false);
    expect(observations.get("pid.available")).toMatchObject({ available: 768, capacity: 32768 });
    expect(observations.get("memory.psiFullAvg10")).toMatchObject({ available: 12.5, capacity: 100 });
  });

  it("falls back to MemAvailable when no working set could be read, and never goes below zero", () => {
    const a = computeObservations({
      timeMs: 0,
      memory: { capacityBytes: 1000, availableBytes: 300, source: "/proc/meminfo MemAvailable" },
      dedicatedImageFs: false,
    });
    expect(a.get("memory.available")?.available).toBe(300);
    const b = computeObservations({
      timeMs: 0,
      memory: { capacityBytes: 1000, workingSetBytes: 1200, source: "x" },
      dedicatedImageFs: false,
    });
    expect(b.get("memory.available")?.available).toBe(0);
  });
});
