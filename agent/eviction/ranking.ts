// Which pod goes first: the kubelet's rankings, as pure functions over pods and their usage.
//   memory: pods using more than they request first, then lower priority first, then by how
//           far their working set exceeds their request (largest first);
//   disk:   the same with ephemeral usage (writable layers and logs) against ephemeral-storage
//           requests, or inodes (for which nothing can be requested);
//   pids:   lower priority first, then most processes first.
// A pod without stats ranks first at each step that needs them, as in the kubelet: what cannot
// be measured cannot be trusted to be small. BestEffort pods request nothing, so any usage
// exceeds their requests and they come first without a rule of their own.
import type { StatsSnapshot } from "../../cri/stats/types.js";
import type { PodStatusView } from "../pods/pod-manager-api.js";
import { quantityToBytes } from "../podspec/quantity.js";
import type { PodSpec, ResourceList } from "../podspec/types.js";

export interface ContainerUsage {
  readonly name: string;
  readonly memoryWorkingSetBytes?: number;
  /** The writable layer. */
  readonly rootfsBytes?: number;
  readonly rootfsInodes?: number;
  readonly logsBytes?: number;
  readonly logsInodes?: number;
}

export interface PodUsage {
  readonly memoryWorkingSetBytes: number;
  readonly processes: number;
  readonly containers: readonly ContainerUsage[];
}

export type PodUsageFn = (pod: PodStatusView) => PodUsage | undefined;

/** What a disk signal measures of a pod: which parts, and bytes or inodes. */
export interface DiskMeasure {
  readonly parts: readonly ("rootfs" | "logs")[];
  readonly unit: "bytes" | "inodes";
}

/** Pod usage from the stats cache: the pod cgroup's sample where there is one, else its containers summed. */
export function podUsageFromSnapshot(snapshot: StatsSnapshot): PodUsageFn {
  const containersByPod = new Map<string, ContainerUsage[]>();
  const sums = new Map<string, { memory: number; processes: number }>();
  for (const sample of snapshot.containers.values()) {
    const uid = sample.target.pod.uid;
    const list = containersByPod.get(uid) ?? [];
    list.push({
      name: sample.target.name,
      memoryWorkingSetBytes: sample.stats.memory.workingSetBytes,
      ...(sample.writableLayer && {
        rootfsBytes: sample.writableLayer.usedBytes,
        rootfsInodes: sample.writableLayer.inodesUsed,
      }),
      ...(sample.logs && { logsBytes: sample.logs.usedBytes, logsInodes: sample.logs.inodesUsed }),
    });
    containersByPod.set(uid, list);
    const sum = sums.get(uid) ?? { memory: 0, processes: 0 };
    sum.memory += sample.stats.memory.workingSetBytes;
    sum.processes += sample.stats.pids.current;
    sums.set(uid, sum);
  }
  const podCgroups = new Map<string, { memory: number; processes: number }>();
  for (const sample of snapshot.sandboxes.values()) {
    podCgroups.set(sample.target.uid, {
      memory: sample.stats.memory.workingSetBytes,
      processes: sample.stats.pids.current,
    });
  }
  return (pod) => {
    const uid = pod.metadata.uid;
    const totals = podCgroups.get(uid) ?? sums.get(uid);
    if (!totals) return undefined;
    return {
      memoryWorkingSetBytes: totals.memory,
      processes: totals.processes,
      containers: containersByPod.get(uid) ?? [],
    };
  };
}

/** Bytes or inodes of the measured parts; undefined when no part was measured. */
export function podDiskUsage(usage: PodUsage, measure: DiskMeasure): number | undefined {
  let total = 0;
  let measured = false;
  for (const c of usage.containers) {
    for (const part of measure.parts) {
      const value =
        part === "rootfs"
          ? measure.unit === "bytes"
            ? c.rootfsBytes
            : c.rootfsInodes
          : measure.unit === "bytes"
            ? c.logsBytes
            : c.logsInodes;
      if (value !== undefined) {
        total += value;
        measured = true;
      }
    }
  }
  return measured ? total : undefined;
}

type RequestResource = "memory" | "ephemeralStorage";

/** The pod's request as the kubelet sums it: app containers added up, or the largest init container if more. */
export function podRequestBytes(
  spec: Pick<PodSpec, "containers" | "initContainers">,
  resource: RequestResource,
): number {
  const request = (list: ResourceList): number => {
    const q = list[resource];
    return q ? quantityToBytes(q) : 0;
  };
  const containers = spec.containers.reduce((sum, c) => sum + request(c.resources.requests), 0);
  const init = spec.initContainers.reduce((max, c) => Math.max(max, request(c.resources.requests)), 0);
  return Math.max(containers, init);
}

export function podPriority(pod: PodStatusView): number {
  return pod.spec.priority ?? 0;
}

type Compare = (a: PodStatusView, b: PodStatusView) => number;

/** true before false. */
function trueFirst(a: boolean, b: boolean): number {
  return a === b ? 0 : a ? -1 : 1;
}

function orderedBy(...compares: Compare[]): (pods: readonly PodStatusView[]) => PodStatusView[] {
  return (pods) =>
    [...pods].sort((a, b) => {
      for (const compare of compares) {
        const result = compare(a, b);
        if (result !== 0) return result;
      }
      return 0;
    });
}

/** Lower priority first. */
const byPriority: Compare = (a, b) => Math.sign(podPriority(a) - podPriority(b));

/** Pods whose usage exceeds their request first; pods without a measurement before both. */
function exceedsRequest(
  usage: (pod: PodStatusView) => number | undefined,
  request: (pod: PodStatusView) => number,
): Compare {
  return (a, b) => {
    const ua = usage(a);
    const ub = usage(b);
    if (ua === undefined || ub === undefined) return trueFirst(ua === undefined, ub === undefined);
    return trueFirst(ua > request(a), ub > request(b));
  };
}

/** Largest usage above request first. */
function byUsageAboveRequest(
  usage: (pod: PodStatusView) => number | undefined,
  request: (pod: PodStatusView) => number,
): Compare {
  return (a, b) => {
    const ua = usage(a);
    const ub = usage(b);
    if (ua === undefined || ub === undefined) return trueFirst(ua === undefined, ub === undefined);
    return Math.sign(ub - request(b) - (ua - request(a)));
  };
}

export function rankForMemory(pods: readonly PodStatusView[], usageOf: PodUsageFn): PodStatusView[] {
  const usage = (pod: PodStatusView): number | undefined => usageOf(pod)?.memoryWorkingSetBytes;
  const request = (pod: PodStatusView): number => podRequestBytes(pod.spec, "memory");
  return orderedBy(exceedsRequest(usage, request), byPriority, byUsageAboveRequest(usage, request))(pods);
}

export function rankForDisk(
  pods: readonly PodStatusView[],
  usageOf: PodUsageFn,
  measure: DiskMeasure,
): PodStatusView[] {
  const usage = (pod: PodStatusView): number | undefined => {
    const u = usageOf(pod);
    return u && podDiskUsage(u, measure);
  };
  // Nothing requests inodes: every inode used is above the request.
  const request = (pod: PodStatusView): number =>
    measure.unit === "bytes" ? podRequestBytes(pod.spec, "ephemeralStorage") : 0;
  return orderedBy(exceedsRequest(usage, request), byPriority, byUsageAboveRequest(usage, request))(pods);
}

export function rankForPids(pods: readonly PodStatusView[], usageOf: PodUsageFn): PodStatusView[] {
  const usage = (pod: PodStatusView): number | undefined => usageOf(pod)?.processes;
  return orderedBy(
    byPriority,
    byUsageAboveRequest(usage, () => 0),
  )(pods);
}
