// The ContainerConfig of one container instance, as the kubelet builds it: metadata with the
// restart count as attempt, the kubelet's labels and annotations (hash, restart count,
// termination message path), log path `<name>/<restart>.log`, mounts, resources by the
// kubelet's formulas, and the security context merged from pod and container.
import {
  ContainerConfig,
  type LinuxContainerSecurityContext,
  type Mount,
  MountPropagation,
} from "../../cri/api/generated/api.js";
import { podSpecHash } from "../podspec/hash.js";
import type { LinuxContainerResources } from "../podspec/resources.js";
import type { Container, MountPropagation as PodMountPropagation, PodSpec } from "../podspec/types.js";
import type { ContainerRole } from "./decisions.js";
import type { ResolvedProcess } from "./container-env.js";
import {
  ANNOTATION_CONTAINER_HASH,
  ANNOTATION_CONTAINER_ROLE,
  ANNOTATION_GRACE_PERIOD,
  ANNOTATION_RESTART_COUNT,
  ANNOTATION_TERMINATION_MESSAGE_PATH,
  ANNOTATION_TERMINATION_MESSAGE_POLICY,
  LABEL_CONTAINER_NAME,
  podLabels,
} from "./labels.js";
import { containerLogPath } from "./pod-paths.js";
import { criSecurityProfile, namespaceOptions, supplementalGroups } from "./sandbox-config.js";

export interface ContainerConfigInput {
  readonly pod: PodSpec;
  readonly container: Container;
  readonly role: ContainerRole;
  readonly restartCount: number;
  readonly process: ResolvedProcess;
  /** Volume mounts and the termination-message file, with host paths resolved. */
  readonly mounts: readonly Mount[];
  readonly resources: LinuxContainerResources;
}

export function criPropagation(propagation: PodMountPropagation | undefined): MountPropagation {
  if (propagation === "Bidirectional") return MountPropagation.PROPAGATION_BIDIRECTIONAL;
  if (propagation === "HostToContainer") return MountPropagation.PROPAGATION_HOST_TO_CONTAINER;
  return MountPropagation.PROPAGATION_PRIVATE;
}

export function criMount(
  containerPath: string,
  hostPath: string,
  readonly: boolean,
  propagation?: PodMountPropagation,
): Mount {
  return {
    containerPath,
    hostPath,
    readonly,
    selinuxRelabel: false,
    propagation: criPropagation(propagation),
    uidMappings: [],
    gidMappings: [],
    recursiveReadOnly: false,
    imageSubPath: "",
  };
}

export function containerSecurityContext(pod: PodSpec, container: Container): LinuxContainerSecurityContext {
  const sc = container.securityContext;
  const runAsUser = sc?.runAsUser ?? pod.securityContext.runAsUser;
  const runAsGroup = sc?.runAsGroup ?? pod.securityContext.runAsGroup;
  const privileged = sc?.privileged === true;
  return {
    ...(sc?.capabilities && {
      capabilities: {
        addCapabilities: [...sc.capabilities.add],
        dropCapabilities: [...sc.capabilities.drop],
        addAmbientCapabilities: [],
      },
    }),
    privileged,
    namespaceOptions: namespaceOptions(pod),
    ...(runAsUser !== undefined && { runAsUser: { value: BigInt(runAsUser) } }),
    ...(runAsGroup !== undefined && { runAsGroup: { value: BigInt(runAsGroup) } }),
    runAsUsername: "",
    readonlyRootfs: sc?.readOnlyRootFilesystem === true,
    supplementalGroups: supplementalGroups(pod).map(BigInt),
    supplementalGroupsPolicy: 0,
    noNewPrivs: refusesPrivilegeEscalation(sc, privileged),
    maskedPaths: [],
    readonlyPaths: [],
    seccomp: criSecurityProfile(sc?.seccompProfile ?? pod.securityContext.seccompProfile),
    apparmorProfile: "",
    seccompProfilePath: "",
  };
}

export function buildContainerConfig(input: ContainerConfigInput): ContainerConfig {
  const { pod, container, restartCount, resources } = input;
  return ContainerConfig.fromPartial({
    metadata: { name: container.name, attempt: restartCount },
    image: { image: container.image, userSpecifiedImage: container.image },
    command: input.process.command,
    args: input.process.args,
    workingDir: container.workingDir ?? "",
    envs: input.process.envs,
    mounts: [...input.mounts],
    labels: { ...podLabels(pod.metadata), [LABEL_CONTAINER_NAME]: container.name },
    annotations: {
      [ANNOTATION_CONTAINER_HASH]: podSpecHash(container),
      [ANNOTATION_RESTART_COUNT]: String(restartCount),
      [ANNOTATION_TERMINATION_MESSAGE_PATH]: container.terminationMessagePath,
      [ANNOTATION_TERMINATION_MESSAGE_POLICY]: container.terminationMessagePolicy,
      [ANNOTATION_GRACE_PERIOD]: String(pod.terminationGracePeriodSeconds),
      [ANNOTATION_CONTAINER_ROLE]: input.role,
    },
    logPath: containerLogPath(container.name, restartCount),
    stdin: container.stdin,
    stdinOnce: container.stdinOnce,
    tty: container.tty,
    linux: {
      resources: {
        cpuShares: BigInt(resources.cpuShares),
        cpuQuota: BigInt(resources.cpuQuota),
        cpuPeriod: BigInt(resources.cpuPeriod),
        memoryLimitInBytes: BigInt(resources.memoryLimitInBytes),
        oomScoreAdj: BigInt(resources.oomScoreAdj),
      },
      securityContext: containerSecurityContext(pod, container),
    },
  });
}

/**
 * berth's pods refuse privilege escalation (no_new_privs) unless the spec allows it: where
 * Kubernetes leaves `allowPrivilegeEscalation` unset as "allowed", berth reads unset as "refused",
 * except where Kubernetes itself implies escalation (privileged, or CAP_SYS_ADMIN added).
 */
function refusesPrivilegeEscalation(
  sc: Container["securityContext"] | undefined,
  privileged: boolean,
): boolean {
  if (privileged || sc?.allowPrivilegeEscalation === true) return false;
  if (sc?.allowPrivilegeEscalation === false) return true;
  const added = sc?.capabilities?.add ?? [];
  return !added.some((cap) => cap.toUpperCase().replace(/^CAP_/, "") === "SYS_ADMIN");
}
