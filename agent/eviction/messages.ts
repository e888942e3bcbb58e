// What an evicted pod and a refused pod are told, in the kubelet's words so that people who
// know Kubernetes recognise them:
//   "The node was low on resource: memory. Threshold quantity: 100Mi, available: 80Mi.
//    Container hog was using 300Mi, request is 0."
import type { PodStatusView } from "../pods/pod-manager-api.js";
import { formatBytes } from "../node/quantities.js";
import type { DiskMeasure, PodUsage } from "./ranking.js";
import {
  PSI_MEMORY_SIGNAL,
  SIGNAL_RESOURCE,
  type PressureCondition,
  type SignalObservation,
} from "./signals.js";
import { formatSignalAmount, thresholdQuantity, type Threshold } from "./thresholds.js";

export interface EvictionMessageInput {
  readonly threshold: Threshold;
  readonly observation?: SignalObservation;
  readonly pod: PodStatusView;
  readonly usage?: PodUsage;
  /** For disk signals: what was measured of the pod. */
  readonly measure?: DiskMeasure;
}

export function evictionMessage(input: EvictionMessageInput): string {
  const { threshold, observation, pod, usage } = input;
  const resource = SIGNAL_RESOURCE[threshold.signal];
  const parts: string[] = [];
  if (threshold.signal === PSI_MEMORY_SIGNAL) {
    parts.push("The node was low on resource: memory.");
    if (observation) {
      parts.push(
        `Pods stalled on memory ${formatSignalAmount(threshold.signal, observation.available)} of the time` +
          ` (PSI full avg10), threshold: ${formatSignalAmount(threshold.signal, thresholdQuantity(threshold.value, 100))}.`,
      );
    }
  } else {
    parts.push(`The node was low on resource: ${resource}.`);
    if (observation) {
      const quantity = thresholdQuantity(threshold.value, observation.capacity);
      parts.push(
        `Threshold quantity: ${formatSignalAmount(threshold.signal, quantity)},` +
          ` available: ${formatSignalAmount(threshold.signal, observation.available)}.`,
      );
    }
  }
  if (usage && (resource === "memory" || resource === "ephemeral-storage")) {
    for (const container of pod.spec.containers) {
      const used = usage.containers.find((c) => c.name === container.name);
      if (!used) continue;
      const bytes =
        resource === "memory"
          ? used.memoryWorkingSetBytes
          : used.rootfsBytes !== undefined && used.logsBytes !== undefined
            ? used.rootfsBytes + used.logsBytes
            : undefined;
      const request =
        resource === "memory"
          ? container.resources.requests.memory
          : container.resources.requests.ephemeralStorage;
      const requestBytes = request ? Number(request.nanos / 1_000_000_000n) : 0;
      if (bytes !== undefined && bytes > requestBytes) {
        parts.push(
          `Container ${container.name} was using ${formatBytes(bytes)}, request is ${request?.text ?? "0"}.`,
        );
      }
    }
  }
  return parts.join(" ");
}

/** Why a pod is refused while the node is under pressure: "The node had condition: [DiskPressure]." */
export function admissionMessage(conditions: readonly PressureCondition[]): string {
  return `The node had condition: [${conditions.join(" ")}].`;
}
