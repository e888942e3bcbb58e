// What the analysers read about a pod, arranged once: each container with its spec, status,
// events, stats and log tail, the pod's events in order, and the clock for wording times.
import type { PodEvent } from "../../api/generated/berth.js";
import type { Jsonified, PodJson } from "../../node-api/pod-json.js";
import type { ContainerStateView, ContainerStatusView } from "../../pods/pod-manager-api.js";
import type { Container } from "../../podspec/types.js";
import { eventsOf, normalizeEvents } from "./events.js";
import { clockTimeAgo, durationBetween, goDurationMs, type Clock } from "./format.js";
import { humanDuration } from "../pod-columns.js";
import type { ContainerUsage, ExplainInput, LogTail } from "./types.js";

export type ContainerJson = Jsonified<Container>;
export type Terminated = Extract<ContainerStateView, { terminated: unknown }>["terminated"];
export type Waiting = Extract<ContainerStateView, { waiting: unknown }>["waiting"];

export interface ContainerFacts {
  name: string;
  role: "init" | "app";
  spec: ContainerJson;
  status?: ContainerStatusView;
  /** This container's events, oldest first. */
  events: PodEvent[];
  usage?: ContainerUsage;
  logTail?: LogTail;
}

export interface PodFacts {
  pod: PodJson;
  /** Every event of the pod, oldest first, each once. */
  events: PodEvent[];
  containers: ContainerFacts[];
  clock: Clock;
}

export function podFacts(input: ExplainInput): PodFacts {
  const events = normalizeEvents(input.events);
  const { spec, status } = input.pod;
  const facts = (
    role: "init" | "app",
    list: readonly ContainerJson[],
    statuses: readonly ContainerStatusView[],
  ) =>
    list.map((c): ContainerFacts => {
      const s = statuses.find((x) => x.name === c.name);
      const usage = input.usage.find((u) => u.name === c.name);
      const logTail = input.logTails.get(c.name);
      return {
        name: c.name,
        role,
        spec: c,
        ...(s && { status: s }),
        events: eventsOf(events, c.name),
        ...(usage && { usage }),
        ...(logTail && { logTail }),
      };
    });
  return {
    pod: input.pod,
    events,
    containers: [
      ...facts("init", spec.initContainers, status.initContainerStatuses),
      ...facts("app", spec.containers, status.containerStatuses),
    ],
    clock: { now: input.now, utc: input.utc ?? false },
  };
}

export function terminatedOf(
  state: ContainerStateView | Record<string, never> | undefined,
): Terminated | undefined {
  return state !== undefined && "terminated" in state ? state.terminated : undefined;
}

export function waitingOf(state: ContainerStateView | undefined): Waiting | undefined {
  return state !== undefined && "waiting" in state ? state.waiting : undefined;
}

export function isRunning(c: ContainerFacts): boolean {
  return c.status !== undefined && "running" in c.status.state;
}

/** The container's most recent exit: the current state's when it is terminated, else the last state's. */
export function lastExit(c: Pick<ContainerFacts, "status">): Terminated | undefined {
  return terminatedOf(c.status?.state) ?? terminatedOf(c.status?.lastState);
}

/** "exit code 1 (Error)", "signal 9 (OOMKilled)". */
export function exitPhrase(t: Terminated): string {
  const reason = t.reason ? ` (${t.reason})` : "";
  return `code ${t.exitCode}${reason}`;
}

/** One evidence line for an exit: "exited with code 1 (Error) after ~2s". */
export function exitEvidence(t: Terminated): string {
  const ran = durationBetween(t.startedAt, t.finishedAt);
  const message = t.message?.trim() ? `; message: ${t.message.trim().split("\n")[0]}` : "";
  return `exited with ${exitPhrase(t)}${ran ? ` after ${ran}` : ""}${message}`;
}

/**
 * "in CrashLoopBackOff, next restart in ~25s (back-off 40s)" when the container waits to be
 * restarted (without the state's name when `withState` is false); the back-off counts from
 * the exit, as the kubelet's does.
 */
export function backOffNote(c: ContainerFacts, clock: Clock, withState = true): string | undefined {
  const waiting = waitingOf(c.status?.state);
  if (waiting?.reason !== "CrashLoopBackOff") return undefined;
  const delayText = /back-off (\S+) restarting/.exec(waiting.message ?? "")?.[1];
  const delay = delayText === undefined ? undefined : goDurationMs(delayText);
  const exit = terminatedOf(c.status?.lastState);
  const finished = exit ? Date.parse(exit.finishedAt) : NaN;
  const state = withState ? "in CrashLoopBackOff" : undefined;
  if (delay === undefined || Number.isNaN(finished)) return state;
  const remaining = finished + delay - clock.now;
  const next = remaining > 0 ? `next restart in ~${humanDuration(remaining)}` : "restart due now";
  return [state, `${next} (back-off ${delayText})`].filter((p) => p !== undefined).join(", ");
}

/** "last at 12:01:03 (3m ago)". */
export function lastAt(iso: string | undefined, clock: Clock): string {
  return iso === undefined ? "" : `last at ${clockTimeAgo(iso, clock)}`;
}
