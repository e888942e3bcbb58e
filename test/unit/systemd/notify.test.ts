import { describe, expect, it } from "vitest";
import { silentLogger } from "../../../common/logger.js";
import {
  SystemdNotifier,
  takeNotifyEnvironment,
  type IntervalScheduler,
  type NotifySender,
} from "../../../systemd/notify.js";

interface Sent {
  args: readonly string[];
  env: Readonly<Record<string, string>>;
}

function recorder(): { sent: Sent[]; send: NotifySender } {
  const sent: Sent[] = [];
  return { sent, send: async (args, env) => void sent.push({ args, env }) };
}

function manualInterval(): {
  scheduler: IntervalScheduler;
  ticks: Array<{ fn: () => void; ms: number; stopped: boolean }>;
} {
  const ticks: Array<{ fn: () => void; ms: number; stopped: boolean }> = [];
  return {
    ticks,
    scheduler: (fn, ms) => {
      const tick = { fn, ms, stopped: false };
      ticks.push(tick);
      return { stop: () => void (tick.stopped = true) };
    },
  };
}

describe("takeNotifyEnvironment", () => {
  it("reads the socket and watchdog, and removes them so that runc and conmon never see them", () => {
    const env: NodeJS.ProcessEnv = {
      NOTIFY_SOCKET: "/run/systemd/notify",
      WATCHDOG_USEC: "30000000",
      WATCHDOG_PID: "4242",
      PATH: "/usr/bin",
    };
    expect(takeNotifyEnvironment(env)).toEqual({
      socket: "/run/systemd/notify",
      watchdogUsec: 30_000_000,
      watchdogPid: 4242,
    });
    expect(env).toEqual({ PATH: "/usr/bin" });
  });

  it("is undefined outside systemd, and ignores malformed watchdog values", () => {
    expect(takeNotifyEnvironment({ WATCHDOG_USEC: "1000" })).toBeUndefined();
    expect(
      takeNotifyEnvironment({ NOTIFY_SOCKET: "@abstract", WATCHDOG_USEC: "soon", WATCHDOG_PID: "-1" }),
    ).toEqual({
      socket: "@abstract",
    });
  });
});

describe("SystemdNotifier", () => {
  const environment = { socket: "/run/systemd/notify", watchdogUsec: 30_000_000, watchdogPid: 77 };

  it("sends each message through systemd-notify on behalf of the agent's pid, with only the socket and PATH", async () => {
    const { sent, send } = recorder();
    const notifier = new SystemdNotifier({ environment, logger: silentLogger(), pid: 77, send });
    await notifier.ready("serving 2 pods");
    expect(sent).toHaveLength(1);
    expect(sent[0]!.args).toEqual(["--pid=77", "READY=1", "STATUS=serving 2 pods"]);
    expect(Object.keys(sent[0]!.env).sort()).toEqual(
      process.env.PATH === undefined ? ["NOTIFY_SOCKET"] : ["NOTIFY_SOCKET", "PATH"],
    );
    expect(sent[0]!.env.NOTIFY_SOCKET).toBe("/run/systemd/notify");
  });

  it("frames a reload with RELOADING=1 and a monotonic timestamp, and says STOPPING=1", async () => {
    const { sent, send } = recorder();
    const notifier = new SystemdNotifier({
      environment,
      logger: silentLogger(),
      pid: 77,
      send,
      monotonicUsec: () => 123456789n,
    });
    await notifier.reloading();
    await notifier.ready();
    await notifier.status("x");
    await notifier.stopping();
    expect(sent.map((s) => s.args.slice(1))).toEqual([
      ["RELOADING=1", "MONOTONIC_USEC=123456789"],
      ["READY=1"],
      ["STATUS=x"],
      ["STOPPING=1"],
    ]);
  });

  it("keeps messages in order even when an earlier send is slower", async () => {
    const order: string[] = [];
    const send: NotifySender = async (args) => {
      if (args.includes("STATUS=first")) await new Promise((r) => setTimeout(r, 20));
      order.push(args[1]!);
    };
    const notifier = new SystemdNotifier({ environment, logger: silentLogger(), pid: 77, send });
    void notifier.status("first");
    await notifier.ready();
    expect(order).toEqual(["STATUS=first", "READY=1"]);
  });

  it("is a no-op outside systemd", async () => {
    const { sent, send } = recorder();
    const notifier = new SystemdNotifier({ environment: undefined, logger: silentLogger(), send });
    expect(notifier.enabled).toBe(false);
    await notifier.ready("x");
    await notifier.stopping();
    expect(notifier.startWatchdog()).toBeDefined();
    expect(sent).toEqual([]);
  });

  it("survives a failing systemd-notify (a lost message must not stop the agent)", async () => {
    let calls = 0;
    const send: NotifySender = async () => {
      calls++;
      if (calls === 1) throw new Error("systemd-notify: connection refused");
    };
    const notifier = new SystemdNotifier({ environment, logger: silentLogger(), pid: 77, send });
    await expect(notifier.status("a")).resolves.toBeUndefined();
    await notifier.status("b");
    expect(calls).toBe(2);
  });

  it("pings the watchdog at half of WATCHDOG_USEC, from the first moment, until stopped", async () => {
    const { sent, send } = recorder();
    const { scheduler, ticks } = manualInterval();
    const notifier = new SystemdNotifier({
      environment,
      logger: silentLogger(),
      pid: 77,
      send,
      setInterval: scheduler,
    });
    expect(notifier.watchdogIntervalMs()).toBe(15_000);
    const watchdog = notifier.startWatchdog();
    expect(ticks).toHaveLength(1);
    expect(ticks[0]!.ms).toBe(15_000);
    ticks[0]!.fn();
    ticks[0]!.fn();
    await notifier.flush();
    expect(sent.map((s) => s.args[1])).toEqual(["WATCHDOG=1", "WATCHDOG=1", "WATCHDOG=1"]);
    watchdog.stop();
    expect(ticks[0]!.stopped).toBe(true);
  });

  it("does not ping a watchdog meant for another process, or when the unit has none", () => {
    const { scheduler, ticks } = manualInterval();
    const other = new SystemdNotifier({
      environment,
      logger: silentLogger(),
      pid: 78,
      setInterval: scheduler,
    });
    expect(other.watchdogIntervalMs()).toBeUndefined();
    other.startWatchdog();
    const none = new SystemdNotifier({
      environment: { socket: "/run/systemd/notify" },
      logger: silentLogger(),
      setInterval: scheduler,
    });
    expect(none.watchdogIntervalMs()).toBeUndefined();
    none.startWatchdog();
    expect(ticks).toEqual([]);
  });
});
