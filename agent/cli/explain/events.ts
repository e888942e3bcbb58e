// Reading a pod's events for a diagnosis: which container each is about, which are probe
// failures, probe kills, OOM kills, throttling or back-offs, in time order and without the
// same occurrence twice. The kubelet layer's wording is matched here and only here.
import type { PodEvent } from "../../api/generated/berth.js";
import type { Evidence } from "./types.js";

export type ProbeKind = "Liveness" | "Readiness" | "Startup";

/** The container named by "spec.containers{web}" / "spec.initContainers{init}". */
export function containerOf(fieldPath: string): string | undefined {
  const m = /^spec\.(?:initContainers|containers|ephemeralContainers)\{(.+)\}$/.exec(fieldPath);
  return m?.[1];
}

function timeOf(e: Pick<PodEvent, "time">): number {
  const ms = Date.parse(e.time);
  return Number.isNaN(ms) ? 0 : ms;
}

/**
 * Oldest first, each occurrence once. The node folds repeats of one event into a count with
 * the time of the latest; when the same event arrives twice (a list and a replay, or two
 * snapshots of its count), only the latest snapshot is kept.
 */
export function normalizeEvents(events: readonly PodEvent[]): PodEvent[] {
  const latest = new Map<string, PodEvent>();
  for (const e of events) {
    const key = JSON.stringify([e.pod?.uid ?? "", e.type, e.reason, e.fieldPath, e.message]);
    const seen = latest.get(key);
    if (seen === undefined || e.count > seen.count || (e.count === seen.count && timeOf(e) > timeOf(seen)))
      latest.set(key, e);
  }
  return [...latest.values()].sort((a, b) => timeOf(a) - timeOf(b));
}

export function eventsOf(events: readonly PodEvent[], container: string): PodEvent[] {
  return events.filter((e) => containerOf(e.fieldPath) === container);
}

export interface ProbeFailure {
  kind: ProbeKind;
  /** The probe's output or error, trimmed; "" when it printed nothing (an exec probe exiting non-zero). */
  output: string;
  /** The probe could not run at all (unknown state), rather than failing. */
  errored: boolean;
}

/** An Unhealthy event's probe failure: "Liveness probe failed: ..." or "... errored and resulted in unknown state: ...". */
export function probeFailureOf(e: PodEvent): ProbeFailure | undefined {
  if (e.reason !== "Unhealthy") return undefined;
  const m =
    /^(Liveness|Readiness|Startup) probe (failed|errored and resulted in unknown state):?\s?([\s\S]*)$/.exec(
      e.message,
    );
  if (!m) return undefined;
  return { kind: m[1] as ProbeKind, output: (m[3] ?? "").trim(), errored: m[2] !== "failed" };
}

export function probeFailures(events: readonly PodEvent[], kind: ProbeKind): PodEvent[] {
  return events.filter((e) => probeFailureOf(e)?.kind === kind);
}

/** Killing events of a container killed for failing a probe: "Container web failed liveness probe, will be restarted". */
export function probeKills(events: readonly PodEvent[], kind: "liveness" | "startup"): PodEvent[] {
  return events.filter((e) => e.reason === "Killing" && e.message.includes(`failed ${kind} probe`));
}

export type OomEventKind = "container-killed" | "process-killed";

/**
 * An OOM event of a container: the main process killed (the container exited), or another
 * process killed while the main one kept running. The kubelet layer's reasons (OOMKilling,
 * or one naming a process kill) and the runtime's message wording both say which.
 */
export function oomEventKind(e: PodEvent): OomEventKind | undefined {
  if (!/oom/i.test(e.reason)) return undefined;
  const processKill =
    /process/i.test(e.reason) ||
    /main process is still running|kept running|processes? in the container/i.test(e.message);
  return processKill ? "process-killed" : "container-killed";
}

/** Memory figures an OOM event's message carries: "(memory limit 128.0 MiB, peak 128.0 MiB, usage at the kill 126.0 MiB)". */
export function oomFigures(message: string): { limit?: string; peak?: string; usage?: string } {
  const pick = (label: string): string | undefined =>
    new RegExp(`${label} (\\d+(?:\\.\\d+)? ?(?:[KMGT]i)?B)`).exec(message)?.[1];
  const limit = pick("limit");
  const peak = pick("peak");
  const usage = pick("usage at the kill");
  return { ...(limit && { limit }), ...(peak && { peak }), ...(usage && { usage }) };
}

export function isThrottlingEvent(e: PodEvent): boolean {
  return /throttl/i.test(e.reason);
}

/** "CPU throttled in 45% of CFS periods over the last 60 s ..." -> { percent: 45, window: "60 s" }. */
export function throttlingFigures(message: string): { percent?: number; window?: string } {
  const percent = /(\d+(?:\.\d+)?)\s?%/.exec(message)?.[1];
  const window = /over the last (\d+(?:\.\d+)? ?(?:s|m|min|seconds?|minutes?))\b/.exec(message)?.[1];
  return {
    ...(percent !== undefined && { percent: Number(percent) }),
    ...(window !== undefined && { window }),
  };
}

export function totalCount(events: readonly Pick<PodEvent, "count">[]): number {
  return events.reduce((sum, e) => sum + Math.max(1, e.count), 0);
}

export function lastOf<T extends Pick<PodEvent, "time">>(events: readonly T[]): T | undefined {
  let last: T | undefined;
  for (const e of events) if (last === undefined || timeOf(e) >= timeOf(last)) last = e;
  return last;
}

export function firstOf<T extends Pick<PodEvent, "time">>(events: readonly T[]): T | undefined {
  let first: T | undefined;
  for (const e of events) if (first === undefined || timeOf(e) < timeOf(first)) first = e;
  return first;
}

/** One evidence line per event: its message, with "(x3)" when it was seen three times. */
export function eventEvidence(events: readonly PodEvent[]): Evidence[] {
  return events.map((e) => ({
    time: e.time,
    text: `${e.reason}: ${e.message.trim() || "(no message)"}${e.count > 1 ? ` (x${e.count})` : ""}`,
  }));
}

/** The latest of some RFC 3339 times (undefined ones skipped). */
export function latestTime(...isos: (string | undefined)[]): string | undefined {
  let best: string | undefined;
  for (const iso of isos) {
    if (iso === undefined || Number.isNaN(Date.parse(iso))) continue;
    if (best === undefined || Date.parse(iso) > Date.parse(best)) best = iso;
  }
  return best;
}

/** The earliest of some RFC 3339 times (undefined ones skipped). */
export function earliestTime(...isos: (string | undefined)[]): string | undefined {
  let best: string | undefined;
  for (const iso of isos) {
    if (iso === undefined || Number.isNaN(Date.parse(iso))) continue;
    if (best === undefined || Date.parse(iso) < Date.parse(best)) best = iso;
  }
  return best;
}
