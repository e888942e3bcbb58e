import { describe, expect, it } from "vitest";
import { FailedPreconditionError, InvalidArgumentError } from "../../../common/errors.js";
import { silentLogger } from "../../../common/logger.js";
import type { ExecFn, ExecResult } from "../../../probes/handlers/exec.js";
import type { HandlerOutcome, ProbeResult } from "../../../probes/outcome.js";
import type { ProbeTarget } from "../../../probes/run-handler.js";
import {
  ProbeScheduler,
  type ProbeSchedulerOptions,
  type ProbeUpdate,
  type SchedulerTimers,
} from "../../../probes/scheduler.js";
import type { Probe, ProbeInput, ProbeKind } from "../../../probes/spec.js";

const START = 1_000_000;

/** Lets every settled promise chain run before the test goes on. */
const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A clock and timers that only move when the test says so. */
class FakeTime {
  now = START;
  private nextId = 1;
  private readonly pending = new Map<number, { id: number; at: number; fn: () => void }>();
  readonly clock = { now: (): number => this.now };
  readonly timers: SchedulerTimers = {
    setTimeout: (fn, ms) => {
      const id = this.nextId++;
      this.pending.set(id, { id, at: this.now + ms, fn });
      return id;
    },
    clearTimeout: (handle) => {
      this.pending.delete(handle as number);
    },
  };

  get timerCount(): number {
    return this.pending.size;
  }

  /** Moves time forward, firing due timers in deadline order at their own instants. */
  async advance(ms: number): Promise<void> {
    // Whatever the test just settled completes now, before time moves on.
    await flush();
    const end = this.now + ms;
    for (;;) {
      let first: { id: number; at: number; fn: () => void } | undefined;
      for (const timer of this.pending.values()) {
        if (timer.at <= end && (!first || timer.at < first.at)) first = timer;
      }
      if (!first) break;
      this.pending.delete(first.id);
      this.now = Math.max(this.now, first.at);
      first.fn();
      await flush();
    }
    this.now = end;
    await flush();
  }
}

interface Call {
  containerId: string;
  port: number;
  kind: string;
  at: number;
  finish(outcome: HandlerOutcome): void;
}

/**
 * A handler whose runs the test watches. Each run ends at once with what `auto` returns
 * (success unless a test says otherwise); undefined leaves the run for the test to finish.
 */
class FakeHandler {
  readonly calls: Call[] = [];
  auto: (call: Omit<Call, "finish">) => HandlerOutcome | undefined = () => ({
    result: "success",
    output: "",
  });

  constructor(private readonly time: FakeTime) {}

  readonly run = (probe: Probe, target: ProbeTarget): Promise<HandlerOutcome> =>
    new Promise((resolve) => {
      const port = "tcpSocket" in probe ? probe.tcpSocket.port : 0;
      const call = {
        containerId: target.containerId,
        port,
        kind: kindOfPort(port),
        at: this.time.now - START,
      };
      this.calls.push({ ...call, finish: resolve });
      const outcome = this.auto(call);
      if (outcome) resolve(outcome);
    });

  times(containerId: string, port?: number): number[] {
    return this.calls
      .filter((c) => c.containerId === containerId && (port === undefined || c.port === port))
      .map((c) => c.at);
  }
}

// Tests tell probe kinds apart in the fake handler by port.
const PORTS: Record<ProbeKind, number> = { liveness: 1001, readiness: 1002, startup: 1003 };
const kindOfPort = (port: number): string =>
  Object.entries(PORTS).find(([, p]) => p === port)?.[0] ?? "other";

const tcp = (kind: ProbeKind, overrides: Partial<ProbeInput> = {}): ProbeInput => ({
  tcpSocket: { port: PORTS[kind] },
  ...overrides,
});

function setup(options: Partial<ProbeSchedulerOptions> = {}): {
  time: FakeTime;
  handler: FakeHandler;
  scheduler: ProbeScheduler;
  updates: { key: string; update: ProbeUpdate }[];
  onResult: (key: string, update: ProbeUpdate) => void;
} {
  const time = new FakeTime();
  const handler = new FakeHandler(time);
  const scheduler = new ProbeScheduler({
    execFn: () => Promise.reject(new Error("no exec in this test")),
    logger: silentLogger(),
    clock: time.clock,
    timers: time.timers,
    random: () => 0,
    runHandler: handler.run,
    ...options,
  });
  const updates: { key: string; update: ProbeUpdate }[] = [];
  return { time, handler, scheduler, updates, onResult: (key, update) => updates.push({ key, update }) };
}

function sequence(...values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length] as number;
}

describe("ProbeScheduler timing", () => {
  it("offsets first runs by a jitter within the period, then keeps the period", async () => {
    const { time, handler, scheduler, onResult } = setup({ random: sequence(0, 0.25, 0.999) });
    for (const id of ["a", "b", "c"])
      scheduler.add(id, tcp("liveness"), "liveness", { containerId: id }, onResult);
    await time.advance(25_000);
    expect(handler.times("a")).toEqual([0, 10_000, 20_000]);
    expect(handler.times("b")).toEqual([2_500, 12_500, 22_500]);
    expect(handler.times("c")).toEqual([9_990, 19_990]);
  });

  it("spreads many first runs over the period and never past it", async () => {
    let seed = 12345;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const { time, handler, scheduler, onResult } = setup({ random });
    for (let i = 0; i < 100; i++) {
      scheduler.add(
        `p${i}`,
        tcp("liveness", { periodSeconds: 5 }),
        "liveness",
        { containerId: `c${i}` },
        onResult,
      );
    }
    await time.advance(4_999);
    expect(handler.calls).toHaveLength(100);
    const firsts = handler.calls.map((c) => c.at);
    expect(Math.max(...firsts)).toBeLessThan(5_000);
    // Spread, not bunched: the runs fall in more than half of the ten half-second slots.
    expect(new Set(firsts.map((at) => Math.floor(at / 500))).size).toBeGreaterThan(5);
    await time.advance(5_000);
    for (let i = 0; i < 100; i++) {
      const [first, second] = handler.times(`c${i}`);
      expect(second).toBe((first as number) + 5_000);
    }
  });

  it("runs the first probe of a container added later at once, unless told to always jitter", async () => {
    const { time, handler, scheduler, onResult } = setup({ random: () => 0.5 });
    await time.advance(20_000);
    scheduler.add("late", tcp("liveness"), "liveness", { containerId: "late" }, onResult);
    await time.advance(0);
    expect(handler.times("late")).toEqual([20_000]);

    const jittered = setup({ random: () => 0.5, alwaysJitter: true });
    await jittered.time.advance(20_000);
    jittered.scheduler.add("late", tcp("liveness"), "liveness", { containerId: "late" }, jittered.onResult);
    await jittered.time.advance(10_000);
    expect(jittered.handler.times("late")).toEqual([25_000]);
  });

  it("waits for the initial delay, counted from when the container started", async () => {
    const { time, handler, scheduler, onResult } = setup({ random: () => 0.5 });
    const target = { containerId: "c", startedAt: START - 5_000 };
    scheduler.add("c", tcp("readiness", { initialDelaySeconds: 30 }), "readiness", target, onResult);
    await time.advance(24_999);
    expect(handler.calls).toHaveLength(0);
    await time.advance(11_000);
    expect(handler.times("c")).toEqual([25_000, 35_000]);
  });

  it("runs due probes in deadline order, and equal deadlines in the order they were added", async () => {
    const { time, handler, scheduler, onResult } = setup({ random: sequence(0.9, 0.1, 0.5, 0, 0, 0) });
    for (const id of ["a", "b", "c", "d", "e", "f"])
      scheduler.add(id, tcp("liveness"), "liveness", { containerId: id }, onResult);
    await time.advance(9_999);
    expect(handler.calls.map((c) => c.containerId)).toEqual(["d", "e", "f", "b", "c", "a"]);
  });

  it("keeps a single timer however many probes there are", async () => {
    const { time, scheduler, onResult } = setup({ random: Math.random });
    for (let i = 0; i < 200; i++)
      scheduler.add(`p${i}`, tcp("liveness"), "liveness", { containerId: `c${i}` }, onResult);
    expect(time.timerCount).toBe(1);
    scheduler.close();
    expect(time.timerCount).toBe(0);
  });
});

describe("ProbeScheduler runs", () => {
  it("never overlaps a probe with itself: runs due while it is busy are skipped and counted", async () => {
    const skippedKinds: ProbeKind[] = [];
    const probes: ProbeResult[] = [];
    const { time, handler, scheduler, onResult } = setup({
      onOverlapSkipped: (kind) => skippedKinds.push(kind),
      onProbe: (_kind, result) => probes.push(result),
      handlerGraceMs: 60_000,
    });
    handler.auto = () => undefined;
    scheduler.add(
      "slow",
      tcp("liveness", { periodSeconds: 1, timeoutSeconds: 5 }),
      "liveness",
      { containerId: "s" },
      onResult,
    );
    await time.advance(3_500);
    expect(handler.calls).toHaveLength(1);
    expect(scheduler.overlapSkips).toBe(3);
    expect(skippedKinds).toEqual(["liveness", "liveness", "liveness"]);
    expect(probes).toEqual([]);

    handler.calls[0]?.finish({ result: "success", output: "" });
    await time.advance(500);
    expect(probes).toEqual(["success"]);
    expect(handler.times("s")).toEqual([0, 4_000]);
  });

  it("does not let a slow probe hold back the others", async () => {
    const { time, handler, scheduler, onResult } = setup({ handlerGraceMs: 600_000 });
    scheduler.add(
      "slow",
      tcp("liveness", { timeoutSeconds: 300 }),
      "liveness",
      { containerId: "slow" },
      onResult,
    );
    scheduler.add("fast", tcp("liveness"), "liveness", { containerId: "fast" }, onResult);
    handler.auto = (call) => {
      return call.containerId === "slow" ? undefined : { result: "success", output: "" };
    };
    await time.advance(30_000);
    expect(handler.times("slow")).toEqual([0]);
    expect(handler.times("fast")).toEqual([0, 10_000, 20_000, 30_000]);
  });

  it("bounds concurrent exec probes (50 probes, limit 4) and queues the rest", async () => {
    const pending: { containerId: string; resolve: (r: ExecResult) => void }[] = [];
    let active = 0;
    let maxActive = 0;
    const ran = new Set<string>();
    const execFn: ExecFn = (containerId) =>
      new Promise<ExecResult>((resolve) => {
        active++;
        maxActive = Math.max(maxActive, active);
        ran.add(containerId);
        pending.push({
          containerId,
          resolve: (r) => {
            active--;
            resolve(r);
          },
        });
      });
    const time = new FakeTime();
    const results: string[] = [];
    const scheduler = new ProbeScheduler({
      execFn,
      execConcurrency: 4,
      logger: silentLogger(),
      clock: time.clock,
      timers: time.timers,
      random: () => 0,
    });
    for (let i = 0; i < 50; i++) {
      scheduler.add(
        `p${i}`,
        { exec: { command: ["check"] } },
        "liveness",
        { containerId: `c${i}` },
        (key, u) => results.push(`${key}:${u.outcome}`),
      );
    }
    await time.advance(0);
    expect(active).toBe(4);
    expect(pending.map((p) => p.containerId)).toEqual(["c0", "c1", "c2", "c3"]);

    while (pending.length > 0) {
      pending.shift()?.resolve({ exitCode: 0, stdout: "", stderr: "" });
      await flush();
      expect(active).toBeLessThanOrEqual(4);
    }
    expect(maxActive).toBe(4);
    expect(ran.size).toBe(50);
    expect(results).toHaveLength(50);
    expect(results[49]).toBe("p49:success");
  });

  it("does not bound network probes by the exec limit, and a stuck exec does not block them", async () => {
    const { time, handler, scheduler, onResult } = setup({ execConcurrency: 1, handlerGraceMs: 600_000 });
    // Exec runs (port 0 in the fake handler) hang; network runs pass at once.
    handler.auto = (call) => (call.port === 0 ? undefined : { result: "success", output: "" });
    const stuckExec = { exec: { command: ["hang"] }, timeoutSeconds: 300 };
    scheduler.add("e1", stuckExec, "liveness", { containerId: "e1" }, onResult);
    scheduler.add("e2", stuckExec, "liveness", { containerId: "e2" }, onResult);
    for (let i = 0; i < 20; i++) {
      scheduler.add(`t${i}`, tcp("readiness"), "readiness", { containerId: `c${i}` }, onResult);
    }
    await time.advance(0);
    expect(handler.calls.filter((c) => c.port === 0).map((c) => c.containerId)).toEqual(["e1"]);
    expect(handler.calls.filter((c) => c.port !== 0)).toHaveLength(20);
    await time.advance(10_000);
    expect(handler.calls.filter((c) => c.port !== 0)).toHaveLength(40);
    expect(handler.calls.filter((c) => c.port === 0)).toHaveLength(1);
  });

  it("gives up on a handler that outlives its timeout plus the grace, as a failure, and frees the exec slot", async () => {
    const calls: string[] = [];
    const time = new FakeTime();
    const updates: ProbeUpdate[] = [];
    const scheduler = new ProbeScheduler({
      execFn: (containerId) => {
        calls.push(containerId);
        return new Promise<never>(() => undefined);
      },
      execConcurrency: 1,
      handlerGraceMs: 2_000,
      logger: silentLogger(),
      clock: time.clock,
      timers: time.timers,
      random: () => 0,
    });
    const exec = { exec: { command: ["hang"] }, timeoutSeconds: 1, periodSeconds: 60 };
    scheduler.add("a", exec, "liveness", { containerId: "a" }, (_k, u) => updates.push(u));
    scheduler.add("b", exec, "liveness", { containerId: "b" }, () => undefined);
    await time.advance(2_999);
    expect(calls).toEqual(["a"]);
    await time.advance(1);
    expect(updates).toHaveLength(1);
    expect(updates[0]).toMatchObject({
      outcome: "failure",
      output: expect.stringContaining("did not finish within 3000ms"),
    });
    expect(calls).toEqual(["a", "b"]);
  });
});

describe("ProbeScheduler results", () => {
  it("reports every run and changes the result only when a threshold is crossed; liveness then holds", async () => {
    const counted: string[] = [];
    const { time, handler, scheduler, updates, onResult } = setup({
      onProbe: (k, r) => counted.push(`${k}:${r}`),
    });
    handler.auto = () => ({ result: "failure", output: "connection refused" });
    scheduler.add(
      "live",
      tcp("liveness", { failureThreshold: 3 }),
      "liveness",
      { containerId: "c1" },
      onResult,
    );
    await time.advance(60_000);
    expect(handler.times("c1")).toEqual([0, 10_000, 20_000]);
    expect(updates.map((u) => [u.update.result, u.update.previous, u.update.changed])).toEqual([
      ["success", "success", false],
      ["success", "success", false],
      ["failure", "success", true],
    ]);
    expect(updates[2]?.update).toMatchObject({
      kind: "liveness",
      outcome: "failure",
      output: "connection refused",
    });
    expect(counted).toEqual(["liveness:failure", "liveness:failure", "liveness:failure"]);
    expect(scheduler.result("live")).toBe("failure");

    // The agent restarts the container: the same key with the new container starts afresh.
    handler.auto = () => ({ result: "success", output: "" });
    scheduler.add(
      "live",
      tcp("liveness", { failureThreshold: 3 }),
      "liveness",
      { containerId: "c2" },
      onResult,
    );
    expect(scheduler.result("live")).toBe("success");
    await time.advance(0);
    expect(handler.times("c2")).toEqual([60_000]);
    expect(updates.at(-1)?.update).toMatchObject({ result: "success", previous: "success", changed: false });
  });

  it("starts readiness as not ready and flips it on the first success", async () => {
    const { time, handler, scheduler, updates, onResult } = setup();
    handler.auto = () => ({ result: "success", output: "ok" });
    scheduler.add("ready", tcp("readiness"), "readiness", { containerId: "c" }, onResult);
    expect(scheduler.result("ready")).toBe("failure");
    await time.advance(0);
    expect(updates[0]?.update).toMatchObject({ result: "success", previous: "failure", changed: true });
  });

  it("gates liveness and readiness on the startup probe, then runs readiness at once", async () => {
    const { time, handler, scheduler, updates, onResult } = setup();
    let startupRuns = 0;
    handler.auto = (call) => {
      if (call.kind === "startup") return { result: ++startupRuns >= 3 ? "success" : "failure", output: "" };
      return { result: "success", output: "" };
    };
    for (const kind of ["liveness", "readiness", "startup"] as const) {
      scheduler.add(`c/${kind}`, tcp(kind, { failureThreshold: 10 }), kind, { containerId: "c" }, onResult);
    }
    expect(scheduler.containerStarted("c")).toBe(false);
    await time.advance(19_999);
    expect(handler.calls.map((c) => c.kind)).toEqual(["startup", "startup"]);

    await time.advance(1);
    expect(scheduler.containerStarted("c")).toBe(true);
    expect(handler.calls.map((c) => `${c.kind}@${c.at}`)).toEqual([
      "startup@0",
      "startup@10000",
      "startup@20000",
      "readiness@20000",
    ]);
    const startupUpdate = updates.find((u) => u.key === "c/startup" && u.update.changed)?.update;
    expect(startupUpdate).toMatchObject({ result: "success", previous: "unknown" });

    await time.advance(20_000);
    // Startup never runs again; liveness runs from its next tick.
    expect(handler.times("c", PORTS.startup)).toEqual([0, 10_000, 20_000]);
    expect(handler.times("c", PORTS.liveness)).toEqual([30_000, 40_000]);
    expect(handler.times("c", PORTS.readiness)).toEqual([20_000, 30_000, 40_000]);
  });

  it("counts unknown outcomes for metrics but not towards thresholds", async () => {
    const counted: string[] = [];
    const { time, handler, scheduler, updates, onResult } = setup({
      onProbe: (k, r) => counted.push(`${k}:${r}`),
    });
    handler.auto = () => ({ result: "unknown", output: "container is gone" });
    scheduler.add(
      "r",
      tcp("readiness", { failureThreshold: 1 }),
      "readiness",
      { containerId: "c" },
      onResult,
    );
    scheduler.add("l", tcp("liveness", { failureThreshold: 1 }), "liveness", { containerId: "c" }, onResult);
    await time.advance(20_000);
    expect(counted).toHaveLength(6);
    expect(counted).toContain("readiness:unknown");
    expect(updates.every((u) => !u.update.changed && u.update.outcome === "unknown")).toBe(true);
    expect(scheduler.result("l")).toBe("success");
  });

  it("passes warnings through", async () => {
    const { time, handler, scheduler, updates, onResult } = setup();
    handler.auto = () => ({ result: "success", output: "Probe terminated redirects", warning: true });
    scheduler.add("r", tcp("readiness"), "readiness", { containerId: "c" }, onResult);
    await time.advance(0);
    expect(updates[0]?.update.warning).toBe(true);
  });

  it("keeps probing when a callback throws", async () => {
    const { time, handler, scheduler } = setup();
    handler.auto = () => ({ result: "success", output: "" });
    scheduler.add("r", tcp("readiness"), "readiness", { containerId: "c" }, () => {
      throw new Error("callback bug");
    });
    await time.advance(20_000);
    expect(handler.times("c")).toEqual([0, 10_000, 20_000]);
  });
});

describe("ProbeScheduler removal", () => {
  it("removes one probe, all of a container's probes, and drops results of runs in flight", async () => {
    const { time, handler, scheduler, updates, onResult } = setup();
    handler.auto = () => undefined;
    scheduler.add("a/live", tcp("liveness"), "liveness", { containerId: "a" }, onResult);
    scheduler.add("a/ready", tcp("readiness"), "readiness", { containerId: "a" }, onResult);
    scheduler.add("b/live", tcp("liveness"), "liveness", { containerId: "b" }, onResult);
    await time.advance(0);
    expect(handler.calls).toHaveLength(3);

    scheduler.remove("b/live");
    scheduler.removeContainer("a");
    expect(scheduler.size).toBe(0);
    expect(scheduler.result("a/live")).toBeUndefined();
    for (const call of handler.calls) call.finish({ result: "failure", output: "" });
    await time.advance(30_000);
    expect(handler.calls).toHaveLength(3);
    expect(updates).toEqual([]);
    expect(time.timerCount).toBe(0);
    scheduler.remove("never-added");
  });

  it("drops an exec probe removed while it waited for a slot", async () => {
    const execs: { id: string; done: (r: ExecResult) => void }[] = [];
    const time = new FakeTime();
    const scheduler = new ProbeScheduler({
      execFn: (id) => new Promise((done) => execs.push({ id, done })),
      execConcurrency: 1,
      logger: silentLogger(),
      clock: time.clock,
      timers: time.timers,
      random: () => 0,
    });
    scheduler.add("a", { exec: { command: ["x"] } }, "readiness", { containerId: "a" }, () => undefined);
    scheduler.add("b", { exec: { command: ["x"] } }, "readiness", { containerId: "b" }, () => undefined);
    scheduler.add("c", { exec: { command: ["x"] } }, "readiness", { containerId: "c" }, () => undefined);
    await time.advance(0);
    scheduler.remove("b");
    execs[0]?.done({ exitCode: 0, stdout: "", stderr: "" });
    await flush();
    expect(execs.map((e) => e.id)).toEqual(["a", "c"]);
  });

  it("refuses new probes after close, and invalid specs always", () => {
    const { scheduler, onResult } = setup();
    expect(() =>
      scheduler.add("x", tcp("liveness", { periodSeconds: -1 }), "liveness", { containerId: "c" }, onResult),
    ).toThrow(InvalidArgumentError);
    expect(() =>
      scheduler.add(
        "x",
        tcp("liveness", { successThreshold: 2 }),
        "liveness",
        { containerId: "c" },
        onResult,
      ),
    ).toThrow("probe.successThreshold");
    scheduler.close();
    expect(() => scheduler.add("x", tcp("liveness"), "liveness", { containerId: "c" }, onResult)).toThrow(
      FailedPreconditionError,
    );
  });
});
