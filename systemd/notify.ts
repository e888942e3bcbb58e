// Tells systemd how the agent is doing (the sd_notify protocol): READY=1 once the socket
// serves, STATUS= lines, WATCHDOG=1 keep-alives, RELOADING=1 and STOPPING=1. Node has no
// unix datagram sockets, so each message is sent by the `systemd-notify` binary.
//
// systemd attributes a message to a unit by the sender's pid. A short-lived helper may exit
// before PID 1 reads its datagram, and the message is then dropped; as root, `--pid=<agent>`
// makes the credentials name the agent itself, which is alive and the unit's main process.
// (systemd-notify also waits for PID 1 to process the message unless told --no-block.)
import { execa } from "execa";
import type { Logger } from "../common/logger.js";

/** What systemd handed the agent for notifications, taken out of the process environment. */
export interface NotifyEnvironment {
  /** The notification socket ($NOTIFY_SOCKET). */
  readonly socket: string;
  /** Watchdog timeout in microseconds ($WATCHDOG_USEC), when the unit asks for keep-alives. */
  readonly watchdogUsec?: number;
  /** The pid the watchdog applies to ($WATCHDOG_PID); keep-alives are for that process only. */
  readonly watchdogPid?: number;
}

const NOTIFY_VARIABLES = ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"] as const;

/**
 * Reads the notification variables and removes them from `env`. Children must not inherit
 * them: runc treats $NOTIFY_SOCKET as a request to pass a socket into the container and
 * `runc start` then waits for the container to send READY=1; conmon passes it on to runc.
 */
export function takeNotifyEnvironment(env: NodeJS.ProcessEnv = process.env): NotifyEnvironment | undefined {
  const socket = env.NOTIFY_SOCKET;
  const watchdogUsec = positiveInteger(env.WATCHDOG_USEC);
  const watchdogPid = positiveInteger(env.WATCHDOG_PID);
  for (const name of NOTIFY_VARIABLES) delete env[name];
  if (socket === undefined || socket === "") return undefined;
  return {
    socket,
    ...(watchdogUsec !== undefined && { watchdogUsec }),
    ...(watchdogPid !== undefined && { watchdogPid }),
  };
}

function positiveInteger(value: string | undefined): number | undefined {
  if (value === undefined || !/^\d+$/.test(value)) return undefined;
  const number = Number(value);
  return number > 0 && Number.isSafeInteger(number) ? number : undefined;
}

/** Sends one notification: runs systemd-notify with these arguments and environment. */
export type NotifySender = (args: readonly string[], env: Readonly<Record<string, string>>) => Promise<void>;

export function systemdNotifySender(binary = "systemd-notify", timeoutMs = 10_000): NotifySender {
  return async (args, env) => {
    await execa(binary, args, { env, extendEnv: false, timeout: timeoutMs, stdin: "ignore" });
  };
}

export interface Interval {
  stop(): void;
}

export type IntervalScheduler = (fn: () => void, ms: number) => Interval;

const nodeInterval: IntervalScheduler = (fn, ms) => {
  const timer = setInterval(fn, ms);
  // Keep-alives alone must not keep a stopping agent alive.
  timer.unref();
  return { stop: () => clearInterval(timer) };
};

export interface SystemdNotifierOptions {
  /** From takeNotifyEnvironment(); undefined when not started by systemd (every call is a no-op). */
  readonly environment: NotifyEnvironment | undefined;
  readonly logger: Logger;
  /** The agent's pid, named as the sender. */
  readonly pid?: number;
  readonly send?: NotifySender;
  readonly setInterval?: IntervalScheduler;
  /** Microseconds on the monotonic clock, for RELOADING=1 (systemd 253+ asks for it). */
  readonly monotonicUsec?: () => bigint;
}

export class SystemdNotifier {
  private readonly environment: NotifyEnvironment | undefined;
  private readonly logger: Logger;
  private readonly pid: number;
  private readonly send: NotifySender;
  private readonly schedule: IntervalScheduler;
  private readonly monotonicUsec: () => bigint;
  // Messages go out one at a time, in order: READY=1 must not overtake the STATUS before it.
  private queue: Promise<void> = Promise.resolve();

  constructor(options: SystemdNotifierOptions) {
    this.environment = options.environment;
    this.logger = options.logger;
    this.pid = options.pid ?? process.pid;
    this.send = options.send ?? systemdNotifySender();
    this.schedule = options.setInterval ?? nodeInterval;
    this.monotonicUsec = options.monotonicUsec ?? (() => process.hrtime.bigint() / 1000n);
  }

  /** True when systemd listens (the unit is Type=notify). */
  get enabled(): boolean {
    return this.environment !== undefined;
  }

  /** Start-up (or a reload) finished: systemd marks the unit active. */
  ready(status?: string): Promise<void> {
    return this.notify(status === undefined ? ["READY=1"] : ["READY=1", `STATUS=${status}`]);
  }

  /** Free-form text shown by `systemctl status`. */
  status(text: string): Promise<void> {
    return this.notify([`STATUS=${text}`]);
  }

  /** A reload began; follow with ready() when it ends, whether it worked or not. */
  reloading(): Promise<void> {
    return this.notify(["RELOADING=1", `MONOTONIC_USEC=${this.monotonicUsec()}`]);
  }

  stopping(status?: string): Promise<void> {
    return this.notify(status === undefined ? ["STOPPING=1"] : ["STOPPING=1", `STATUS=${status}`]);
  }

  watchdog(): Promise<void> {
    return this.notify(["WATCHDOG=1"]);
  }

  /**
   * How often to send WATCHDOG=1: half the unit's WatchdogSec, so one late ping is not yet a
   * timeout. Undefined when the unit has no watchdog or it is meant for another process.
   */
  watchdogIntervalMs(): number | undefined {
    const env = this.environment;
    if (env?.watchdogUsec === undefined) return undefined;
    if (env.watchdogPid !== undefined && env.watchdogPid !== this.pid) return undefined;
    return Math.max(1, Math.floor(env.watchdogUsec / 2000));
  }

  /**
   * Pings the watchdog from the event loop. A loop blocked for longer than WatchdogSec stops
   * the pings, and systemd kills and restarts the agent, which is the point.
   */
  startWatchdog(): Interval {
    const intervalMs = this.watchdogIntervalMs();
    if (intervalMs === undefined) return { stop: () => undefined };
    this.logger.debug({ intervalMs }, "pinging the systemd watchdog");
    void this.watchdog();
    return this.schedule(() => void this.watchdog(), intervalMs);
  }

  /** Resolves once every message queued so far was handed to systemd (or failed). */
  flush(): Promise<void> {
    return this.queue;
  }

  private notify(assignments: readonly string[]): Promise<void> {
    const env = this.environment;
    if (env === undefined) return Promise.resolve();
    const args = [`--pid=${this.pid}`, ...assignments];
    const childEnv: Record<string, string> = { NOTIFY_SOCKET: env.socket };
    if (process.env.PATH !== undefined) childEnv.PATH = process.env.PATH;
    this.queue = this.queue.then(() =>
      this.send(args, childEnv).catch((err: unknown) => {
        // A lost notification must never take the agent down; systemd's timeouts catch the rest.
        this.logger.warn({ err, message: assignments.join(" ") }, "systemd notification failed");
      }),
    );
    return this.queue;
  }
}
