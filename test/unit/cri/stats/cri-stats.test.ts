import { describe, expect, it } from "vitest";
import { availableBytes, msToNs, u64 } from "../../../../cri/stats/cri-stats.js";
import { cgroupStats } from "./fakes.js";

describe("CRI stats conversions", () => {
  it("u64 rounds to a non-negative integer and never throws", () => {
    expect(u64(1.6).value).toBe(2n);
    expect(u64(-5).value).toBe(0n);
    expect(u64(Number.NaN).value).toBe(0n);
    expect(u64(2 ** 60).value).toBe(2n ** 60n);
  });

  it("timestamps go from ms to ns", () => {
    expect(msToNs(1_700_000_000_123)).toBe(1_700_000_000_123_000_000n);
  });

  it("available memory is the limit minus the working set, floored at 0, and unknown without a limit", () => {
    expect(availableBytes(cgroupStats({ workingSet: 300, limit: 1000 }).memory)).toBe(700);
    expect(availableBytes(cgroupStats({ workingSet: 3000, limit: 1000 }).memory)).toBe(0);
    expect(availableBytes(cgroupStats({ workingSet: 300 }).memory)).toBeUndefined();
  });
});
