// berth's one internal shape of a pod, produced by validatePod() from a Kubernetes Pod
// manifest. Every value here has been checked and every Kubernetes default filled in, so code
// past the edge never re-validates and never guesses a default. Field names follow the
// Kubernetes API so that docs and muscle memory carry over.
import type { Quantity } from "./quantity.js";

export const RESTART_POLICIES = ["Always", "OnFailure", "Never"] as const;
export type RestartPolicy = (typeof RESTART_POLICIES)[number];

export const IMAGE_PULL_POLICIES = ["Always", "IfNotPresent", "Never"] as const;
export type ImagePullPolicy = (typeof IMAGE_PULL_POLICIES)[number];

export const DNS_POLICIES = ["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"] as const;
export type DnsPolicy = (typeof DNS_POLICIES)[number];

export const PROTOCOLS = ["SCTP", "TCP", "UDP"] as const;
export type Protocol = (typeof PROTOCOLS)[number];

export const MOUNT_PROPAGATIONS = ["Bidirectional", "HostToContainer", "None"] as const;
export type MountPropagation = (typeof MOUNT_PROPAGATIONS)[number];

export const TERMINATION_MESSAGE_POLICIES = ["File", "FallbackToLogsOnError"] as const;
export type TerminationMessagePolicy = (typeof TERMINATION_MESSAGE_POLICIES)[number];

export const PROC_MOUNTS = ["Default", "Unmasked"] as const;
export type ProcMount = (typeof PROC_MOUNTS)[number];

export const SECCOMP_PROFILE_TYPES = ["Localhost", "RuntimeDefault", "Unconfined"] as const;
export type SeccompProfileType = (typeof SECCOMP_PROFILE_TYPES)[number];

export const HOST_PATH_TYPES = [
  "",
  "BlockDevice",
  "CharDevice",
  "Directory",
  "DirectoryOrCreate",
  "File",
  "FileOrCreate",
  "Socket",
] as const;
export type HostPathType = (typeof HOST_PATH_TYPES)[number];

export const EMPTY_DIR_MEDIA = ["", "Memory"] as const;
export type EmptyDirMedium = (typeof EMPTY_DIR_MEDIA)[number];

export const URI_SCHEMES = ["HTTP", "HTTPS"] as const;
export type UriScheme = (typeof URI_SCHEMES)[number];

export const DEFAULT_NAMESPACE = "default";
export const DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS = 30;
export const DEFAULT_TERMINATION_MESSAGE_PATH = "/dev/termination-log";

export interface PodMetadata {
  readonly name: string;
  readonly namespace: string;
  readonly uid: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
}

/** The resources berth manages; other resource names are refused at validation. */
export interface ResourceList {
  readonly cpu?: Quantity;
  readonly memory?: Quantity;
  readonly ephemeralStorage?: Quantity;
}

export interface ResourceRequirements {
  /** Requests, already defaulted from limits where only a limit was given. */
  readonly requests: ResourceList;
  readonly limits: ResourceList;
}

/** A port given by number, or by the name of one of the container's ports. */
export type PortRef = number | string;

export interface ExecAction {
  readonly type: "exec";
  readonly command: readonly string[];
}

export interface HttpHeader {
  readonly name: string;
  readonly value: string;
}

export interface HttpGetAction {
  readonly type: "httpGet";
  /** Defaults to "/". */
  readonly path: string;
  readonly port: PortRef;
  /** Absent: the pod IP. */
  readonly host?: string;
  readonly scheme: UriScheme;
  readonly httpHeaders: readonly HttpHeader[];
}

export interface TcpSocketAction {
  readonly type: "tcpSocket";
  readonly port: PortRef;
  readonly host?: string;
}

export interface GrpcAction {
  readonly type: "grpc";
  readonly port: number;
  /** Absent: the server's overall health. */
  readonly service?: string;
}

export interface SleepAction {
  readonly type: "sleep";
  readonly seconds: number;
}

export type ProbeHandler = ExecAction | HttpGetAction | TcpSocketAction | GrpcAction;
/** tcpSocket is deprecated as a lifecycle hook in Kubernetes; it is accepted for compatibility. */
export type LifecycleHandler = ExecAction | HttpGetAction | TcpSocketAction | SleepAction;

export interface Probe {
  readonly handler: ProbeHandler;
  readonly initialDelaySeconds: number;
  readonly timeoutSeconds: number;
  readonly periodSeconds: number;
  readonly successThreshold: number;
  readonly failureThreshold: number;
  /** Overrides the pod's grace period when this probe kills the container (liveness, startup). */
  readonly terminationGracePeriodSeconds?: number;
}

export interface Lifecycle {
  readonly postStart?: LifecycleHandler;
  readonly preStop?: LifecycleHandler;
}

export const DOWNWARD_API_ENV_FIELDS = [
  "metadata.name",
  "metadata.namespace",
  "metadata.uid",
  "spec.nodeName",
  "spec.serviceAccountName",
  "status.hostIP",
  "status.hostIPs",
  "status.podIP",
  "status.podIPs",
] as const;
export type DownwardApiField =
  (typeof DOWNWARD_API_ENV_FIELDS)[number] | "metadata.labels" | "metadata.annotations";

export interface FieldRef {
  readonly type: "fieldRef";
  /** As written, e.g. `metadata.labels['app']`. */
  readonly fieldPath: string;
  readonly field: DownwardApiField;
  /** The subscript of metadata.labels['x'] / metadata.annotations['x']. */
  readonly key?: string;
}

export const RESOURCE_FIELD_REFS = [
  "limits.cpu",
  "limits.ephemeral-storage",
  "limits.memory",
  "requests.cpu",
  "requests.ephemeral-storage",
  "requests.memory",
] as const;
export type ResourceFieldName = (typeof RESOURCE_FIELD_REFS)[number];

export interface ResourceFieldRef {
  readonly type: "resourceFieldRef";
  /** Absent: the container that declares the variable. */
  readonly containerName?: string;
  readonly resource: ResourceFieldName;
  /** Defaults to 1. */
  readonly divisor: Quantity;
}

export type EnvVarSource = FieldRef | ResourceFieldRef;

export type EnvVar =
  | { readonly name: string; readonly value: string }
  | { readonly name: string; readonly valueFrom: EnvVarSource };

export interface ContainerPort {
  readonly name?: string;
  readonly containerPort: number;
  /** With hostNetwork it defaults to containerPort, as in Kubernetes. */
  readonly hostPort?: number;
  readonly protocol: Protocol;
  readonly hostIP?: string;
}

export interface VolumeMount {
  readonly name: string;
  readonly mountPath: string;
  readonly readOnly: boolean;
  readonly subPath?: string;
  /** Absent means None. */
  readonly mountPropagation?: MountPropagation;
}

export interface Capabilities {
  readonly add: readonly string[];
  readonly drop: readonly string[];
}

export type SeccompProfile =
  | { readonly type: "RuntimeDefault" | "Unconfined" }
  | { readonly type: "Localhost"; readonly localhostProfile: string };

export interface ContainerSecurityContext {
  readonly runAsUser?: number;
  readonly runAsGroup?: number;
  readonly runAsNonRoot?: boolean;
  readonly privileged?: boolean;
  readonly readOnlyRootFilesystem?: boolean;
  readonly allowPrivilegeEscalation?: boolean;
  readonly capabilities?: Capabilities;
  readonly seccompProfile?: SeccompProfile;
  readonly procMount?: ProcMount;
}

export interface Container {
  readonly name: string;
  readonly image: string;
  readonly imagePullPolicy: ImagePullPolicy;
  readonly command: readonly string[];
  readonly args: readonly string[];
  readonly workingDir?: string;
  readonly ports: readonly ContainerPort[];
  readonly env: readonly EnvVar[];
  readonly resources: ResourceRequirements;
  readonly volumeMounts: readonly VolumeMount[];
  readonly livenessProbe?: Probe;
  readonly readinessProbe?: Probe;
  readonly startupProbe?: Probe;
  readonly lifecycle?: Lifecycle;
  readonly terminationMessagePath: string;
  readonly terminationMessagePolicy: TerminationMessagePolicy;
  readonly securityContext?: ContainerSecurityContext;
  readonly stdin: boolean;
  readonly stdinOnce: boolean;
  readonly tty: boolean;
}

export interface Sysctl {
  readonly name: string;
  readonly value: string;
}

export interface PodSecurityContext {
  readonly runAsUser?: number;
  readonly runAsGroup?: number;
  readonly runAsNonRoot?: boolean;
  readonly fsGroup?: number;
  readonly supplementalGroups: readonly number[];
  readonly sysctls: readonly Sysctl[];
  readonly seccompProfile?: SeccompProfile;
}

export interface EmptyDirVolumeSource {
  readonly type: "emptyDir";
  readonly medium: EmptyDirMedium;
  readonly sizeLimit?: Quantity;
}

export interface HostPathVolumeSource {
  readonly type: "hostPath";
  readonly path: string;
  readonly hostPathType: HostPathType;
}

export type VolumeSource = EmptyDirVolumeSource | HostPathVolumeSource;

export interface Volume {
  readonly name: string;
  readonly source: VolumeSource;
}

export interface DnsOption {
  readonly name: string;
  readonly value?: string;
}

export interface DnsConfig {
  readonly nameservers: readonly string[];
  readonly searches: readonly string[];
  readonly options: readonly DnsOption[];
}

export interface PodSpec {
  readonly metadata: PodMetadata;
  readonly initContainers: readonly Container[];
  readonly containers: readonly Container[];
  readonly volumes: readonly Volume[];
  readonly restartPolicy: RestartPolicy;
  readonly terminationGracePeriodSeconds: number;
  readonly activeDeadlineSeconds?: number;
  readonly hostNetwork: boolean;
  readonly hostPID: boolean;
  readonly hostIPC: boolean;
  readonly hostname?: string;
  readonly subdomain?: string;
  readonly dnsPolicy: DnsPolicy;
  readonly dnsConfig?: DnsConfig;
  readonly securityContext: PodSecurityContext;
  readonly nodeName?: string;
  readonly serviceAccountName?: string;
  readonly priority?: number;
  readonly priorityClassName?: string;
}
