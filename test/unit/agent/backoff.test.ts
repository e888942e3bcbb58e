import { describe, expect, it } from "vitest";
import type { Clock } from "../../../common/clock.js";
import { CrashLoopBackOff } from "../../../agent/backoff.js";

class FakeClock implements Clock {
  constructor(public ms = 1_000_000) {}
  now(): number {
    return this.ms;
  }
  nowNanos(): bigint {
    return BigInt(this.ms) * 1_000_000n;
  }
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;

/** Fails `key` as soon as each delay has passed (the container crashes right after starting). */
function crashLoop(backoff: CrashLoopBackOff, clock: FakeClock, key: string, times: number): number[] {
  const delays: number[] = [];
  for (let i = 0; i < times; i++) {
    const delay = backoff.next(key);
    delays.push(delay / SECOND);
    clock.ms += delay;
  }
  return delays;
}

describe("CrashLoopBackOff", () => {
  it("doubles from 10 s up to 300 s", () => {
    const clock = new FakeClock();
    const backoff = new CrashLoopBackOff(clock);
    expect(crashLoop(backoff, clock, "pod/app", 8)).toEqual([10, 20, 40, 80, 160, 300, 300, 300]);
  });

  it("holds a container in back-off until its delay has passed", () => {
    const clock = new FakeClock();
    const backoff = new CrashLoopBackOff(clock);
    expect(backoff.isInBackOff("pod/app")).toBe(false);
    backoff.next("pod/app");
    expect(backoff.isInBackOff("pod/app")).toBe(true);
    expect(backoff.remainingMs("pod/app")).toBe(10 * SECOND);
    clock.ms += 10 * SECOND - 1;
    expect(backoff.isInBackOff("pod/app")).toBe(true);
    expect(backoff.remainingMs("pod/app")).toBe(1);
    clock.ms += 1;
    expect(backoff.isInBackOff("pod/app")).toBe(false);
    expect(backoff.remainingMs("pod/app")).toBe(0);
  });

  it("takes an explicit time instead of the clock", () => {
    const backoff = new CrashLoopBackOff(new FakeClock(0));
    backoff.next("k", 50_000);
    expect(backoff.isInBackOff("k", 59_999)).toBe(true);
    expect(backoff.isInBackOff("k", 60_000)).toBe(false);
  });

  it("starts over once the container ran for more than 10 minutes", () => {
    const clock = new FakeClock();
    const backoff = new CrashLoopBackOff(clock);
    crashLoop(backoff, clock, "pod/app", 4); // 10, 20, 40, 80: now restarted after 80 s
    clock.ms += 10 * MINUTE; // ran exactly 10 minutes: not long enough
    expect(backoff.next("pod/app")).toBe(160 * SECOND);
    clock.ms += 160 * SECOND + 10 * MINUTE + 1; // ran 10 minutes and 1 ms
    expect(backoff.next("pod/app")).toBe(10 * SECOND);
    clock.ms += 10 * SECOND;
    expect(backoff.next("pod/app")).toBe(20 * SECOND);
  });

  it("keeps keys apart", () => {
    const clock = new FakeClock();
    const backoff = new CrashLoopBackOff(clock);
    crashLoop(backoff, clock, "a", 3);
    expect(backoff.next("b")).toBe(10 * SECOND);
    expect(backoff.currentDelayMs("a")).toBe(40 * SECOND);
  });

  it("reset and forget make the next failure a first one", () => {
    const clock = new FakeClock();
    const backoff = new CrashLoopBackOff(clock);
    crashLoop(backoff, clock, "a", 3);
    crashLoop(backoff, clock, "b", 3);
    backoff.reset("a");
    backoff.forget("b");
    expect(backoff.isInBackOff("a")).toBe(false);
    expect(backoff.currentDelayMs("b")).toBe(0);
    expect(backoff.next("a")).toBe(10 * SECOND);
    expect(backoff.next("b")).toBe(10 * SECOND);
  });

  it("garbage-collects entries idle for more than twice the maximum delay", () => {
    const clock = new FakeClock();
    const backoff = new CrashLoopBackOff(clock);
    backoff.next("old");
    clock.ms += 5 * MINUTE;
    backoff.next("recent");
    clock.ms += 10 * SECOND + 5 * MINUTE + 1; // "old" restarted 10 min + 1 ms ago, "recent" 5 min + 1 ms ago
    backoff.collectGarbage();
    expect(backoff.size).toBe(1);
    expect(backoff.currentDelayMs("old")).toBe(0);
    expect(backoff.currentDelayMs("recent")).toBe(10 * SECOND);
  });

  it("collects on its own as time passes", () => {
    const clock = new FakeClock();
    const backoff = new CrashLoopBackOff(clock);
    for (let i = 0; i < 100; i++) backoff.next(`pod-${i}/app`);
    clock.ms += 11 * MINUTE;
    backoff.next("new");
    expect(backoff.size).toBe(1);
  });

  it("accepts other delays and refuses nonsensical ones", () => {
    const clock = new FakeClock();
    const backoff = new CrashLoopBackOff(clock, { initialDelayMs: 1000, maxDelayMs: 5000 });
    expect(crashLoop(backoff, clock, "k", 5)).toEqual([1, 2, 4, 5, 5]);
    expect(() => new CrashLoopBackOff(clock, { initialDelayMs: 0 })).toThrow(RangeError);
    expect(() => new CrashLoopBackOff(clock, { initialDelayMs: 10, maxDelayMs: 5 })).toThrow(RangeError);
  });
});
