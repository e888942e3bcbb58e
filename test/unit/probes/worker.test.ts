import { describe, expect, it } from "vitest";
import type { ProbeResult } from "../../../probes/outcome.js";
import type { ProbeKind, ProbeTiming } from "../../../probes/spec.js";
import {
  decideRun,
  initialWorkerState,
  isContainerStarted,
  recordOutcome,
  type WorkerState,
} from "../../../probes/worker.js";

const timing = (overrides: Partial<ProbeTiming> = {}): ProbeTiming => ({
  initialDelaySeconds: 0,
  timeoutSeconds: 1,
  periodSeconds: 10,
  successThreshold: 1,
  failureThreshold: 3,
  ...overrides,
});

/** Feeds outcomes in order; returns the published result after each and whether it changed. */
function feed(
  kind: ProbeKind,
  t: ProbeTiming,
  outcomes: ProbeResult[],
): { state: WorkerState; trail: string[] } {
  let state = initialWorkerState(kind);
  const trail: string[] = [];
  for (const outcome of outcomes) {
    const next = recordOutcome(state, t, outcome);
    state = next.state;
    trail.push(`${state.result}${next.changed ? "!" : ""}`);
  }
  return { state, trail };
}

describe("initial state", () => {
  it("starts readiness not ready, liveness alive and startup not started", () => {
    expect(initialWorkerState("readiness").result).toBe("failure");
    expect(initialWorkerState("liveness").result).toBe("success");
    expect(initialWorkerState("startup").result).toBe("unknown");
  });
});

describe("recordOutcome", () => {
  it("readiness becomes ready on its first success and stays unready through failures before", () => {
    const { trail } = feed("readiness", timing(), ["failure", "failure", "failure", "failure", "success"]);
    expect(trail).toEqual(["failure", "failure", "failure", "failure", "success!"]);
  });

  it("readiness needs successThreshold successes in a row", () => {
    const { trail } = feed("readiness", timing({ successThreshold: 3 }), [
      "success",
      "success",
      "failure",
      "success",
      "success",
      "success",
    ]);
    expect(trail).toEqual(["failure", "failure", "failure", "failure", "failure", "success!"]);
  });

  it("flips to failure only after failureThreshold failures in a row", () => {
    const { trail } = feed("readiness", timing({ failureThreshold: 3 }), [
      "success",
      "failure",
      "failure",
      "success",
      "failure",
      "failure",
      "failure",
      "failure",
    ]);
    expect(trail).toEqual([
      "success!",
      "success",
      "success",
      "success",
      "success",
      "success",
      "failure!",
      // Readiness keeps counting: a fourth failure is no new change.
      "failure",
    ]);
  });

  it("readiness recovers after a failure streak and is never put on hold", () => {
    const { state, trail } = feed("readiness", timing({ failureThreshold: 1 }), [
      "success",
      "failure",
      "success",
    ]);
    expect(trail).toEqual(["success!", "failure!", "success!"]);
    expect(state.onHold).toBe(false);
  });

  it("ignores unknown outcomes: they neither count nor break a streak", () => {
    const { trail } = feed("liveness", timing({ failureThreshold: 2 }), ["failure", "unknown", "failure"]);
    expect(trail).toEqual(["success", "success", "failure!"]);
  });

  it("puts liveness on hold once it fails, and counts from zero", () => {
    const { state, trail } = feed("liveness", timing({ failureThreshold: 2 }), ["failure", "failure"]);
    expect(trail).toEqual(["success", "failure!"]);
    expect(state).toMatchObject({ result: "failure", onHold: true, streak: 0 });
  });

  it("moves startup from unknown to success on the first pass, and to failure after the threshold", () => {
    expect(feed("startup", timing(), ["failure", "success"]).trail).toEqual(["unknown", "success!"]);
    const failed = feed("startup", timing({ failureThreshold: 2 }), ["failure", "failure"]);
    expect(failed.trail).toEqual(["unknown", "failure!"]);
    expect(failed.state.onHold).toBe(true);
  });

  it("does not mutate the state it is given", () => {
    const before = initialWorkerState("liveness");
    const copy = { ...before };
    recordOutcome(before, timing({ failureThreshold: 1 }), "failure");
    expect(before).toEqual(copy);
  });

  it("a restarted container starts from the initial state again", () => {
    const { state } = feed("liveness", timing({ failureThreshold: 1 }), ["failure"]);
    expect(decideRun(state, timing(), { now: 0, startedAt: 0, containerStarted: true })).toEqual({
      run: false,
      reason: "on-hold",
    });
    const fresh = initialWorkerState("liveness");
    expect(decideRun(fresh, timing(), { now: 0, startedAt: 0, containerStarted: true })).toEqual({
      run: true,
    });
    expect(fresh.result).toBe("success");
  });
});

describe("decideRun", () => {
  const ctx = { now: 100_000, startedAt: 100_000, containerStarted: true };

  it("waits for the initial delay, counted from container start", () => {
    const t = timing({ initialDelaySeconds: 5 });
    const state = initialWorkerState("readiness");
    expect(decideRun(state, t, { ...ctx, now: ctx.startedAt + 4_999 })).toEqual({
      run: false,
      reason: "initial-delay",
    });
    expect(decideRun(state, t, { ...ctx, now: ctx.startedAt + 5_000 })).toEqual({ run: true });
  });

  it("holds liveness and readiness until the container has started, but not startup", () => {
    const notStarted = { ...ctx, containerStarted: false };
    expect(decideRun(initialWorkerState("liveness"), timing(), notStarted)).toEqual({
      run: false,
      reason: "awaiting-startup",
    });
    expect(decideRun(initialWorkerState("readiness"), timing(), notStarted)).toEqual({
      run: false,
      reason: "awaiting-startup",
    });
    expect(decideRun(initialWorkerState("startup"), timing(), notStarted)).toEqual({ run: true });
  });

  it("stops a startup probe once it has passed", () => {
    const passed = recordOutcome(initialWorkerState("startup"), timing(), "success").state;
    expect(decideRun(passed, timing(), ctx)).toEqual({ run: false, reason: "startup-done" });
  });

  it("considers a container started when its startup probe passed or it has none", () => {
    expect(isContainerStarted(undefined)).toBe(true);
    expect(isContainerStarted(initialWorkerState("startup"))).toBe(false);
    expect(isContainerStarted(recordOutcome(initialWorkerState("startup"), timing(), "success").state)).toBe(
      true,
    );
    const failed = recordOutcome(
      initialWorkerState("startup"),
      timing({ failureThreshold: 1 }),
      "failure",
    ).state;
    expect(isContainerStarted(failed)).toBe(false);
  });
});
