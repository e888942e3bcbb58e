import { describe, expect, it } from "vitest";
import { ResourceExhaustedError } from "../../../../common/errors.js";
import type { Clock } from "../../../../common/clock.js";
import { RequestCache } from "../../../../cri/streaming/request-cache.js";

function fakeClock(start = 1_000_000): Clock & { advance(ms: number): void } {
  let now = start;
  return { now: () => now, nowNanos: () => BigInt(now) * 1_000_000n, advance: (ms) => void (now += ms) };
}

describe("RequestCache", () => {
  it("hands out random URL-safe tokens that work once", () => {
    const cache = new RequestCache<string>(fakeClock());
    const a = cache.insert("a");
    const b = cache.insert("b");
    expect(a).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(a).not.toBe(b);
    expect(cache.has(a)).toBe(true);
    expect(cache.consume(a)).toBe("a");
    expect(cache.consume(a)).toBeUndefined();
    expect(cache.has(a)).toBe(false);
    expect(cache.consume("unknown")).toBeUndefined();
    expect(cache.consume(b)).toBe("b");
  });

  it("expires tokens after the TTL (a minute by default)", () => {
    const clock = fakeClock();
    const cache = new RequestCache<string>(clock);
    const token = cache.insert("x");
    clock.advance(59_999);
    expect(cache.has(token)).toBe(true);
    clock.advance(1);
    expect(cache.has(token)).toBe(false);
    expect(cache.consume(token)).toBeUndefined();
  });

  it("bounds the requests in flight, counting expired ones out", () => {
    const clock = fakeClock();
    const cache = new RequestCache<number>(clock, 1000, 2);
    cache.insert(1);
    cache.insert(2);
    expect(() => cache.insert(3)).toThrow(ResourceExhaustedError);
    clock.advance(1000);
    expect(() => cache.insert(4)).not.toThrow();
    expect(cache.size).toBe(1);
  });
});
