// `berth explain`'s diagnosis: from a pod's status, events, stats and log tails to a list of
// problems, newest first, each with its evidence. Pure: same input, same findings.
import { podFacts, type PodFacts } from "./facts.js";
import { podLevelFindings } from "./pod-level.js";
import { resourceFindings } from "./resources.js";
import { restartFindings } from "./restarts.js";
import type { ExplainInput, Explanation, Finding } from "./types.js";
import { waitingFindings } from "./waiting.js";

export function explainPod(input: ExplainInput): Explanation {
  const facts = podFacts(input);
  const restarts = restartFindings(facts);
  const oomContainers = new Set(
    restarts
      .filter((f) => f.kind === "oom-killed" && f.container !== undefined)
      .map((f) => f.container as string),
  );
  const podLevel = podLevelFindings(facts);
  const explained = [...podLevel, ...restarts].some((f) => f.severity === "critical");
  const findings = orderFindings(
    [
      ...podLevel,
      ...restarts,
      ...waitingFindings(facts, explained),
      ...resourceFindings(facts, oomContainers),
    ],
    input.now,
  );
  const { metadata, status } = input.pod;
  return {
    pod: { namespace: metadata.namespace, name: metadata.name, uid: metadata.uid },
    phase: status.phase,
    healthy: findings.length === 0,
    summary: findings.length === 0 ? healthySummary(facts) : problemSummary(findings),
    findings,
  };
}

/**
 * Newest first. A finding without a time is a state that holds now, so it counts as the
 * newest; at equal times the critical ones come first, then the order they were found in.
 */
export function orderFindings(findings: readonly Finding[], now: number): Finding[] {
  const when = (f: Finding): number => {
    const ms = f.lastTime === undefined ? NaN : Date.parse(f.lastTime);
    return Number.isNaN(ms) ? now : ms;
  };
  return findings
    .map((f, i) => ({ f, i }))
    .sort(
      (a, b) =>
        when(b.f) - when(a.f) ||
        Number(b.f.severity === "critical") - Number(a.f.severity === "critical") ||
        a.i - b.i,
    )
    .map(({ f }) => f);
}

function healthySummary(facts: PodFacts): string {
  const { status } = facts.pod;
  const apps = facts.containers.filter((c) => c.role === "app");
  const restarts = apps.reduce((sum, c) => sum + (c.status?.restartCount ?? 0), 0);
  if (status.phase === "Succeeded") return "no problems found: the pod completed, every container exited 0";
  return `no problems found: all containers running and ready, ${restarts} ${restarts === 1 ? "restart" : "restarts"}`;
}

function problemSummary(findings: readonly Finding[]): string {
  const critical = findings.filter((f) => f.severity === "critical").length;
  const warnings = findings.length - critical;
  const parts = [
    ...(critical > 0 ? [`${critical} critical`] : []),
    ...(warnings > 0 ? [`${warnings} ${warnings === 1 ? "warning" : "warnings"}`] : []),
  ];
  return `${findings.length} ${findings.length === 1 ? "problem" : "problems"} found (${parts.join(", ")})`;
}
