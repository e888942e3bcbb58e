import { describe, expect, it } from "vitest";
import { RetryBackoff } from "../../../../agent/reporter/retry-backoff.js";

describe("retry backoff", () => {
  it("doubles from 1 s to 60 s, each delay between half the step and the step", () => {
    const low = new RetryBackoff({ random: () => 0 });
    const high = new RetryBackoff({ random: () => 0.999999 });
    const lows = Array.from({ length: 9 }, () => low.next());
    const highs = Array.from({ length: 9 }, () => high.next());
    expect(lows).toEqual([500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
    expect(highs).toEqual([1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000]);
  });

  it("starts over after a success", () => {
    const b = new RetryBackoff({ random: () => 0 });
    b.next();
    b.next();
    expect(b.consecutiveFailures).toBe(2);
    b.reset();
    expect(b.next()).toBe(500);
  });

  it("refuses nonsense settings", () => {
    expect(() => new RetryBackoff({ initialMs: 0 })).toThrow(RangeError);
    expect(() => new RetryBackoff({ initialMs: 10, maxMs: 5 })).toThrow(RangeError);
  });
});
