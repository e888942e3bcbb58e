// Quality of Service class and OOM score adjustment, computed as the kubelet computes them so
// that a pod lands in the same class and is killed in the same order as on a Kubernetes node.
import { quantityToBigUnits, type Quantity } from "./quantity.js";
import type { Container, PodSpec } from "./types.js";

export type QosClass = "Guaranteed" | "Burstable" | "BestEffort";

export const GUARANTEED_OOM_SCORE_ADJ = -997;
export const BESTEFFORT_OOM_SCORE_ADJ = 1000;
/** Priority at or above which a pod is critical (Kubernetes' SystemCriticalPriority). */
export const SYSTEM_CRITICAL_PRIORITY = 2_000_000_000;
export const SYSTEM_NODE_CRITICAL_CLASS = "system-node-critical";

type QosResource = "cpu" | "memory";
const QOS_RESOURCES: readonly QosResource[] = ["cpu", "memory"];

/**
 * BestEffort: no container (init included) requests or limits cpu or memory.
 * Guaranteed: every container has non-zero cpu and memory limits, and the pod's summed
 * requests equal its summed limits. Anything else is Burstable. Zero values count as unset,
 * and only cpu and memory matter, as in Kubernetes.
 */
export function podQosClass(pod: Pick<PodSpec, "containers" | "initContainers">): QosClass {
  const requests = new Map<QosResource, bigint>();
  const limits = new Map<QosResource, bigint>();
  let everyContainerLimited = true;
  const add = (sums: Map<QosResource, bigint>, name: QosResource, q: Quantity | undefined): boolean => {
    if (q === undefined || q.nanos <= 0n) return false;
    sums.set(name, (sums.get(name) ?? 0n) + q.nanos);
    return true;
  };
  for (const container of [...pod.containers, ...pod.initContainers]) {
    let limited = 0;
    for (const name of QOS_RESOURCES) {
      add(requests, name, container.resources.requests[name]);
      if (add(limits, name, container.resources.limits[name])) limited++;
    }
    if (limited < QOS_RESOURCES.length) everyContainerLimited = false;
  }
  if (requests.size === 0 && limits.size === 0) return "BestEffort";
  if (everyContainerLimited && requests.size === limits.size) {
    const equal = [...requests].every(([name, sum]) => limits.get(name) === sum);
    if (equal) return "Guaranteed";
  }
  return "Burstable";
}

export interface CriticalityOptions {
  /**
   * The pod came from a static manifest rather than an API. Kubernetes counts static pods as
   * critical whatever their priority.
   */
  readonly isStaticPod?: boolean;
}

/** Kubernetes' node-critical pods: class system-node-critical, and static or of critical priority. */
export function isNodeCriticalPod(
  pod: Pick<PodSpec, "priority" | "priorityClassName">,
  options: CriticalityOptions = {},
): boolean {
  if (pod.priorityClassName !== SYSTEM_NODE_CRITICAL_CLASS) return false;
  return options.isStaticPod === true || (pod.priority ?? 0) >= SYSTEM_CRITICAL_PRIORITY;
}

/**
 * The oom_score_adj the kubelet gives a container:
 *   node-critical pod or Guaranteed: -997; BestEffort: 1000;
 *   Burstable: 1000 - (1000 * memoryRequestBytes) / memoryCapacityBytes (integer division),
 *   raised to at least 1000 + (-997) = 3 so it stays above Guaranteed, and 1000 lowered to 999
 *   so it stays below BestEffort. (Kubernetes' documentation gives the floor as 2; the kubelet's
 *   code, which is what runs, returns 3.)
 */
export function containerOomScoreAdj(
  pod: Pick<PodSpec, "containers" | "initContainers" | "priority" | "priorityClassName">,
  container: Pick<Container, "resources">,
  memoryCapacityBytes: number,
  options: CriticalityOptions = {},
): number {
  if (isNodeCriticalPod(pod, options)) return GUARANTEED_OOM_SCORE_ADJ;
  const qos = podQosClass(pod);
  if (qos === "Guaranteed") return GUARANTEED_OOM_SCORE_ADJ;
  if (qos === "BestEffort") return BESTEFFORT_OOM_SCORE_ADJ;
  if (!Number.isSafeInteger(memoryCapacityBytes) || memoryCapacityBytes <= 0) {
    throw new RangeError(`memory capacity must be a positive integer, got ${memoryCapacityBytes}`);
  }
  const request = container.resources.requests.memory;
  const requestBytes = request === undefined ? 0n : quantityToBigUnits(request);
  const adjust = Number(1000n - (1000n * requestBytes) / BigInt(memoryCapacityBytes));
  if (adjust < 1000 + GUARANTEED_OOM_SCORE_ADJ) return 1000 + GUARANTEED_OOM_SCORE_ADJ;
  if (adjust === BESTEFFORT_OOM_SCORE_ADJ) return adjust - 1;
  return adjust;
}
