// Resource trouble that has not (yet) killed anything: CPU throttling reported by the node or
// seen in the stats, CPU use at the limit, and a working set close to the memory limit.
import {
  eventEvidence,
  firstOf,
  isThrottlingEvent,
  lastOf,
  throttlingFigures,
  totalCount,
} from "./events.js";
import { isRunning, lastAt, type ContainerFacts, type PodFacts } from "./facts.js";
import { binaryBytes, milliCpu, percentOf, quantityBytes, quantityMilli, times } from "./format.js";
import type { Finding } from "./types.js";

/** A share of throttled periods worth telling (the kubelet's CPUThrottlingHigh uses 25%). */
const THROTTLED_SHARE = 0.25;
/** Use of a limit worth telling. */
const NEAR_LIMIT = 0.9;

export function resourceFindings(facts: PodFacts, alreadyOom: ReadonlySet<string>): Finding[] {
  const findings: Finding[] = [];
  for (const c of facts.containers) {
    const throttled = throttlingFinding(c, facts);
    if (throttled) findings.push(throttled);
    else {
      const cpu = cpuNearLimit(c);
      if (cpu) findings.push(cpu);
    }
    if (!alreadyOom.has(c.name)) {
      const memory = memoryNearLimit(c);
      if (memory) findings.push(memory);
    }
  }
  return findings;
}

function cpuLimitText(c: ContainerFacts): string {
  return c.spec.resources.limits.cpu !== undefined ? `limit ${c.spec.resources.limits.cpu}` : "no CPU limit";
}

function throttlingFinding(c: ContainerFacts, facts: PodFacts): Finding | undefined {
  const events = c.events.filter(isThrottlingEvent);
  const latest = lastOf(events);
  if (latest !== undefined) {
    const { percent, window } = throttlingFigures(latest.message);
    const share = percent !== undefined ? `${Math.round(percent)}% of periods` : "";
    const over = window !== undefined ? ` over the last ${window}` : "";
    const count = totalCount(events);
    const first = firstOf(events);
    return {
      kind: "cpu-throttled",
      severity: "warning",
      container: c.name,
      headline:
        `container ${c.name} CPU throttled${share ? ` ${share}` : ""}${over} (${cpuLimitText(c)}); ` +
        `${count > 1 ? `reported ${times(count)}, ` : ""}${lastAt(latest.time, facts.clock)}`,
      ...(first && { firstTime: first.time }),
      lastTime: latest.time,
      count,
      evidence: eventEvidence(events).slice(-5),
    };
  }
  const t = c.usage?.throttling;
  if (t === undefined || t.periods <= 0 || t.throttledPeriods / t.periods < THROTTLED_SHARE) return undefined;
  const window = t.windowSeconds !== undefined ? ` over the last ${Math.round(t.windowSeconds)}s` : "";
  const sampledAt = c.usage?.sampledAt;
  return {
    kind: "cpu-throttled",
    severity: "warning",
    container: c.name,
    headline:
      `container ${c.name} CPU throttled ${percentOf(t.throttledPeriods, t.periods)}% of periods${window} ` +
      `(${cpuLimitText(c)})`,
    ...(sampledAt !== undefined && { lastTime: new Date(sampledAt).toISOString() }),
    count: 1,
    evidence: [{ text: `${t.throttledPeriods} of ${t.periods} CFS periods throttled` }],
  };
}

function cpuNearLimit(c: ContainerFacts): Finding | undefined {
  const limit = quantityMilli(c.spec.resources.limits.cpu);
  const used = c.usage?.cpuNanoCores;
  if (!isRunning(c) || limit === undefined || limit <= 0 || used === undefined) return undefined;
  if (used / 1e6 < limit * NEAR_LIMIT) return undefined;
  return {
    kind: "cpu-near-limit",
    severity: "warning",
    container: c.name,
    headline:
      `container ${c.name} uses ${milliCpu(used)} CPU, ${percentOf(used / 1e6, limit)}% of its ` +
      `${c.spec.resources.limits.cpu} limit: it is held back at the limit (throttled)`,
    ...(c.usage?.sampledAt !== undefined && { lastTime: new Date(c.usage.sampledAt).toISOString() }),
    count: 1,
    evidence: [],
  };
}

function memoryNearLimit(c: ContainerFacts): Finding | undefined {
  const ws = c.usage?.workingSetBytes;
  const specLimit = quantityBytes(c.spec.resources.limits.memory);
  const limit = specLimit !== undefined && specLimit > 0 ? specLimit : c.usage?.memoryLimitBytes;
  if (!isRunning(c) || ws === undefined || limit === undefined || limit <= 0) return undefined;
  if (ws < limit * NEAR_LIMIT) return undefined;
  const limitText = c.spec.resources.limits.memory ?? binaryBytes(limit);
  return {
    kind: "memory-near-limit",
    severity: "warning",
    container: c.name,
    headline:
      `container ${c.name} working set ${binaryBytes(ws)} is ${percentOf(ws, limit)}% of its ${limitText} ` +
      `memory limit: close to an OOM kill`,
    ...(c.usage?.sampledAt !== undefined && { lastTime: new Date(c.usage.sampledAt).toISOString() }),
    count: 1,
    evidence: [],
  };
}
