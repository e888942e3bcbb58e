// The agent's life as a systemd service: READY=1 with a status line once it serves, the
// watchdog, a periodic STATUS refresh, SIGHUP reloads framed by RELOADING=1 / READY=1, and
// STOPPING=1 on the way out. Outside systemd the notifications are no-ops and SIGHUP still
// reloads.
import type { Logger } from "../common/logger.js";
import type { Interval, IntervalScheduler, SystemdNotifier } from "./notify.js";

/** The process signals the lifecycle listens to (process itself, or an EventEmitter in tests). */
export interface SignalSource {
  on(signal: "SIGHUP", listener: () => void): unknown;
  off(signal: "SIGHUP", listener: () => void): unknown;
}

export interface ServiceLifecycleOptions {
  readonly notifier: SystemdNotifier;
  readonly logger: Logger;
  /** The STATUS= text, e.g. "serving 3 pods, 5 containers running". */
  describe(): Promise<string>;
  /** Re-reads and applies the config; returns what changed; throws (keeping the old config) when invalid. */
  reload(): Promise<string>;
  readonly signals?: SignalSource;
  readonly statusIntervalMs?: number;
  readonly setInterval?: IntervalScheduler;
}

const nodeInterval: IntervalScheduler = (fn, ms) => {
  const timer = setInterval(fn, ms);
  timer.unref();
  return { stop: () => clearInterval(timer) };
};

export class ServiceLifecycle {
  private readonly options: ServiceLifecycleOptions;
  private readonly signals: SignalSource;
  private timers: Interval[] = [];
  private lastStatus: string | undefined;
  private reloading: Promise<void> | undefined;
  private readonly onHangup = (): void => void this.reloadNow();

  constructor(options: ServiceLifecycleOptions) {
    this.options = options;
    this.signals = options.signals ?? process;
  }

  /** The agent serves: tell systemd, then keep the watchdog and status going. */
  async started(): Promise<void> {
    const { notifier } = this.options;
    this.signals.on("SIGHUP", this.onHangup);
    this.lastStatus = await this.describe();
    await notifier.ready(this.lastStatus);
    this.timers.push(notifier.startWatchdog());
    const schedule = this.options.setInterval ?? nodeInterval;
    this.timers.push(schedule(() => void this.refreshStatus(), this.options.statusIntervalMs ?? 30_000));
  }

  /** One reload at a time; a SIGHUP during a reload waits for it and runs again. */
  reloadNow(): Promise<void> {
    const previous = this.reloading ?? Promise.resolve();
    const run = previous.then(() => this.reloadOnce());
    this.reloading = run.finally(() => {
      if (this.reloading === run) this.reloading = undefined;
    });
    return run;
  }

  async stopping(): Promise<void> {
    this.signals.off("SIGHUP", this.onHangup);
    for (const timer of this.timers) timer.stop();
    this.timers = [];
    await this.options.notifier.stopping("stopping; containers keep running");
  }

  private async reloadOnce(): Promise<void> {
    const { notifier, logger } = this.options;
    await notifier.reloading();
    let outcome: string;
    try {
      outcome = await this.options.reload();
      logger.info(outcome);
    } catch (err) {
      outcome = `config reload failed, previous config kept: ${err instanceof Error ? err.message : String(err)}`;
      logger.error({ err }, "config reload failed; the previous config stays in force");
    }
    // READY=1 ends the reload either way: the agent keeps serving with the config it has.
    this.lastStatus = `${await this.describe()}; ${outcome}`;
    await notifier.ready(this.lastStatus);
  }

  private async refreshStatus(): Promise<void> {
    const status = await this.describe();
    if (status === this.lastStatus) return;
    this.lastStatus = status;
    await this.options.notifier.status(status);
  }

  private async describe(): Promise<string> {
    try {
      return await this.options.describe();
    } catch (err) {
      this.options.logger.debug({ err }, "cannot describe the agent for systemd");
      return "serving";
    }
  }
}
