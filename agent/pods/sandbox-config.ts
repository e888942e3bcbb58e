// The PodSandboxConfig of a pod, built as the kubelet builds it: metadata with the attempt,
// hostname, log directory, DNS, host port mappings, the kubelet's labels, and the Linux part
// (cgroup parent under berth's QoS tree, namespaces, security context, sysctls).
import { createHash } from "node:crypto";
import {
  type DNSConfig,
  NamespaceMode,
  PodSandboxConfig,
  Protocol,
  SecurityProfile,
  SecurityProfile_ProfileType,
  type PortMapping,
} from "../../cri/api/generated/api.js";
import { podQosClass } from "../podspec/qos.js";
import type { PodSpec, Protocol as PodProtocol, SeccompProfile } from "../podspec/types.js";
import { ANNOTATION_CGROUP_PARENT, ANNOTATION_SANDBOX_HASH, podLabels } from "./labels.js";

const MAX_HOSTNAME_LENGTH = 63;

export interface SandboxConfigInput {
  readonly attempt: number;
  readonly logDirectory: string;
  readonly cgroupParent: string;
  readonly dnsConfig?: DNSConfig;
}

/** The pod's hostname: spec.hostname or the pod name, cut to 63 characters as the kubelet does. */
export function podHostname(spec: Pick<PodSpec, "hostname" | "metadata">): string {
  const name = spec.hostname ?? spec.metadata.name;
  return name.length <= MAX_HOSTNAME_LENGTH ? name : name.slice(0, MAX_HOSTNAME_LENGTH).replace(/[-.]+$/, "");
}

export function criProtocol(protocol: PodProtocol): Protocol {
  return protocol === "UDP" ? Protocol.UDP : protocol === "SCTP" ? Protocol.SCTP : Protocol.TCP;
}

export function portMappings(spec: Pick<PodSpec, "containers">): PortMapping[] {
  return spec.containers.flatMap((container) =>
    container.ports.flatMap((port) =>
      port.hostPort === undefined
        ? []
        : [
            {
              protocol: criProtocol(port.protocol),
              containerPort: port.containerPort,
              hostPort: port.hostPort,
              hostIp: port.hostIP ?? "",
            },
          ],
    ),
  );
}

export function criSecurityProfile(profile: SeccompProfile | undefined): SecurityProfile {
  if (profile?.type === "Localhost") {
    return SecurityProfile.fromPartial({
      profileType: SecurityProfile_ProfileType.Localhost,
      localhostRef: profile.localhostProfile,
    });
  }
  // Kubernetes runs pods unconfined unless a profile is asked for.
  return SecurityProfile.fromPartial({
    profileType:
      profile?.type === "RuntimeDefault"
        ? SecurityProfile_ProfileType.RuntimeDefault
        : SecurityProfile_ProfileType.Unconfined,
  });
}

/** Namespace modes as the kubelet sets them: no shared PID namespace (berth has no shareProcessNamespace). */
export function namespaceOptions(spec: Pick<PodSpec, "hostNetwork" | "hostPID" | "hostIPC">): {
  network: NamespaceMode;
  pid: NamespaceMode;
  ipc: NamespaceMode;
  targetId: string;
} {
  return {
    network: spec.hostNetwork ? NamespaceMode.NODE : NamespaceMode.POD,
    pid: spec.hostPID ? NamespaceMode.NODE : NamespaceMode.CONTAINER,
    ipc: spec.hostIPC ? NamespaceMode.NODE : NamespaceMode.POD,
    targetId: "",
  };
}

function anyPrivileged(spec: PodSpec): boolean {
  return [...spec.initContainers, ...spec.containers].some((c) => c.securityContext?.privileged === true);
}

export function buildSandboxConfig(spec: PodSpec, input: SandboxConfigInput): PodSandboxConfig {
  const meta = spec.metadata;
  const sc = spec.securityContext;
  return PodSandboxConfig.fromPartial({
    metadata: { name: meta.name, namespace: meta.namespace, uid: meta.uid, attempt: input.attempt },
    // A host-network pod has the node's hostname; the runtime fills it in.
    hostname: spec.hostNetwork ? "" : podHostname(spec),
    logDirectory: input.logDirectory,
    ...(input.dnsConfig && { dnsConfig: input.dnsConfig }),
    portMappings: portMappings(spec),
    labels: { ...meta.labels, ...podLabels(meta) },
    annotations: {
      ...meta.annotations,
      [ANNOTATION_SANDBOX_HASH]: sandboxHash(spec),
      [ANNOTATION_CGROUP_PARENT]: input.cgroupParent,
    },
    linux: {
      cgroupParent: input.cgroupParent,
      sysctls: Object.fromEntries(sc.sysctls.map((s) => [s.name, s.value])),
      securityContext: {
        namespaceOptions: namespaceOptions(spec),
        ...(sc.runAsUser !== undefined && { runAsUser: { value: BigInt(sc.runAsUser) } }),
        ...(sc.runAsGroup !== undefined && { runAsGroup: { value: BigInt(sc.runAsGroup) } }),
        supplementalGroups: supplementalGroups(spec).map(BigInt),
        privileged: anyPrivileged(spec),
        seccomp: criSecurityProfile(sc.seccompProfile),
      },
    },
  });
}

/** The pod's supplemental groups, fsGroup included, as the kubelet passes them. */
export function supplementalGroups(spec: Pick<PodSpec, "securityContext">): number[] {
  const sc = spec.securityContext;
  return [...new Set([...sc.supplementalGroups, ...(sc.fsGroup === undefined ? [] : [sc.fsGroup])])];
}

/**
 * A fingerprint of everything the sandbox is made from. Kubernetes forbids changing these
 * fields of a running pod; berth accepts the change and re-creates the sandbox instead.
 */
export function sandboxHash(spec: PodSpec): string {
  const relevant = {
    hostNetwork: spec.hostNetwork,
    hostPID: spec.hostPID,
    hostIPC: spec.hostIPC,
    hostname: spec.hostname,
    subdomain: spec.subdomain,
    dnsPolicy: spec.dnsPolicy,
    dnsConfig: spec.dnsConfig,
    securityContext: spec.securityContext,
    ports: portMappings(spec),
    qos: podQosClass(spec),
    privileged: anyPrivileged(spec),
    volumes: spec.volumes,
  };
  return createHash("sha256").update(canonicalJson(relevant)).digest("hex").slice(0, 16);
}

function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") {
    return typeof value === "bigint" ? JSON.stringify(value.toString()) : (JSON.stringify(value) ?? "null");
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  // Quantities count by value, not by how they were written.
  if ("nanos" in value && typeof value.nanos === "bigint") return JSON.stringify(value.nanos.toString());
  const members = Object.entries(value)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`);
  return `{${members.join(",")}}`;
}
