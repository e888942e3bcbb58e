// Follows the OOM kills of every live container: one cgroups OOM watcher per container from
// its creation to its exit. Each kill is put down to the main process (the container exits
// OOMKilled) or to another process (the container lives on), reported as an OomEvent with the
// memory figures of the moment, and counted.
import type { CgroupLayout } from "../../cgroups/detect.js";
import {
  realTimers,
  watchOomKills,
  type OomKillEvent,
  type OomWatcher,
  type OomWatcherOptions,
  type Timers,
} from "../../cgroups/oom-watcher.js";
import type { CgroupStatsReader } from "../../cgroups/stats.js";
import { systemClock, type Clock } from "../../common/clock.js";
import type { Logger } from "../../common/logger.js";
import { killVictim, mainProcessOomKilled, procLiveness, type LivenessProbe } from "./oom-classify.js";
import type { OomCounts, OomEvent, OomKind, OomListener } from "./types.js";

/** How long after a kill the main process is looked at (it needs a moment to die of it). */
export const DEFAULT_OOM_SETTLE_MS = 250;
/** Looks at a dying main process this many times before leaving the verdict to its exit. */
const MAX_SETTLE_ATTEMPTS = 20;

export interface OomMonitorOptions {
  readonly layout: CgroupLayout;
  /** Mount root of the cgroup hierarchies (default /sys/fs/cgroup). */
  readonly cgroupRoot?: string;
  /** For the memory figures of each event. */
  readonly reader: Pick<CgroupStatsReader, "read">;
  readonly logger: Logger;
  readonly clock?: Clock;
  readonly timers?: Timers;
  readonly settleMs?: number;
  /** Poll interval where memory.events cannot be watched (cgroup v1). */
  readonly pollIntervalMs?: number;
  readonly watch?: (options: OomWatcherOptions) => Promise<OomWatcher>;
  readonly liveness?: LivenessProbe;
}

/** The parts of a container record the monitor uses. */
export interface OomSubject {
  readonly id: string;
  readonly sandboxId: string;
  readonly cgroupsPath: string;
  readonly pid?: number;
}

export interface ExitSubject extends OomSubject {
  readonly exitCode: number;
  readonly reason: string;
}

interface MemoryFigures {
  readonly limitBytes?: number;
  readonly usageBytes?: number;
  readonly peakBytes?: number;
}

interface PendingKill {
  readonly kills: number;
  readonly time: number;
  readonly figures: Promise<MemoryFigures | undefined>;
}

interface Tracked {
  subject: OomSubject;
  watcher?: OomWatcher;
  /** Resolves once the watcher is set up (or failed to be). */
  ready: Promise<void>;
  pending: PendingKill[];
  containerKills: number;
  processKills: number;
  exited: boolean;
  settleTimer?: unknown;
  settleAttempts: number;
  /** Serializes the work on one container (settling, exit, removal). */
  chain: Promise<void>;
}

export class OomMonitor {
  private readonly tracked = new Map<string, Tracked>();
  private readonly listeners = new Set<OomListener>();
  private readonly clock: Clock;
  private readonly timers: Timers;
  private readonly settleMs: number;
  private readonly watch: (options: OomWatcherOptions) => Promise<OomWatcher>;
  private readonly liveness: LivenessProbe;
  private totals = { containerKills: 0, processKills: 0 };
  private closed = false;

  constructor(private readonly options: OomMonitorOptions) {
    this.clock = options.clock ?? systemClock;
    this.timers = options.timers ?? realTimers;
    this.settleMs = options.settleMs ?? DEFAULT_OOM_SETTLE_MS;
    this.watch = options.watch ?? watchOomKills;
    this.liveness = options.liveness ?? procLiveness();
  }

  onOom(listener: OomListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Kills per container, for containers not yet removed. */
  counts(): Map<string, OomCounts> {
    const counts = new Map<string, OomCounts>();
    for (const [id, t] of this.tracked) {
      counts.set(id, { containerKills: t.containerKills, processKills: t.processKills });
    }
    return counts;
  }

  /** How a container's kills are followed: "watch" (inotify), "poll", or undefined when they are not. */
  watchMode(id: string): "watch" | "poll" | undefined {
    const mode = this.tracked.get(id)?.watcher?.mode;
    return mode === "closed" ? undefined : mode;
  }

  /** Kills since the agent started, removed containers included. */
  totalCounts(): OomCounts {
    return { ...this.totals };
  }

  /** Starts watching a container's cgroup (from its creation, so no early kill is missed). */
  track(subject: OomSubject): Promise<void> {
    if (this.closed) return Promise.resolve();
    const existing = this.tracked.get(subject.id);
    if (existing && !existing.exited) {
      existing.subject = subject; // the pid is known from creation, but a recovery may bring a new record
      return existing.ready;
    }
    const entry: Tracked = {
      subject,
      ready: Promise.resolve(),
      pending: [],
      containerKills: existing?.containerKills ?? 0,
      processKills: existing?.processKills ?? 0,
      exited: false,
      settleAttempts: 0,
      chain: Promise.resolve(),
    };
    this.tracked.set(subject.id, entry);
    entry.ready = this.startWatcher(entry);
    return entry.ready;
  }

  /**
   * Asked while an exit is recorded: did the main process die of an OOM kill? Reads the kill
   * counter once more first, as the exit can be seen before the counter's change.
   */
  async mainProcessKilled(
    subject: OomSubject,
    exit: { exitCode: number; oomKilled: boolean },
  ): Promise<boolean | undefined> {
    const entry = this.tracked.get(subject.id);
    if (!entry || entry.exited) return undefined;
    await entry.ready;
    if (!entry.watcher) return undefined;
    if (exit.exitCode === 137) await entry.watcher.check();
    return mainProcessOomKilled({
      exitCode: exit.exitCode,
      conmonSawOom: exit.oomKilled,
      unattributedKills: sumKills(entry.pending),
      processKills: entry.processKills,
    });
  }

  /** The container exited: settles its kills, reports them, and stops watching. */
  exited(subject: ExitSubject): Promise<void> {
    let entry = this.tracked.get(subject.id);
    if (!entry) {
      // Not watched (it exited while the agent was down): conmon's word is all there is.
      if (subject.reason !== "OOMKilled" || subject.exitCode !== 137) return Promise.resolve();
      entry = {
        subject,
        ready: Promise.resolve(),
        pending: [],
        containerKills: 0,
        processKills: 0,
        exited: false,
        settleAttempts: 0,
        chain: Promise.resolve(),
      };
      this.tracked.set(subject.id, entry);
    }
    const tracked = entry;
    return this.serialize(tracked, async () => {
      if (tracked.exited) return;
      await tracked.ready;
      if (tracked.watcher && subject.exitCode !== 137) await tracked.watcher.check();
      tracked.exited = true;
      this.stopWatching(tracked);
      const pending = tracked.pending.splice(0);
      if (subject.reason === "OOMKilled" && subject.exitCode === 137) {
        const first = pending[0];
        const figures = first ? await first.figures : await this.readFigures(subject.cgroupsPath);
        this.report(
          tracked,
          "container-killed",
          Math.max(1, sumKills(pending)),
          first?.time ?? this.clock.now(),
          figures,
        );
        return;
      }
      for (const kill of pending)
        this.report(tracked, "process-killed", kill.kills, kill.time, await kill.figures);
    });
  }

  /** The container was removed: forget it and its counts. */
  forget(id: string): void {
    const entry = this.tracked.get(id);
    if (!entry) return;
    this.tracked.delete(id);
    entry.exited = true;
    this.stopWatching(entry);
  }

  /** Waits for the work in flight on every container (tests, shutdown). */
  async idle(): Promise<void> {
    await Promise.all([...this.tracked.values()].map((t) => t.ready.then(() => t.chain)));
  }

  close(): void {
    this.closed = true;
    for (const entry of this.tracked.values()) this.stopWatching(entry);
  }

  private async startWatcher(entry: Tracked): Promise<void> {
    const { subject } = entry;
    try {
      const watcher = await this.watch({
        layout: this.options.layout,
        path: subject.cgroupsPath,
        ...(this.options.cgroupRoot !== undefined && { root: this.options.cgroupRoot }),
        ...(this.options.pollIntervalMs !== undefined && { pollIntervalMs: this.options.pollIntervalMs }),
        clock: this.clock,
        timers: this.timers,
        logger: this.options.logger,
        onOomKill: (event) => this.killSeen(entry, event),
      });
      if (entry.exited || this.closed) watcher.close();
      else entry.watcher = watcher;
    } catch (err) {
      this.options.logger.warn(
        { err, container: subject.id, cgroup: subject.cgroupsPath },
        "cannot watch the container's OOM kills",
      );
    }
  }

  private killSeen(entry: Tracked, event: OomKillEvent): void {
    if (entry.exited) return;
    const figures = this.readFigures(entry.subject.cgroupsPath);
    entry.pending.push({ kills: event.oomKill, time: event.timestamp, figures });
    this.options.logger.debug({ container: entry.subject.id, kills: event.oomKill }, "OOM kill seen");
    entry.settleAttempts = 0;
    this.scheduleSettle(entry, this.settleMs);
  }

  private scheduleSettle(entry: Tracked, delayMs: number): void {
    if (entry.settleTimer !== undefined || entry.exited) return;
    entry.settleTimer = this.timers.setTimeout(() => {
      entry.settleTimer = undefined;
      void this.serialize(entry, () => this.settle(entry));
    }, delayMs);
  }

  /** Puts pending kills down to other processes if the main process lives on. */
  private async settle(entry: Tracked): Promise<void> {
    if (entry.exited || entry.pending.length === 0) return;
    const pid = entry.subject.pid;
    const main = pid ? await this.liveness(pid) : "unknown";
    if (entry.exited) return;
    if (killVictim(main) === "undecided") {
      // The main process is dying: its exit will carry the verdict. Look again in case it was not the kill.
      if (++entry.settleAttempts < MAX_SETTLE_ATTEMPTS) this.scheduleSettle(entry, this.settleMs * 2);
      return;
    }
    for (const kill of entry.pending.splice(0)) {
      this.report(entry, "process-killed", kill.kills, kill.time, await kill.figures);
    }
  }

  private report(
    entry: Tracked,
    kind: OomKind,
    kills: number,
    time: number,
    figures: MemoryFigures | undefined,
  ): void {
    if (kind === "container-killed") {
      entry.containerKills++;
      this.totals.containerKills++;
    } else {
      entry.processKills += kills;
      this.totals.processKills += kills;
    }
    const { id, sandboxId } = entry.subject;
    const event: OomEvent = {
      containerId: id,
      sandboxId,
      kind,
      time,
      kills,
      ...(figures?.limitBytes !== undefined && { memoryLimitBytes: figures.limitBytes }),
      ...(figures?.usageBytes !== undefined && { memoryUsageBytes: figures.usageBytes }),
      ...(figures?.peakBytes !== undefined && { memoryPeakBytes: figures.peakBytes }),
      message: oomMessage(kind, kills, figures),
    };
    this.options.logger.warn({ container: id, sandbox: sandboxId, oom: event }, event.message);
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (err) {
        this.options.logger.warn({ err }, "OOM listener failed");
      }
    }
  }

  private async readFigures(cgroupPath: string): Promise<MemoryFigures | undefined> {
    try {
      const { memory } = await this.options.reader.read(cgroupPath);
      return {
        usageBytes: memory.usageBytes,
        ...(memory.limitBytes !== undefined && { limitBytes: memory.limitBytes }),
        ...(memory.peakBytes !== undefined && { peakBytes: memory.peakBytes }),
      };
    } catch {
      return undefined; // the cgroup went with the container: the event goes out without figures
    }
  }

  private stopWatching(entry: Tracked): void {
    entry.watcher?.close();
    entry.watcher = undefined;
    if (entry.settleTimer !== undefined) this.timers.clearTimeout(entry.settleTimer);
    entry.settleTimer = undefined;
  }

  private serialize(entry: Tracked, work: () => Promise<void>): Promise<void> {
    const run = entry.chain.then(work).catch((err: unknown) => {
      this.options.logger.warn({ err, container: entry.subject.id }, "OOM bookkeeping failed");
    });
    entry.chain = run;
    return run;
  }
}

function sumKills(pending: readonly PendingKill[]): number {
  return pending.reduce((sum, kill) => sum + kill.kills, 0);
}

export function oomMessage(kind: OomKind, kills: number, figures: MemoryFigures | undefined): string {
  const numbers: string[] = [];
  if (figures?.limitBytes !== undefined) numbers.push(`limit ${formatBytes(figures.limitBytes)}`);
  if (figures?.peakBytes !== undefined) numbers.push(`peak ${formatBytes(figures.peakBytes)}`);
  if (figures?.usageBytes !== undefined) numbers.push(`usage at the kill ${formatBytes(figures.usageBytes)}`);
  const detail = numbers.length > 0 ? ` (memory ${numbers.join(", ")})` : "";
  if (kind === "container-killed") {
    return `the container's main process was killed by the kernel's OOM killer: out of memory${detail}`;
  }
  const who = kills === 1 ? "a process" : `${kills} processes`;
  return `the kernel's OOM killer killed ${who} in the container; the main process is still running${detail}`;
}

export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}
