// Why a container stopped: killed for memory, killed by its liveness or startup probe, or
// exited by itself (a crash loop, a restart, a failed run or a failed init container).
// Each exit is told once: an exit the OOM killer or a probe explains is not also a crash.
import type { PodEvent } from "../../api/generated/berth.js";
import {
  earliestTime,
  eventEvidence,
  firstOf,
  lastOf,
  latestTime,
  oomEventKind,
  oomFigures,
  probeFailureOf,
  probeFailures,
  probeKills,
  totalCount,
} from "./events.js";
import {
  backOffNote,
  exitEvidence,
  exitPhrase,
  isRunning,
  lastAt,
  lastExit,
  terminatedOf,
  waitingOf,
  type ContainerFacts,
  type PodFacts,
  type Terminated,
} from "./facts.js";
import {
  binaryBytes,
  clockTime,
  clockTimeAgo,
  durationBetween,
  parseIecBytes,
  percentOf,
  quantityBytes,
  times,
  type Clock,
} from "./format.js";
import { probeCadence, probeOutcome, probeTarget } from "./probes.js";
import type { Evidence, Finding } from "./types.js";

/** How far around an exit a Killing event may lie and still be its cause (grace period, clock steps). */
const KILL_SLACK_MS = 5_000;
/** Evidence lines kept per finding: the latest ones. */
const MAX_EVIDENCE = 8;

export function restartFindings(facts: PodFacts): Finding[] {
  const findings: Finding[] = [];
  for (const c of facts.containers) {
    if (c.status === undefined) continue;
    findings.push(...oomFindings(c, facts.clock));
    if (c.role === "app") {
      const liveness = probeKillFinding(c, facts.clock, "liveness");
      if (liveness) findings.push(liveness);
      const startup = probeKillFinding(c, facts.clock, "startup");
      if (startup) findings.push(startup);
    }
    const exit = exitFinding(c, facts);
    if (exit) findings.push(exit);
    findings.push(...hookFindings(c, facts.clock));
  }
  return findings;
}

function severityOf(c: ContainerFacts): Finding["severity"] {
  return isRunning(c) && (c.role === "init" || c.status?.ready === true) ? "warning" : "critical";
}

function lastEvidence(evidence: Evidence[]): Evidence[] {
  const timed = [...evidence].sort((a, b) => Date.parse(a.time ?? "") - Date.parse(b.time ?? ""));
  return timed.slice(-MAX_EVIDENCE);
}

function memoryLimit(c: ContainerFacts): { bytes: number; text: string } | undefined {
  const text = c.spec.resources.limits.memory;
  const bytes = quantityBytes(text);
  if (text !== undefined && bytes !== undefined && bytes > 0) return { bytes, text };
  const runtime = c.usage?.memoryLimitBytes;
  return runtime !== undefined && runtime > 0 ? { bytes: runtime, text: binaryBytes(runtime) } : undefined;
}

/** "Memory limit 128Mi; usage at the kill was 126Mi (98%)." */
function memorySentence(c: ContainerFacts, figures: { peak?: string; usage?: string }): string {
  const limit = memoryLimit(c);
  if (limit === undefined)
    return "No memory limit is set on the container: the pod's or the node's memory ran out.";
  const parts = [`Memory limit ${limit.text}`];
  const usage = figures.usage !== undefined ? parseIecBytes(figures.usage) : undefined;
  const peak = figures.peak !== undefined ? parseIecBytes(figures.peak) : undefined;
  const ws = c.usage?.workingSetBytes;
  if (usage !== undefined)
    parts.push(`usage at the kill was ${binaryBytes(usage)} (${percentOf(usage, limit.bytes)}%)`);
  else if (peak !== undefined)
    parts.push(`peak usage was ${binaryBytes(peak)} (${percentOf(peak, limit.bytes)}%)`);
  if (ws !== undefined && isRunning(c))
    parts.push(`working set now ${binaryBytes(ws)} (${percentOf(ws, limit.bytes)}%)`);
  return `${parts.join("; ")}.`;
}

function oomFindings(c: ContainerFacts, clock: Clock): Finding[] {
  const findings: Finding[] = [];
  const status = c.status;
  if (status === undefined) return findings;
  const exits = [terminatedOf(status.state), terminatedOf(status.lastState)].filter(
    (t): t is Terminated => t !== undefined && t.reason === "OOMKilled",
  );
  const oomExits = exits.filter((t, i) => exits.findIndex((x) => x.containerID === t.containerID) === i);
  const killEvents = c.events.filter((e) => oomEventKind(e) === "container-killed");
  if (oomExits.length > 0 || killEvents.length > 0) {
    const count = Math.max(totalCount(killEvents), oomExits.length);
    const lastTime = latestTime(lastOf(killEvents)?.time, ...oomExits.map((t) => t.finishedAt));
    const firstTime = earliestTime(firstOf(killEvents)?.time, ...oomExits.map((t) => t.finishedAt));
    const code = oomExits[0] !== undefined ? ` (exit ${oomExits[0].exitCode})` : "";
    const latest = lastOf(killEvents);
    const backOff = backOffNote(c, clock);
    const what = c.role === "init" ? "init container" : "container";
    findings.push({
      kind: "oom-killed",
      severity: severityOf(c),
      container: c.name,
      headline:
        `${what} ${c.name} was OOM-killed ${times(count)}; ${lastAt(lastTime, clock)}${code}. ` +
        memorySentence(c, latest ? oomFigures(latest.message) : {}) +
        (backOff ? ` Now ${backOff}.` : ""),
      ...(firstTime && { firstTime }),
      ...(lastTime && { lastTime }),
      count,
      evidence: lastEvidence([
        ...eventEvidence(killEvents),
        ...oomExits.map((t) => ({ time: t.finishedAt, text: exitEvidence(t) })),
      ]),
    });
  }
  const processKills = c.events.filter((e) => oomEventKind(e) === "process-killed");
  if (processKills.length > 0) {
    const count = totalCount(processKills);
    const latest = lastOf(processKills);
    const first = firstOf(processKills);
    findings.push({
      kind: "process-oom-killed",
      severity: "warning",
      container: c.name,
      headline:
        `a process inside container ${c.name} was OOM-killed ${times(count)} while the container kept running; ` +
        `${lastAt(latest?.time, clock)}. ${memorySentence(c, latest ? oomFigures(latest.message) : {})}`,
      ...(first && { firstTime: first.time }),
      ...(latest && { lastTime: latest.time }),
      count,
      evidence: lastEvidence(eventEvidence(processKills)),
    });
  }
  return findings;
}

/** "failures at 12:00:01, 12:00:11, 12:00:21" when each was seen once, else "12 failures, last at 12:00:21". */
function failureTimes(failures: readonly PodEvent[], clock: Clock): string {
  const total = totalCount(failures);
  if (failures.length > 0 && failures.length <= 5 && failures.every((e) => e.count <= 1)) {
    const label = total === 1 ? "1 failure at" : `${total} failures at`;
    return `${label} ${failures.map((e) => clockTime(e.time, clock)).join(", ")}`;
  }
  return `${total} failures, last at ${clockTime(lastOf(failures)?.time ?? "", clock)}`;
}

function probeKillFinding(
  c: ContainerFacts,
  clock: Clock,
  kind: "liveness" | "startup",
): Finding | undefined {
  const probe = kind === "liveness" ? c.spec.livenessProbe : c.spec.startupProbe;
  const kills = probeKills(c.events, kind);
  const failures = probeFailures(c.events, kind === "liveness" ? "Liveness" : "Startup");
  const startedAt = Date.parse(
    c.status && "running" in c.status.state ? c.status.state.running.startedAt : "",
  );
  // Failures of the instance running now, without a kill yet, are a warning of one to come.
  const currentFailures = failures.filter((e) => Number.isNaN(startedAt) || Date.parse(e.time) >= startedAt);
  if (kills.length === 0 && currentFailures.length === 0) return undefined;
  // A startup probe that has not passed yet keeps the container unready: the readiness
  // analysis tells that one.
  if (kills.length === 0 && kind === "startup") return undefined;
  const latestFailure = lastOf(failures);
  const failure = latestFailure ? probeFailureOf(latestFailure) : undefined;
  const target = probe ? `${probeTarget(probe)} ` : "";
  const outcome = failure ? probeOutcome(failure.output, probe) : "failed";
  const cadence = probe ? `; ${probeCadence(probe, "restart")}` : "";
  const all = [...failures, ...kills];
  const firstTime = firstOf(all)?.time;
  const lastTime = lastOf(all)?.time;
  const evidence = lastEvidence(eventEvidence(all));
  const verb = kind === "liveness" ? "failed" : "did not pass";
  if (kills.length === 0) {
    return {
      kind: kind === "liveness" ? "liveness-failed" : "startup-failed",
      severity: "warning",
      container: c.name,
      headline:
        `${kind} probe of ${c.name} failing: ${target}${outcome} (${failureTimes(currentFailures, clock)}${cadence}); ` +
        `not restarted yet`,
      ...(firstTime && { firstTime }),
      ...(lastTime && { lastTime }),
      count: totalCount(currentFailures),
      evidence,
    };
  }
  const killCount = totalCount(kills);
  const backOff = backOffNote(c, clock);
  const details = failures.length > 0 ? ` (${failureTimes(failures, clock)}${cadence})` : "";
  return {
    kind: kind === "liveness" ? "liveness-failed" : "startup-failed",
    severity: severityOf(c),
    container: c.name,
    headline:
      `container ${c.name} restarted ${times(killCount)} because its ${kind} probe ${verb}: ${target}${outcome}${details}` +
      `; last killed at ${clockTimeAgo(lastOf(kills)?.time ?? "", clock)}${backOff ? `; now ${backOff}` : ""}`,
    ...(firstTime && { firstTime }),
    ...(lastTime && { lastTime }),
    count: killCount,
    evidence,
  };
}

/**
 * Whether a Killing event (a probe kill, a spec change, a deletion) caused this exit: one
 * seen while the instance ran, up to the grace period it was given before its end.
 */
function killedByAgent(c: ContainerFacts, exit: Terminated, pod: PodFacts["pod"]): boolean {
  const started = Date.parse(exit.startedAt);
  const finished = Date.parse(exit.finishedAt);
  if (Number.isNaN(finished)) return false;
  const graceSeconds = Math.max(
    pod.spec.terminationGracePeriodSeconds,
    c.spec.livenessProbe?.terminationGracePeriodSeconds ?? 0,
    c.spec.startupProbe?.terminationGracePeriodSeconds ?? 0,
  );
  const earliest = finished - graceSeconds * 1000 - KILL_SLACK_MS;
  return c.events.some((e) => {
    if (e.reason !== "Killing") return false;
    const at = Date.parse(e.time);
    return (
      at >= earliest &&
      (Number.isNaN(started) || at >= started - KILL_SLACK_MS) &&
      at <= finished + KILL_SLACK_MS
    );
  });
}

const START_FAILURES = new Set([
  "StartError",
  "ContainerCannotRun",
  "CreateContainerError",
  "RunContainerError",
]);

/** "exits with code 1 (Error) after ~2s", or "cannot start (StartError: ...)". */
function howItEnds(exit: Terminated): string {
  if (START_FAILURES.has(exit.reason)) {
    const message = exit.message?.trim().split("\n")[0];
    return `cannot start (${exit.reason}${message ? `: ${message}` : ""})`;
  }
  const ran = durationBetween(exit.startedAt, exit.finishedAt);
  return `exits with ${exitPhrase(exit)}${ran ? ` after ${ran}` : ""}`;
}

function exitFinding(c: ContainerFacts, facts: PodFacts): Finding | undefined {
  const status = c.status;
  const exit = lastExit(c);
  if (status === undefined || exit === undefined) return undefined;
  if (exit.reason === "OOMKilled" || killedByAgent(c, exit, facts.pod)) return undefined;
  const clock = facts.clock;
  const waiting = waitingOf(status.state);
  const crashLoop = waiting?.reason === "CrashLoopBackOff";
  const stillTerminated = terminatedOf(status.state) !== undefined;
  const failed = exit.exitCode !== 0 || START_FAILURES.has(exit.reason);
  const backOff = backOffNote(c, clock);
  const nextRestart = backOffNote(c, clock, false);
  const evidence = lastEvidence([
    ...eventEvidence(c.events.filter((e) => e.reason === "BackOff" || e.reason === "Failed")),
    { time: exit.finishedAt, text: exitEvidence(exit) },
  ]);
  const base = {
    container: c.name,
    lastTime: exit.finishedAt,
    count: Math.max(1, status.restartCount),
    evidence,
    ...(c.logTail && { logTail: c.logTail }),
  };
  const restarts = status.restartCount > 0 ? `; restarted ${times(status.restartCount)}` : "";

  if (c.role === "init") {
    if (!failed) return undefined;
    const initialized = facts.pod.status.conditions.some(
      (x) => x.type === "Initialized" && x.status === "True",
    );
    return {
      kind: "init-failed",
      severity: initialized ? "warning" : "critical",
      headline:
        `init container ${c.name} failed: ${howItEnds(exit)}; ${lastAt(exit.finishedAt, clock)}${restarts}` +
        `${backOff ? `; ${backOff}` : ""}${initialized ? "" : "; the app containers wait for it"}`,
      ...base,
    };
  }
  if (crashLoop) {
    return {
      kind: "crash-loop",
      severity: "critical",
      headline:
        `CrashLoopBackOff: container ${c.name} ${howItEnds(exit)}; ${lastAt(exit.finishedAt, clock)}${restarts}` +
        (nextRestart ? `; ${nextRestart}` : ""),
      ...base,
    };
  }
  if (stillTerminated) {
    if (!failed) return undefined;
    return {
      kind: "container-failed",
      severity: "critical",
      headline:
        `container ${c.name} failed: ${howItEnds(exit)} at ${clockTimeAgo(exit.finishedAt, clock)}; ` +
        `restartPolicy ${facts.pod.spec.restartPolicy}, it is not restarted`,
      ...base,
    };
  }
  if (status.restartCount === 0) return undefined;
  return {
    kind: "restarted",
    severity: "warning",
    headline: `container ${c.name} restarted ${times(status.restartCount)}; the last run ${howItEnds(exit)}, ${lastAt(exit.finishedAt, clock)}`,
    ...base,
  };
}

const HOOK_REASONS: Readonly<Record<string, string>> = {
  FailedPostStartHook: "postStart",
  FailedPreStopHook: "preStop",
};

function hookFindings(c: ContainerFacts, clock: Clock): Finding[] {
  const findings: Finding[] = [];
  for (const [reason, hook] of Object.entries(HOOK_REASONS)) {
    const events = c.events.filter((e) => e.reason === reason);
    const latest = lastOf(events);
    if (latest === undefined) continue;
    const first = firstOf(events);
    const count = totalCount(events);
    findings.push({
      kind: "hook-failed",
      severity: "warning",
      container: c.name,
      headline: `${hook} hook of ${c.name} failed ${times(count)}; ${lastAt(latest.time, clock)}: ${latest.message.trim()}`,
      ...(first && { firstTime: first.time }),
      lastTime: latest.time,
      count,
      evidence: lastEvidence(eventEvidence(events)),
    });
  }
  return findings;
}
