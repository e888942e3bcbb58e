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
  readonly signals?: SignalSource;
  readonly statusIntervalMs?: number;
  readonly setInterval?: IntervalScheduler;
}

/** What the running agent provides once it serves. */
export interface ServingAgent {
  /** The STATUS= text, e.g. "serving 3 pods, 5 containers running". */
  describe(): Promise<string>;
  /** Re-reads and applies the config; returns what changed; throws (keeping the old config) when invalid. */
  reload(): Promise<string>;
}

const nodeInterval: IntervalScheduler = (fn, ms) => {
  const timer = setInterval(fn, ms);
  timer.unref();
  return { stop: () => clearInterval(timer) };
};

export class ServiceLifecycle {
  private readonly options: ServiceLifecycleOptions;
  private readonly signals: SignalSource;
  private agent: ServingAgent | undefined;
  private timers: Interval[] = [];
  private lastStatus: string | undefined;
  private reloadRequestedEarly = false;
  private reloads: Promise<void> = Promise.resolve();
  private readonly onHangup = (): void => {
    if (this.agent === undefined) this.reloadRequestedEarly = true;
    else void this.reloadNow();
  };

  constructor(options: ServiceLifecycleOptions) {
    this.options = options;
    this.signals = options.signals ?? process;
  }

  /**
   * Takes SIGHUP from now on. Node's default for SIGHUP is to exit, so this comes first; a
   * reload asked for while the agent starts runs once it serves (it already reads the newest
   * config, but the request is honoured with its RELOADING=1 / READY=1 frame).
   */
  listen(): void {
    this.signals.on("SIGHUP", this.onHangup);
  }

  /** The agent serves: tell systemd, then keep the watchdog and status going. */
  async started(agent: ServingAgent): Promise<void> {
    const { notifier } = this.options;
    this.agent = agent;
    this.lastStatus = await this.describe();
    await notifier.ready(this.lastStatus);
    this.timers.push(notifier.startWatchdog());
    const schedule = this.options.setInterval ?? nodeInterval;
    this.timers.push(schedule(() => void this.refreshStatus(), this.options.statusIntervalMs ?? 30_000));
    if (this.reloadRequestedEarly) {
      this.reloadRequestedEarly = false;
      await this.reloadNow();
    }
  }

  /** One reload at a time; a SIGHUP during a reload runs another after it. */
  reloadNow(): Promise<void> {
    this.reloads = this.reloads.then(() => this.reloadOnce());
    return this.reloads;
  }

  async stopping(): Promise<void> {
    this.signals.off("SIGHUP", this.onHangup);
    for (const timer of this.timers) timer.stop();
    this.timers = [];
    await this.options.notifier.stopping("stopping; containers keep running");
  }

  private async reloadOnce(): Promise<void> {
    const { notifier, logger } = this.options;
    const agent = this.agent;
    if (agent === undefined) return;
    await notifier.reloading();
    let outcome: string;
    try {
      outcome = await agent.reload();
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
      return (await this.agent?.describe()) ?? "starting";
    } catch (err) {
      this.options.logger.debug({ err }, "cannot describe the agent for systemd");
      return "serving";
    }
  }
}
