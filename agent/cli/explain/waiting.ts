// Why a pod is not up yet or not serving: an image that cannot be pulled, a container that
// cannot be created, a sandbox or volume that fails, an init container still running, or a
// running container that is not Ready (its readiness or startup probe).
import type { PodEvent } from "../../api/generated/berth.js";
import {
  eventEvidence,
  firstOf,
  lastOf,
  latestTime,
  probeFailureOf,
  probeFailures,
  totalCount,
} from "./events.js";
import { lastAt, waitingOf, type ContainerFacts, type PodFacts } from "./facts.js";
import { clockTime, clockTimeAgo, times } from "./format.js";
import { probeCadence, probeOutcome, probeTarget } from "./probes.js";
import type { Finding } from "./types.js";

const IMAGE_REASONS = new Set([
  "ErrImagePull",
  "ImagePullBackOff",
  "ErrImageNeverPull",
  "InvalidImageName",
  "RegistryUnavailable",
]);
const CANNOT_START_REASONS = new Set([
  "CreateContainerConfigError",
  "CreateContainerError",
  "RunContainerError",
  "PreStartHookError",
  "PostStartHookError",
]);
/** Waiting reasons that only say the container's turn has not come. */
const NOT_YET_REASONS = new Set(["ContainerCreating", "PodInitializing"]);

const MAX_EVIDENCE = 8;

function evidenceOf(events: readonly PodEvent[]): Finding["evidence"] {
  return eventEvidence(events).slice(-MAX_EVIDENCE);
}

function timesOf(events: readonly PodEvent[]): Pick<Finding, "firstTime" | "lastTime"> {
  const first = firstOf(events)?.time;
  const last = lastOf(events)?.time;
  return { ...(first && { firstTime: first }), ...(last && { lastTime: last }) };
}

/** `explained`: other findings already tell why the pod is stuck, so "waiting for" is not repeated. */
export function waitingFindings(facts: PodFacts, explained: boolean): Finding[] {
  const findings: Finding[] = [];
  for (const c of facts.containers) {
    const waiting = waitingOf(c.status?.state);
    if (waiting === undefined) continue;
    const what = c.role === "init" ? "init container" : "container";
    if (IMAGE_REASONS.has(waiting.reason)) {
      const events = c.events.filter(
        (e) =>
          (e.reason === "Failed" && /image/i.test(e.message)) ||
          (e.reason === "BackOff" && /image/i.test(e.message)) ||
          IMAGE_REASONS.has(e.reason),
      );
      const pulls = events.filter((e) => e.reason === "Failed" && /Failed to pull image/.test(e.message));
      const message = waiting.message?.trim();
      findings.push({
        kind: "image-pull",
        severity: "critical",
        container: c.name,
        headline:
          `image pull failing: ${waiting.reason} for ${what} ${c.name} (${c.spec.image})` +
          `${message ? `: ${message}` : ""}${pulls.length > 0 ? `; ${times(totalCount(pulls))} tried, ${lastAt(lastOf(pulls)?.time, facts.clock)}` : ""}`,
        ...timesOf(events),
        count: Math.max(1, totalCount(pulls)),
        evidence: evidenceOf(events),
      });
    } else if (CANNOT_START_REASONS.has(waiting.reason)) {
      const events = c.events.filter((e) => e.reason === "Failed");
      const message = waiting.message?.trim();
      findings.push({
        kind: "cannot-start",
        severity: "critical",
        container: c.name,
        headline: `${what} ${c.name} cannot start: ${waiting.reason}${message ? `: ${message}` : ""}`,
        ...timesOf(events),
        count: Math.max(1, totalCount(events)),
        evidence: evidenceOf(events),
      });
    }
  }
  if (facts.pod.status.phase === "Pending")
    findings.push(...pendingFindings(facts, explained || findings.length > 0));
  findings.push(...notReadyFindings(facts));
  return findings;
}

/** Pod-level reasons a pending pod is stuck (sandbox, volumes), else what it waits for. */
function pendingFindings(facts: PodFacts, explained: boolean): Finding[] {
  const findings: Finding[] = [];
  const clock = facts.clock;
  const podEvents = facts.events.filter((e) => e.fieldPath === "");
  for (const [reason, what] of [
    ["FailedCreatePodSandBox", "the pod sandbox cannot be created"],
    ["FailedMount", "volumes cannot be set up"],
  ] as const) {
    const events = podEvents.filter((e) => e.reason === reason);
    const latest = lastOf(events);
    if (latest === undefined) continue;
    findings.push({
      kind: "pending",
      severity: "critical",
      headline: `pending: ${what}: ${latest.message.trim()} (${times(totalCount(events))}, ${lastAt(latest.time, clock)})`,
      ...timesOf(events),
      count: totalCount(events),
      evidence: evidenceOf(events),
    });
  }
  if (findings.length > 0 || explained) return findings;

  const initRunning = facts.containers.find(
    (c) => c.role === "init" && c.status && "running" in c.status.state,
  );
  if (initRunning?.status && "running" in initRunning.status.state) {
    const since = initRunning.status.state.running.startedAt;
    findings.push({
      kind: "pending",
      severity: "warning",
      container: initRunning.name,
      headline: `pending: waiting for init container ${initRunning.name} to finish (running since ${clockTimeAgo(since, clock)})`,
      firstTime: since,
      count: 1,
      evidence: [],
    });
    return findings;
  }
  const notYet = facts.containers.filter((c) => {
    const w = waitingOf(c.status?.state);
    return c.status === undefined || (w !== undefined && NOT_YET_REASONS.has(w.reason));
  });
  if (notYet.length > 0) {
    const names = notYet.map((c) => `${c.name} (${waitingOf(c.status?.state)?.reason ?? "no status yet"})`);
    const since = facts.pod.status.startTime;
    const latest = lastOf(facts.events);
    findings.push({
      kind: "pending",
      severity: "warning",
      headline:
        `pending: waiting for ${names.join(", ")}` +
        `${since ? ` since ${clockTimeAgo(since, clock)}` : ""}` +
        `${latest ? `; latest event: ${latest.reason}: ${latest.message.trim()}` : ""}`,
      ...(since && { firstTime: since }),
      count: 1,
      evidence: evidenceOf(facts.events.slice(-3)),
    });
  }
  return findings;
}

/** When the pod (or its containers) last turned unready, from its conditions. */
function unreadySince(facts: PodFacts): string | undefined {
  const conditions = facts.pod.status.conditions.filter(
    (c) => (c.type === "Ready" || c.type === "ContainersReady") && c.status !== "True",
  );
  return latestTime(...conditions.map((c) => c.lastTransitionTime));
}

function notReadyFindings(facts: PodFacts): Finding[] {
  const findings: Finding[] = [];
  for (const c of facts.containers) {
    if (c.role !== "app" || c.status === undefined || c.status.ready) continue;
    if (!("running" in c.status.state)) continue;
    const startedAt = c.status.state.running.startedAt;
    findings.push(notReadyFinding(c, startedAt, facts));
  }
  return findings;
}

function notReadyFinding(c: ContainerFacts, startedAt: string, facts: PodFacts): Finding {
  const clock = facts.clock;
  const current = (events: PodEvent[]): PodEvent[] =>
    events.filter((e) => Date.parse(e.time) >= Date.parse(startedAt));
  const probe = !c.status?.started && c.spec.startupProbe ? c.spec.startupProbe : c.spec.readinessProbe;
  const kind = probe === undefined ? undefined : probe === c.spec.startupProbe ? "startup" : "readiness";
  if (probe === undefined || kind === undefined) {
    return {
      kind: "not-ready",
      severity: "critical",
      container: c.name,
      headline: `pod is not Ready: container ${c.name} runs (since ${clockTimeAgo(startedAt, clock)}) but is not ready`,
      count: 1,
      evidence: [],
    };
  }
  const failures = current(probeFailures(c.events, kind === "startup" ? "Startup" : "Readiness"));
  const latest = lastOf(failures);
  const target = probeTarget(probe);
  const cadence = probeCadence(probe, kind === "startup" ? "restart" : "unready");
  if (latest === undefined) {
    return {
      kind: "not-ready",
      severity: "critical",
      container: c.name,
      headline:
        `pod is not Ready: ${kind} probe of ${c.name} (${target}) has not passed yet; ` +
        `container started ${clockTimeAgo(startedAt, clock)}, initial delay ${probe.initialDelaySeconds}s, ${cadence}`,
      firstTime: startedAt,
      count: 1,
      evidence: [],
    };
  }
  const failure = probeFailureOf(latest);
  const outcome = probeOutcome(failure?.output ?? "", probe);
  const since = latestTime(unreadySince(facts), startedAt) ?? firstOf(failures)?.time ?? latest.time;
  return {
    kind: "not-ready",
    severity: "critical",
    container: c.name,
    headline:
      `pod is not Ready: ${kind} probe of ${c.name} failing since ${clockTime(since, clock)}: ${target} ${outcome} ` +
      `(${times(totalCount(failures))}, ${lastAt(latest.time, clock)}; ${cadence})`,
    firstTime: since,
    lastTime: latest.time,
    count: totalCount(failures),
    evidence: evidenceOf(failures),
  };
}
