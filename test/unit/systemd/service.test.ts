import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import { silentLogger } from "../../../common/logger.js";
import { SystemdNotifier, type IntervalScheduler } from "../../../systemd/notify.js";
import { ServiceLifecycle } from "../../../systemd/service.js";

function harness(options: { reload?: () => Promise<string>; describe?: () => Promise<string> } = {}) {
  const sent: string[][] = [];
  const intervals: Array<{ fn: () => void; ms: number; stopped: boolean }> = [];
  const scheduler: IntervalScheduler = (fn, ms) => {
    const entry = { fn, ms, stopped: false };
    intervals.push(entry);
    return { stop: () => void (entry.stopped = true) };
  };
  const notifier = new SystemdNotifier({
    environment: { socket: "/run/systemd/notify", watchdogUsec: 10_000_000 },
    logger: silentLogger(),
    pid: 10,
    send: async (args) => void sent.push(args.slice(1)),
    setInterval: scheduler,
    monotonicUsec: () => 1n,
  });
  const signals = new EventEmitter();
  let pods = 0;
  const lifecycle = new ServiceLifecycle({
    notifier,
    logger: silentLogger(),
    signals,
    setInterval: scheduler,
    statusIntervalMs: 1000,
  });
  lifecycle.listen();
  const agent = {
    describe: options.describe ?? (async () => `serving ${pods} pods`),
    reload: options.reload ?? (async () => "config reloaded: nothing changed"),
  };
  return { sent, intervals, signals, lifecycle, agent, notifier, setPods: (n: number) => void (pods = n) };
}

describe("ServiceLifecycle", () => {
  it("announces READY=1 with a status, then pings the watchdog and refreshes the status when it changes", async () => {
    const h = harness();
    await h.lifecycle.started(h.agent);
    expect(h.sent[0]).toEqual(["READY=1", "STATUS=serving 0 pods"]);
    const watchdog = h.intervals.find((i) => i.ms === 5000);
    const status = h.intervals.find((i) => i.ms === 1000);
    expect(watchdog).toBeDefined();
    expect(status).toBeDefined();
    status!.fn(); // unchanged: nothing sent
    h.setPods(3);
    status!.fn();
    await new Promise((r) => setTimeout(r, 0));
    await h.notifier.flush();
    expect(h.sent.filter((m) => m[0]!.startsWith("STATUS="))).toEqual([["STATUS=serving 3 pods"]]);
  });

  it("reloads on SIGHUP between RELOADING=1 and READY=1, reporting what changed", async () => {
    let reloads = 0;
    const h = harness({ reload: async () => `config reloaded: applied logLevel (#${++reloads})` });
    await h.lifecycle.started(h.agent);
    h.sent.length = 0;
    h.signals.emit("SIGHUP");
    await h.lifecycle.reloadNow();
    await h.notifier.flush();
    expect(reloads).toBe(2);
    const kinds = h.sent.filter((m) => m[0] !== "WATCHDOG=1").map((m) => m[0]);
    expect(kinds).toEqual(["RELOADING=1", "READY=1", "RELOADING=1", "READY=1"]);
    expect(h.sent.at(-1)).toEqual([
      "READY=1",
      "STATUS=serving 0 pods; config reloaded: applied logLevel (#2)",
    ]);
  });

  it("keeps serving after an invalid config, and says so in the status", async () => {
    const h = harness({
      reload: async () => {
        throw new Error('logLevel: unknown level "loud"');
      },
    });
    await h.lifecycle.started(h.agent);
    await h.lifecycle.reloadNow();
    expect(h.sent.at(-1)).toEqual([
      "READY=1",
      'STATUS=serving 0 pods; config reload failed, previous config kept: logLevel: unknown level "loud"',
    ]);
  });

  it("sends STOPPING=1, stops its timers and stops listening for SIGHUP", async () => {
    const h = harness();
    await h.lifecycle.started(h.agent);
    await h.lifecycle.stopping();
    expect(h.sent.at(-1)?.[0]).toBe("STOPPING=1");
    expect(h.intervals.every((i) => i.stopped)).toBe(true);
    expect(h.signals.listenerCount("SIGHUP")).toBe(0);
  });

  it("defers a SIGHUP that arrives during start-up until the agent serves (node would exit on it)", async () => {
    let reloads = 0;
    const h = harness({ reload: async () => `config reloaded (#${++reloads})` });
    h.signals.emit("SIGHUP");
    expect(reloads).toBe(0);
    expect(h.sent).toEqual([]);
    await h.lifecycle.started(h.agent);
    expect(reloads).toBe(1);
    expect(h.sent.filter((m) => m[0] !== "WATCHDOG=1").map((m) => m[0])).toEqual([
      "READY=1",
      "RELOADING=1",
      "READY=1",
    ]);
  });

  it("still reports readiness when describing the agent fails", async () => {
    const h = harness({
      describe: async () => {
        throw new Error("runtime busy");
      },
    });
    await h.lifecycle.started(h.agent);
    expect(h.sent[0]).toEqual(["READY=1", "STATUS=serving"]);
  });
});
