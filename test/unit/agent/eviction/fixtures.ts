// Pods, stats and time for the node services' tests: specs built through validatePod (so
// requests are parsed as in production), views as the pod manager shows them, a stats
// snapshot from a few numbers, and timers that move only when told.
import type { PodSource, PodStatusView } from "../../../../agent/pods/pod-manager-api.js";
import type { Timers } from "../../../../agent/pods/timers.js";
import { validatePod } from "../../../../agent/podspec/parse.js";
import { podQosClass } from "../../../../agent/podspec/qos.js";
import type { PodSpec } from "../../../../agent/podspec/types.js";
import type { CgroupStats } from "../../../../cgroups/stats.js";
import type { Clock } from "../../../../common/clock.js";
import type { ContainerSample, SandboxSample, StatsSnapshot } from "../../../../cri/stats/types.js";

export const Mi = 1024 * 1024;

export interface ContainerOptions {
  name?: string;
  requests?: Record<string, string>;
  limits?: Record<string, string>;
}

export interface PodOptions {
  containers?: ContainerOptions[];
  initContainers?: ContainerOptions[];
  priority?: number;
  priorityClassName?: string;
  terminationGracePeriodSeconds?: number;
}

function container(c: ContainerOptions, i: number): Record<string, unknown> {
  return {
    name: c.name ?? `c${i}`,
    image: "busybox:latest",
    resources: { ...(c.requests && { requests: c.requests }), ...(c.limits && { limits: c.limits }) },
  };
}

export function podSpec(name: string, options: PodOptions = {}): PodSpec {
  return validatePod(
    {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name, namespace: "default", uid: `uid-${name}` },
      spec: {
        containers: (options.containers ?? [{}]).map(container),
        ...(options.initContainers && { initContainers: options.initContainers.map(container) }),
        ...(options.priority !== undefined && { priority: options.priority }),
        ...(options.priorityClassName && { priorityClassName: options.priorityClassName }),
        ...(options.terminationGracePeriodSeconds !== undefined && {
          terminationGracePeriodSeconds: options.terminationGracePeriodSeconds,
        }),
      },
    },
    { generateUid: () => `uid-${name}` },
  );
}

export function podView(
  spec: PodSpec,
  source: PodSource = { kind: "api" },
  status: Partial<PodStatusView["status"]> = {},
): PodStatusView {
  return {
    metadata: {
      name: spec.metadata.name,
      namespace: spec.metadata.namespace,
      uid: spec.metadata.uid,
      labels: { ...spec.metadata.labels },
      annotations: { ...spec.metadata.annotations },
    },
    spec,
    source,
    status: {
      phase: "Running",
      conditions: [],
      podIPs: [],
      qosClass: podQosClass(spec),
      initContainerStatuses: [],
      containerStatuses: [],
      ...status,
    },
    terminating: false,
  };
}

export function pod(name: string, options: PodOptions = {}, source?: PodSource): PodStatusView {
  return podView(podSpec(name, options), source);
}

export function cgroupStats(memoryWorkingSetBytes: number, pids = 1, timestamp = 0): CgroupStats {
  return {
    timestamp,
    cpu: { usageNanos: 0, userNanos: 0, systemNanos: 0, periods: 0, throttledPeriods: 0, throttledNanos: 0 },
    memory: {
      usageBytes: memoryWorkingSetBytes,
      workingSetBytes: memoryWorkingSetBytes,
      rssBytes: memoryWorkingSetBytes,
      pageFaults: 0,
      majorPageFaults: 0,
      oomEvents: 0,
      oomKillEvents: 0,
    },
    pids: { current: pids },
  };
}

export interface ContainerUsageSpec {
  pod: string;
  name?: string;
  memory?: number;
  pids?: number;
  rootfs?: number;
  logs?: number;
  rootfsInodes?: number;
  logsInodes?: number;
}

/** A snapshot of running containers (pod uid "uid-<pod>"), with the node sampled at `nodeTimeMs`. */
export function snapshot(
  usages: ContainerUsageSpec[],
  nodeTimeMs = 0,
  sandboxes: { pod: string; memory: number; pids?: number }[] = [],
): StatsSnapshot {
  const containers = new Map<string, ContainerSample>();
  usages.forEach((u, i) => {
    const id = `ctr-${u.pod}-${u.name ?? "c0"}-${i}`;
    containers.set(id, {
      target: {
        id,
        sandboxId: `sb-${u.pod}`,
        pod: { name: u.pod, namespace: "default", uid: `uid-${u.pod}` },
        name: u.name ?? "c0",
        attempt: 0,
        image: "busybox",
        labels: {},
        annotations: {},
        running: true,
        cgroupPath: `/x/${id}`,
        logPath: "",
        createdAtNs: 0,
        startedAtNs: 0,
      },
      stats: cgroupStats(u.memory ?? 0, u.pids ?? 1, nodeTimeMs),
      ...(u.rootfs !== undefined && {
        writableLayer: { timestampMs: nodeTimeMs, usedBytes: u.rootfs, inodesUsed: u.rootfsInodes ?? 0 },
      }),
      ...(u.logs !== undefined && {
        logs: { timestampMs: nodeTimeMs, usedBytes: u.logs, inodesUsed: u.logsInodes ?? 0 },
      }),
    });
  });
  const sandboxSamples = new Map<string, SandboxSample>();
  for (const s of sandboxes) {
    sandboxSamples.set(`sb-${s.pod}`, {
      target: {
        id: `sb-${s.pod}`,
        name: s.pod,
        namespace: "default",
        uid: `uid-${s.pod}`,
        attempt: 0,
        labels: {},
        annotations: {},
        ready: true,
        cgroupPath: `/pods/${s.pod}`,
        ownNetwork: true,
        createdAtNs: 0,
      },
      stats: cgroupStats(s.memory, s.pids ?? 1, nodeTimeMs),
    });
  }
  return {
    containers,
    sandboxes: sandboxSamples,
    node: {
      timestampMs: nodeTimeMs,
      bootTimeMs: 0,
      cpuCores: 2,
      cpu: { usageNanos: 0 },
      memory: {
        totalBytes: 0,
        availableBytes: 0,
        usageBytes: 0,
        workingSetBytes: 0,
        rssBytes: 0,
        pageFaults: 0,
        majorPageFaults: 0,
      },
    },
    passSeconds: 0,
  };
}

/** A clock and timers that move only when the test says so. */
export class ManualTime implements Timers {
  now = Date.parse("2025-06-01T00:00:00Z");
  private next = 1;
  private readonly pending = new Map<number, { at: number; callback: () => void }>();

  readonly clock: Clock = {
    now: () => this.now,
    nowNanos: () => BigInt(this.now) * 1_000_000n,
  };

  setTimeout(callback: () => void, ms: number): unknown {
    const handle = this.next++;
    this.pending.set(handle, { at: this.now + ms, callback });
    return handle;
  }

  clearTimeout(handle: unknown): void {
    this.pending.delete(handle as number);
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  /** Moves time forward, firing every timer that falls due on the way, in order, letting promises settle after each. */
  async advance(ms: number): Promise<void> {
    const end = this.now + ms;
    for (;;) {
      const due = [...this.pending.entries()]
        .filter(([, t]) => t.at <= end)
        .sort(([, a], [, b]) => a.at - b.at)[0];
      if (!due) break;
      this.pending.delete(due[0]);
      this.now = Math.max(this.now, due[1].at);
      due[1].callback();
      await flush();
    }
    this.now = end;
    await flush();
  }
}

/** Lets queued promise callbacks run. */
export async function flush(rounds = 10): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((resolve) => setImmediate(resolve));
}
