// The life of one probe of one container, as a pure state machine: whether a run is due, and
// what its outcome does to the result the agent acts on. Single runs do not flip the result;
// only `successThreshold` or `failureThreshold` outcomes in a row do, so one slow response
// does not restart a container and one lucky response does not make a pod ready.
import type { ProbeResult } from "./outcome.js";
import type { ProbeKind, ProbeTiming } from "./spec.js";

export interface WorkerState {
  readonly kind: ProbeKind;
  /** The result the agent acts on (readiness -> Ready; liveness/startup failure -> restart). */
  readonly result: ProbeResult;
  /** The outcome of the latest counted run, and how many runs in a row had it. */
  readonly lastOutcome: "success" | "failure" | undefined;
  readonly streak: number;
  /**
   * A liveness or startup probe that failed its way to "failure" stops until the container is
   * restarted: probing a container that is being killed tells nothing and races the kill.
   */
  readonly onHold: boolean;
}

/**
 * Where a probe starts: a container is not ready until readiness says so, alive until liveness
 * says otherwise, and not started ("unknown") until its startup probe passes, which is what
 * holds its liveness and readiness probes back.
 */
export function initialWorkerState(kind: ProbeKind): WorkerState {
  const result: ProbeResult = kind === "readiness" ? "failure" : kind === "liveness" ? "success" : "unknown";
  return { kind, result, lastOutcome: undefined, streak: 0, onHold: false };
}

export type SkipReason = "on-hold" | "startup-done" | "awaiting-startup" | "initial-delay";

export type RunDecision = { run: true } | { run: false; reason: SkipReason };

export interface RunContext {
  /** Now, in ms since the epoch. */
  now: number;
  /** When the container started, in ms since the epoch. */
  startedAt: number;
  /** Whether the container's startup probe has passed (true when it has none). */
  containerStarted: boolean;
}

export function decideRun(state: WorkerState, timing: ProbeTiming, ctx: RunContext): RunDecision {
  if (state.onHold) return { run: false, reason: "on-hold" };
  // A startup probe has done its job once it passes; it never runs again for this container.
  if (state.kind === "startup" && state.result === "success") return { run: false, reason: "startup-done" };
  if (state.kind !== "startup" && !ctx.containerStarted) return { run: false, reason: "awaiting-startup" };
  if (ctx.now - ctx.startedAt < timing.initialDelaySeconds * 1000)
    return { run: false, reason: "initial-delay" };
  return { run: true };
}

export interface Transition {
  state: WorkerState;
  previous: ProbeResult;
  /** True when this outcome moved `state.result`. */
  changed: boolean;
}

export function recordOutcome(state: WorkerState, timing: ProbeTiming, outcome: ProbeResult): Transition {
  const previous = state.result;
  // An outcome of "unknown" means the probe could not run; it is no evidence either way.
  if (outcome === "unknown") return { state, previous, changed: false };

  const streak = state.lastOutcome === outcome ? state.streak + 1 : 1;
  const threshold = outcome === "success" ? timing.successThreshold : timing.failureThreshold;
  if (streak < threshold) {
    return { state: { ...state, lastOutcome: outcome, streak }, previous, changed: false };
  }
  const holds = outcome === "failure" && state.kind !== "readiness";
  const next: WorkerState = {
    ...state,
    result: outcome,
    lastOutcome: outcome,
    streak: holds ? 0 : streak,
    onHold: holds,
  };
  return { state: next, previous, changed: outcome !== previous };
}

/** A container without a startup probe is started as soon as it runs. */
export function isContainerStarted(startup: WorkerState | undefined): boolean {
  return startup === undefined || startup.result === "success";
}
