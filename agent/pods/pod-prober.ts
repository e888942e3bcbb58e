// Probes of running containers, on the agent's one ProbeScheduler. Each container instance
// gets its own probe keys (its id is in them), so a restarted container starts with fresh
// counters and an old instance's late result can never touch the new one. The results the
// workers act on are kept here: started (startup passed), ready (readiness passed), and whether
// liveness or startup failed.
import type { ProbeScheduler, ProbeUpdate } from "../../probes/scheduler.js";
import type { ProbeInput, ProbeKind } from "../../probes/spec.js";
import type { Container, PortRef, Probe } from "../podspec/types.js";
import type { PodIdentity } from "./labels.js";
import type { ProbeResult } from "../../probes/outcome.js";
import { probeLabels, type ProbeLabels, type ProbeMetrics } from "./probe-metrics.js";

/** A named port's number from the container's ports; undefined when it names none. */
export function resolvePort(ref: PortRef, container: Pick<Container, "ports">): number | undefined {
  if (typeof ref === "number") return ref;
  return container.ports.find((p) => p.name === ref)?.containerPort;
}

/** The scheduler's shape of a pod spec's probe; undefined when a named port cannot be resolved. */
export function toProbeInput(probe: Probe, container: Pick<Container, "ports">): ProbeInput | undefined {
  const timing = {
    initialDelaySeconds: probe.initialDelaySeconds,
    timeoutSeconds: probe.timeoutSeconds,
    periodSeconds: probe.periodSeconds,
    successThreshold: probe.successThreshold,
    failureThreshold: probe.failureThreshold,
    ...(probe.terminationGracePeriodSeconds !== undefined && {
      terminationGracePeriodSeconds: probe.terminationGracePeriodSeconds,
    }),
  };
  const h = probe.handler;
  switch (h.type) {
    case "exec":
      return { exec: { command: [...h.command] }, ...timing };
    case "grpc":
      return { grpc: { port: h.port, ...(h.service !== undefined && { service: h.service }) }, ...timing };
    case "httpGet": {
      const port = resolvePort(h.port, container);
      if (port === undefined) return undefined;
      return {
        httpGet: {
          scheme: h.scheme,
          ...(h.host !== undefined && { host: h.host }),
          path: h.path,
          port,
          httpHeaders: h.httpHeaders.map((x) => ({ name: x.name, value: x.value })),
        },
        ...timing,
      };
    }
    case "tcpSocket": {
      const port = resolvePort(h.port, container);
      if (port === undefined) return undefined;
      return { tcpSocket: { ...(h.host !== undefined && { host: h.host }), port }, ...timing };
    }
  }
}

const PROBE_FIELDS: readonly [ProbeKind, "startupProbe" | "livenessProbe" | "readinessProbe"][] = [
  ["startup", "startupProbe"],
  ["liveness", "livenessProbe"],
  ["readiness", "readinessProbe"],
];

export interface ContainerProbeTarget {
  readonly pod: PodIdentity;
  readonly container: Container;
  readonly containerId: string;
  readonly podIP?: string;
  /** When the container started (ms since the epoch). */
  readonly startedAt: number;
}

export type ProbeUpdateListener = (target: ContainerProbeTarget, update: ProbeUpdate) => void;

interface ContainerProbes {
  readonly target: ContainerProbeTarget;
  readonly keys: string[];
  ready: boolean;
  started: boolean;
  livenessFailed: boolean;
  startupFailed: boolean;
  /** The metric labels of each probe kind and result, built on first use and reused every run. */
  readonly labels: Partial<Record<ProbeKind, Partial<Record<ProbeResult, ProbeLabels>>>>;
}

export class PodProber {
  private readonly containers = new Map<string, ContainerProbes>();

  constructor(
    private readonly scheduler: ProbeScheduler,
    private readonly metrics: ProbeMetrics,
  ) {}

  /**
   * Starts the probes of a running container instance; nothing happens if they run already.
   * Returns the names of probes that could not be registered (a named port that resolves to nothing).
   */
  ensure(target: ContainerProbeTarget, onUpdate: ProbeUpdateListener): ProbeKind[] {
    if (this.containers.has(target.containerId)) return [];
    const entry: ContainerProbes = {
      target,
      keys: [],
      ready: false,
      started: target.container.startupProbe === undefined,
      livenessFailed: false,
      startupFailed: false,
      labels: {},
    };
    this.containers.set(target.containerId, entry);
    const unresolved: ProbeKind[] = [];
    for (const [kind, field] of PROBE_FIELDS) {
      const probe = target.container[field];
      if (probe === undefined) continue;
      const input = toProbeInput(probe, target.container);
      if (input === undefined) {
        unresolved.push(kind);
        continue;
      }
      const key = `${target.containerId}/${kind}`;
      entry.keys.push(key);
      this.scheduler.add(
        key,
        input,
        kind,
        {
          containerId: target.containerId,
          startedAt: target.startedAt,
          ...(target.podIP && { podIP: target.podIP }),
        },
        (_key, update) => this.onResult(entry, update, onUpdate),
      );
    }
    return unresolved;
  }

  /** Stops the probes of a container instance (it exited, or is being killed). */
  remove(containerId: string): void {
    const entry = this.containers.get(containerId);
    if (!entry) return;
    for (const key of entry.keys) this.scheduler.remove(key);
    this.containers.delete(containerId);
  }

  /** Container ids with probes, for reconciling against what runs. */
  containerIds(podUid: string): string[] {
    return [...this.containers.values()]
      .filter((e) => e.target.pod.uid === podUid)
      .map((e) => e.target.containerId);
  }

  has(containerId: string): boolean {
    return this.containers.has(containerId);
  }

  ready(containerId: string): boolean {
    return this.containers.get(containerId)?.ready ?? false;
  }

  started(containerId: string): boolean {
    return this.containers.get(containerId)?.started ?? false;
  }

  livenessFailed(containerId: string): boolean {
    return this.containers.get(containerId)?.livenessFailed ?? false;
  }

  startupFailed(containerId: string): boolean {
    return this.containers.get(containerId)?.startupFailed ?? false;
  }

  private onResult(entry: ContainerProbes, update: ProbeUpdate, onUpdate: ProbeUpdateListener): void {
    this.metrics.observe(this.labels(entry, update.kind, update.outcome));
    // A result from an instance whose probes were removed meanwhile changes nothing.
    if (this.containers.get(entry.target.containerId) !== entry) return;
    // Most runs repeat the result the probe already has: the pod worker has nothing to do for
    // them (no state change, no event), so it is not called. Failures and unknown outcomes
    // still reach it every time, as each one is an event, and so does a passing run with a warning.
    if (!update.changed && update.outcome === "success" && !update.warning) return;
    if (update.kind === "readiness") entry.ready = update.result === "success";
    else if (update.kind === "startup") {
      entry.started = update.result === "success";
      entry.startupFailed = update.result === "failure";
    } else entry.livenessFailed = update.result === "failure";
    onUpdate(entry.target, update);
  }

  private labels(entry: ContainerProbes, kind: ProbeKind, outcome: ProbeResult): ProbeLabels {
    const byResult = (entry.labels[kind] ??= {});
    const { pod, container } = entry.target;
    return (byResult[outcome] ??= probeLabels(kind, outcome, {
      container: container.name,
      pod: pod.name,
      namespace: pod.namespace,
    }));
  }
}
