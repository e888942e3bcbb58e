// Values of environment variables taken from the downward API, computed as the kubelet does
// when it builds a container's environment.
import { quantityToBytes, quantityToMilli, type Quantity } from "./quantity.js";
import type { Container, FieldRef, PodSpec, ResourceFieldName, ResourceFieldRef } from "./types.js";

/** What is only known once the pod runs on this node. */
export interface PodRuntimeFacts {
  readonly nodeName: string;
  readonly podIPs: readonly string[];
  readonly hostIPs: readonly string[];
}

export function resolveFieldRef(ref: FieldRef, pod: PodSpec, facts: PodRuntimeFacts): string {
  switch (ref.field) {
    case "metadata.name":
      return pod.metadata.name;
    case "metadata.namespace":
      return pod.metadata.namespace;
    case "metadata.uid":
      return pod.metadata.uid;
    case "metadata.labels":
      return pod.metadata.labels[ref.key ?? ""] ?? "";
    case "metadata.annotations":
      return pod.metadata.annotations[ref.key ?? ""] ?? "";
    case "spec.nodeName":
      return pod.nodeName ?? facts.nodeName;
    case "spec.serviceAccountName":
      return pod.serviceAccountName ?? "";
    case "status.podIP":
      return facts.podIPs[0] ?? "";
    case "status.podIPs":
      return facts.podIPs.join(",");
    case "status.hostIP":
      return facts.hostIPs[0] ?? "";
    case "status.hostIPs":
      return facts.hostIPs.join(",");
  }
}

/** The node's allocatable resources, which stand in for a limit the container does not set. */
export interface NodeAllocatable {
  readonly cpu: Quantity;
  readonly memory: Quantity;
  readonly ephemeralStorage: Quantity;
}

const RESOURCE_FIELDS: Readonly<
  Record<ResourceFieldName, { kind: "limits" | "requests"; name: keyof NodeAllocatable }>
> = {
  "limits.cpu": { kind: "limits", name: "cpu" },
  "limits.memory": { kind: "limits", name: "memory" },
  "limits.ephemeral-storage": { kind: "limits", name: "ephemeralStorage" },
  "requests.cpu": { kind: "requests", name: "cpu" },
  "requests.memory": { kind: "requests", name: "memory" },
  "requests.ephemeral-storage": { kind: "requests", name: "ephemeralStorage" },
};

/**
 * `ceil(value / divisor)` of the referenced request or limit, as a decimal string. cpu is
 * counted in milli-cores and memory in bytes before dividing; an unset limit reads as the
 * node's allocatable amount, an unset request as 0.
 */
export function resolveResourceFieldRef(
  ref: ResourceFieldRef,
  pod: PodSpec,
  self: Container,
  allocatable: NodeAllocatable,
): string {
  const container =
    ref.containerName === undefined
      ? self
      : ([...pod.containers, ...pod.initContainers].find((c) => c.name === ref.containerName) ?? self);
  const { kind, name } = RESOURCE_FIELDS[ref.resource];
  const value = container.resources[kind][name] ?? (kind === "limits" ? allocatable[name] : undefined);
  if (value === undefined) return "0";
  const ratio =
    name === "cpu"
      ? quantityToMilli(value) / quantityToMilli(ref.divisor)
      : quantityToBytes(value) / quantityToBytes(ref.divisor);
  return String(Math.ceil(ratio));
}
