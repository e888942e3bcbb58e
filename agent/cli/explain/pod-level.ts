// What happened to the pod as a whole: evicted by the node under pressure (read back from the
// eviction message, which names the resource, the threshold, what was left and what each
// container used), or refused at admission, or failed for a reason of its own.
import { eventEvidence, firstOf, lastOf } from "./events.js";
import type { PodFacts } from "./facts.js";
import { clockTime } from "./format.js";
import type { Finding } from "./types.js";

/** The signal people know for a resource the eviction message names. */
const SIGNAL_OF: Readonly<Record<string, string>> = {
  memory: "memory.available",
  "ephemeral-storage": "ephemeral-storage available",
  inodes: "inodes free",
  pids: "pid.available",
};

/** "node was low on memory (memory.available 80Mi < 100Mi); container hog used 300Mi over its request of 0". */
export function describeEviction(message: string): string | undefined {
  const admission = /The node had condition: \[([^\]]*)\]/.exec(message);
  if (admission) return `refused: the node had condition ${admission[1]}`;
  const resource = /low on resource: ([\w.-]+)\./.exec(message)?.[1];
  if (resource === undefined) return undefined;
  const parts: string[] = [];
  const threshold = /Threshold quantity: (\S+), available: (\S+?)\.?(?:\s|$)/.exec(message);
  const stalled = /stalled on memory (\S+) of the time.*?threshold: (\S+?)\.?(?:\s|$)/.exec(message);
  if (threshold) {
    parts.push(
      `node was low on ${resource} (${SIGNAL_OF[resource] ?? resource} ${threshold[2]} < ${threshold[1]})`,
    );
  } else if (stalled) {
    parts.push(`node was low on memory (pods stalled on memory ${stalled[1]} of the time > ${stalled[2]})`);
  } else {
    parts.push(`node was low on ${resource}`);
  }
  for (const m of message.matchAll(/Container (\S+) was using (\S+), request is (\S+?)\.?(?:\s|$)/g)) {
    parts.push(`container ${m[1]} used ${m[2]} over its request of ${m[3]}`);
  }
  return parts.join("; ");
}

export function podLevelFindings(facts: PodFacts): Finding[] {
  const { status } = facts.pod;
  const evictions = facts.events.filter((e) => e.reason === "Evicted");
  const latest = lastOf(evictions);
  if (status.reason === "Evicted" || latest !== undefined) {
    const message = status.message ?? latest?.message ?? "";
    const at = latest ? ` at ${clockTime(latest.time, facts.clock)}` : "";
    const why = describeEviction(message) ?? (message.trim() || "no reason recorded");
    const first = firstOf(evictions);
    return [
      {
        kind: "evicted",
        severity: "critical",
        headline: `evicted${at}: ${why}`,
        ...(first && { firstTime: first.time }),
        ...(latest && { lastTime: latest.time }),
        count: 1,
        evidence: [
          ...eventEvidence(evictions),
          ...(status.message && !latest ? [{ text: `status message: ${status.message}` }] : []),
        ],
      },
    ];
  }
  if (status.phase === "Failed" && status.reason) {
    return [
      {
        kind: "pod-failed",
        severity: "critical",
        headline: `pod failed: ${status.reason}${status.message ? `: ${status.message}` : ""}`,
        count: 1,
        evidence: [],
      },
    ];
  }
  return [];
}
