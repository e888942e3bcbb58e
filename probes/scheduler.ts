// One scheduler for every probe of every container on the host. Deadlines live in a min-heap
// and a single timer is armed for the earliest, so a thousand probes cost one timer, not a
// thousand intervals. Runs never wait for one another: each is started and left to finish on
// its own (bounded by its timeout), except exec probes, which fork processes in containers and
// therefore queue for a limited number of slots.
import { FailedPreconditionError } from "../common/errors.js";
import type { Clock } from "../common/clock.js";
import type { Logger } from "../common/logger.js";
import type { ExecFn } from "./handlers/exec.js";
import { MinHeap } from "./min-heap.js";
import type { HandlerOutcome, ProbeResult } from "./outcome.js";
import { handlerRunner, type ProbeTarget, type RunHandler } from "./run-handler.js";
import { Semaphore } from "./semaphore.js";
import { normalizeProbe, type Probe, type ProbeInput, type ProbeKind } from "./spec.js";
import {
  decideRun,
  initialWorkerState,
  isContainerStarted,
  recordOutcome,
  type WorkerState,
} from "./worker.js";

export const DEFAULT_EXEC_CONCURRENCY = 8;
/** How long past a probe's own timeout the scheduler waits before giving up on a handler. */
export const DEFAULT_HANDLER_GRACE_MS = 10_000;

export interface ProbeUpdate {
  kind: ProbeKind;
  /** The result to act on after this run. */
  result: ProbeResult;
  /** The result to act on before this run. */
  previous: ProbeResult;
  /** True when this run moved the result across a threshold. */
  changed: boolean;
  /** What this single run said, before thresholds. */
  outcome: ProbeResult;
  output: string;
  /** The run passed with a caveat worth an event (an HTTP redirect that was not followed). */
  warning: boolean;
}

export type OnProbeResult = (key: string, update: ProbeUpdate) => void;

export interface SchedulerTimers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface ProbeSchedulerOptions {
  /** How exec probes get into containers. */
  execFn: ExecFn;
  logger: Logger;
  /** Exec probes allowed to run at once; the rest queue. */
  execConcurrency?: number;
  clock?: Pick<Clock, "now">;
  timers?: SchedulerTimers;
  /** A number in [0, 1), for the jitter of first runs. */
  random?: () => number;
  /**
   * First runs are spread over a random part of the period while the scheduler is younger
   * than that period: that is when many probes arrive at once (the agent restarted and
   * re-adds every running container's probes). Later a new container's probes run as soon
   * as their initial delay allows. Set to always spread first runs.
   */
  alwaysJitter?: boolean;
  /** Called once for every completed run, for a `probe_total{probe_type,result}` counter. */
  onProbe?: (kind: ProbeKind, result: ProbeResult) => void;
  /** Called when a run is skipped because the previous run of that probe is still going. */
  onOverlapSkipped?: (kind: ProbeKind) => void;
  /** User-Agent of HTTP and gRPC probes; defaults to `berth-probe/<version>`. */
  userAgent?: string;
  /** Replaces the built-in handlers, e.g. to route probes elsewhere. */
  runHandler?: RunHandler;
  handlerGraceMs?: number;
}

interface Entry {
  readonly key: string;
  readonly kind: ProbeKind;
  readonly probe: Probe;
  readonly target: ProbeTarget;
  readonly startedAt: number;
  readonly onResult: OnProbeResult;
  /** Breaks ties between equal deadlines: earlier additions run first. */
  readonly order: number;
  readonly logger: Logger;
  state: WorkerState;
  dueAt: number;
  running: boolean;
  live: boolean;
}

const systemTimers: SchedulerTimers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export class ProbeScheduler {
  private readonly entries = new Map<string, Entry>();
  private readonly byContainer = new Map<string, Set<Entry>>();
  private readonly heap = new MinHeap<Entry>(
    (a, b) => a.dueAt < b.dueAt || (a.dueAt === b.dueAt && a.order < b.order),
  );
  private readonly execSlots: Semaphore;
  private readonly runHandler: RunHandler;
  private readonly clock: Pick<Clock, "now">;
  private readonly timers: SchedulerTimers;
  private readonly random: () => number;
  private readonly createdAt: number;
  private readonly graceMs: number;
  private timer: { handle: unknown; dueAt: number } | undefined;
  private nextOrder = 0;
  private skipped = 0;
  private closed = false;

  constructor(private readonly options: ProbeSchedulerOptions) {
    this.execSlots = new Semaphore(options.execConcurrency ?? DEFAULT_EXEC_CONCURRENCY);
    this.runHandler =
      options.runHandler ?? handlerRunner({ execFn: options.execFn, userAgent: options.userAgent });
    this.clock = options.clock ?? { now: () => Date.now() };
    this.timers = options.timers ?? systemTimers;
    this.random = options.random ?? Math.random;
    this.graceMs = options.handlerGraceMs ?? DEFAULT_HANDLER_GRACE_MS;
    this.createdAt = this.clock.now();
  }

  /** Probes currently scheduled. */
  get size(): number {
    return this.entries.size;
  }

  /** Runs skipped so far because the previous run of the same probe had not finished. */
  get overlapSkips(): number {
    return this.skipped;
  }

  /**
   * Starts probing. `spec` is defaulted and checked here too, so nothing malformed gets into
   * the heap. Adding a key that exists replaces that probe and starts it afresh, which is how
   * a restarted container (a new container id under the same key) gets fresh counters.
   */
  add(key: string, spec: ProbeInput, kind: ProbeKind, target: ProbeTarget, onResult: OnProbeResult): void {
    if (this.closed) throw new FailedPreconditionError("probe scheduler is closed");
    const probe = normalizeProbe(kind, spec, "probe");
    this.remove(key);

    const now = this.clock.now();
    const startedAt = target.startedAt ?? now;
    const periodMs = probe.periodSeconds * 1000;
    const jitter =
      this.options.alwaysJitter || now - this.createdAt < periodMs ? Math.floor(this.random() * periodMs) : 0;
    const entry: Entry = {
      key,
      kind,
      probe,
      target: { ...target },
      startedAt,
      onResult,
      order: this.nextOrder++,
      logger: this.options.logger.child({ probe: key, kind, containerId: target.containerId }),
      state: initialWorkerState(kind),
      dueAt: Math.max(now + jitter, startedAt + probe.initialDelaySeconds * 1000),
      running: false,
      live: true,
    };
    this.entries.set(key, entry);
    let siblings = this.byContainer.get(target.containerId);
    if (!siblings) this.byContainer.set(target.containerId, (siblings = new Set()));
    siblings.add(entry);
    this.heap.push(entry);
    this.arm();
  }

  /** Stops a probe. A run in flight finishes, but its result is dropped. Unknown keys are ignored. */
  remove(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    entry.live = false;
    this.entries.delete(key);
    this.heap.remove(entry);
    const siblings = this.byContainer.get(entry.target.containerId);
    siblings?.delete(entry);
    if (siblings?.size === 0) this.byContainer.delete(entry.target.containerId);
    this.arm();
  }

  /** Stops every probe of a container (it exited or was removed). */
  removeContainer(containerId: string): void {
    for (const entry of [...(this.byContainer.get(containerId) ?? [])]) this.remove(entry.key);
  }

  /** The result to act on for a probe, or undefined for an unknown key. */
  result(key: string): ProbeResult | undefined {
    return this.entries.get(key)?.state.result;
  }

  /** Whether a container's startup probe has passed (true when it has none). */
  containerStarted(containerId: string): boolean {
    return isContainerStarted(this.startupState(containerId));
  }

  /** Stops everything. Runs in flight finish, and their results are dropped. */
  close(): void {
    this.closed = true;
    for (const key of [...this.entries.keys()]) this.remove(key);
    this.disarm();
  }

  private startupState(containerId: string): WorkerState | undefined {
    for (const entry of this.byContainer.get(containerId) ?? []) {
      if (entry.kind === "startup") return entry.state;
    }
    return undefined;
  }

  private arm(): void {
    const next = this.heap.peek();
    if (this.timer && next && this.timer.dueAt === next.dueAt) return;
    this.disarm();
    if (!next) return;
    const delay = Math.max(0, next.dueAt - this.clock.now());
    this.timer = { handle: this.timers.setTimeout(() => this.fire(), delay), dueAt: next.dueAt };
  }

  private disarm(): void {
    if (this.timer) this.timers.clearTimeout(this.timer.handle);
    this.timer = undefined;
  }

  private fire(): void {
    this.timer = undefined;
    const now = this.clock.now();
    for (let next = this.heap.peek(); next && next.dueAt <= now; next = this.heap.peek()) {
      this.heap.pop();
      const periodMs = next.probe.periodSeconds * 1000;
      // Keep the probe's cadence from its schedule, not from when a run ended; deadlines
      // missed while the process was busy are dropped, not run in a burst.
      next.dueAt += (Math.floor((now - next.dueAt) / periodMs) + 1) * periodMs;
      this.heap.push(next);
      this.tick(next, now);
    }
    this.arm();
  }

  private tick(entry: Entry, now: number): void {
    if (entry.running) {
      this.skipped++;
      entry.logger.debug("previous probe run still going; skipping this one");
      this.notify(() => this.options.onOverlapSkipped?.(entry.kind));
      return;
    }
    const decision = decideRun(entry.state, entry.probe, {
      now,
      startedAt: entry.startedAt,
      containerStarted: this.containerStarted(entry.target.containerId),
    });
    if (!decision.run) return;
    entry.running = true;
    void this.execute(entry);
  }

  private async execute(entry: Entry): Promise<void> {
    let release: (() => void) | undefined;
    try {
      if ("exec" in entry.probe) {
        release = await this.execSlots.acquire();
        // Removed while waiting for a slot: give the slot to the next probe.
        if (!entry.live) return;
      }
      const outcome = await this.watch(entry, this.runHandler(entry.probe, entry.target));
      release?.();
      release = undefined;
      this.complete(entry, outcome);
    } finally {
      release?.();
      entry.running = false;
    }
  }

  /**
   * Handlers enforce their own timeouts; this is the backstop for one that does not (an exec
   * function stuck in the runtime), so that a wedged probe cannot hold an exec slot for ever.
   */
  private watch(entry: Entry, run: Promise<HandlerOutcome>): Promise<HandlerOutcome> {
    const limitMs = entry.probe.timeoutSeconds * 1000 + this.graceMs;
    return new Promise((resolve) => {
      const handle = this.timers.setTimeout(() => {
        entry.logger.warn({ limitMs }, "probe handler did not return; counting the run as failed");
        resolve({ result: "failure", output: `probe did not finish within ${limitMs}ms` });
      }, limitMs);
      run.then(
        (outcome) => {
          this.timers.clearTimeout(handle);
          resolve(outcome);
        },
        (err: unknown) => {
          this.timers.clearTimeout(handle);
          resolve({ result: "unknown", output: `probe could not run: ${String(err)}` });
        },
      );
    });
  }

  private complete(entry: Entry, outcome: HandlerOutcome): void {
    this.notify(() => this.options.onProbe?.(entry.kind, outcome.result));
    // Removed or replaced while running: the result belongs to a probe that no longer exists.
    if (!entry.live) return;
    const transition = recordOutcome(entry.state, entry.probe, outcome.result);
    entry.state = transition.state;
    if (transition.changed) {
      entry.logger.info(
        { result: transition.state.result, previous: transition.previous },
        "probe result changed",
      );
    }
    if (transition.changed && entry.kind === "startup" && transition.state.result === "success") {
      this.runReadinessSoon(entry.target.containerId);
    }
    this.notify(() =>
      entry.onResult(entry.key, {
        kind: entry.kind,
        result: transition.state.result,
        previous: transition.previous,
        changed: transition.changed,
        outcome: outcome.result,
        output: outcome.output,
        warning: outcome.warning === true,
      }),
    );
  }

  /**
   * A container that just passed its startup probe is not Ready until its readiness probe
   * passes; running that probe now rather than at its next tick saves up to a period.
   */
  private runReadinessSoon(containerId: string): void {
    const now = this.clock.now();
    for (const entry of this.byContainer.get(containerId) ?? []) {
      if (entry.kind !== "readiness" || entry.running) continue;
      const earliest = Math.max(now, entry.startedAt + entry.probe.initialDelaySeconds * 1000);
      if (entry.dueAt <= earliest) continue;
      this.heap.remove(entry);
      entry.dueAt = earliest;
      this.heap.push(entry);
    }
    this.arm();
  }

  /** Callbacks belong to the caller; one that throws must not stop the probes. */
  private notify(callback: () => void): void {
    try {
      callback();
    } catch (err) {
      this.options.logger.error({ err }, "probe callback threw");
    }
  }
}
