import { describe, expect, it } from "vitest";
import { cpuNanoCores } from "../../../../cri/stats/cpu-rate.js";

describe("cpuNanoCores", () => {
  it("is the CPU time used per second of wall time, in nano cores", () => {
    expect(cpuNanoCores({ usageNanos: 0, timestampMs: 0 }, { usageNanos: 1e9, timestampMs: 1000 })).toBe(1e9);
    expect(cpuNanoCores({ usageNanos: 5e9, timestampMs: 1000 }, { usageNanos: 6e9, timestampMs: 5000 })).toBe(
      250_000_000,
    );
  });

  it("counts several cores as several cores", () => {
    expect(cpuNanoCores({ usageNanos: 0, timestampMs: 0 }, { usageNanos: 30e9, timestampMs: 10_000 })).toBe(
      3e9,
    );
  });

  it("is zero for an idle cgroup", () => {
    expect(cpuNanoCores({ usageNanos: 7, timestampMs: 0 }, { usageNanos: 7, timestampMs: 10_000 })).toBe(0);
  });

  it("is undefined without a previous reading, without elapsed time, or after a counter reset", () => {
    expect(cpuNanoCores(undefined, { usageNanos: 1, timestampMs: 1 })).toBeUndefined();
    expect(
      cpuNanoCores({ usageNanos: 1, timestampMs: 5 }, { usageNanos: 9, timestampMs: 5 }),
    ).toBeUndefined();
    expect(
      cpuNanoCores({ usageNanos: 1, timestampMs: 9 }, { usageNanos: 9, timestampMs: 5 }),
    ).toBeUndefined();
    expect(
      cpuNanoCores({ usageNanos: 9e9, timestampMs: 0 }, { usageNanos: 1e9, timestampMs: 1000 }),
    ).toBeUndefined();
  });
});
