// Starting one container instance, step by step as the kubelet does, each failure becoming
// the waiting reason users know: CrashLoopBackOff while the restart backoff runs, the image
// (ErrImagePull, ImagePullBackOff, ErrImageNeverPull), the config (CreateContainerConfigError),
// CreateContainer (CreateContainerError), StartContainer (RunContainerError), and the
// postStart hook, whose failure kills the container (FailedPostStartHook).
import { randomBytes } from "node:crypto";
import { rm } from "node:fs/promises";
import type { Image, Mount, PodSandboxConfig } from "../../cri/api/generated/api.js";
import { containerLinuxResources } from "../podspec/resources.js";
import type { PodSpec } from "../podspec/types.js";
import { runtimeErrorMessage } from "../runtime-client.js";
import { buildContainerConfig, criMount } from "./container-config.js";
import { resolveContainerProcess } from "./container-env.js";
import type { ContainerStart } from "./decisions.js";
import { runLifecycleHandler } from "./hooks.js";
import { podFullName } from "./labels.js";
import type { ObservedSandbox } from "./observed.js";
import type { PodSource } from "./pod-manager-api.js";
import { stopContainer } from "./pod-killer.js";
import { containerFieldPath, goDuration, type PodServices } from "./services.js";
import type { WaitingReason } from "./status.js";
import { createTerminationLogFile, mountSource, VolumeSetupError } from "./volumes.js";

export interface StartContext {
  readonly spec: PodSpec;
  readonly source: PodSource;
  readonly sandbox: ObservedSandbox;
  readonly sandboxConfig: PodSandboxConfig;
  readonly podIPs: readonly string[];
  /** Why containers wait, by name; updated here. */
  readonly waiting: Map<string, WaitingReason>;
  /** Asks for another sync after `ms` (a backoff ends). */
  wakeAfter(ms: number): void;
  readonly signal: AbortSignal;
}

/** How soon a container whose volumes or config failed is tried again. */
const RETRY_MS = 5_000;

export function backoffKey(uid: string, name: string): string {
  return `${uid}/${name}`;
}

/** The kubelet refuses runAsNonRoot containers that would run as root, checked against the image's user. */
export function nonRootViolation(
  spec: PodSpec,
  start: ContainerStart,
  image: Image | undefined,
): string | undefined {
  const sc = start.container.securityContext;
  const nonRoot = sc?.runAsNonRoot ?? spec.securityContext.runAsNonRoot;
  if (nonRoot !== true) return undefined;
  const uid = sc?.runAsUser ?? spec.securityContext.runAsUser;
  if (uid !== undefined) return uid === 0 ? "container's runAsUser breaks non-root policy" : undefined;
  if (image === undefined) return undefined;
  if (image.uid !== undefined) {
    return image.uid.value === 0n ? "container has runAsNonRoot and image will run as root" : undefined;
  }
  if (image.username !== "") {
    return `container has runAsNonRoot and image has non-numeric user (${image.username}), cannot verify user is non-root`;
  }
  return "container has runAsNonRoot and image will run as root";
}

/** Starts one container; false when it could not (the reason is in ctx.waiting). */
export async function startContainer(
  svc: PodServices,
  ctx: StartContext,
  start: ContainerStart,
): Promise<boolean> {
  const { spec } = ctx;
  const { container, role, restartCount } = start;
  const pod = spec.metadata;
  const fieldPath = containerFieldPath(role, container.name);
  const event = (type: "Normal" | "Warning", reason: string, message: string): void =>
    svc.record({ type, reason, message, pod, fieldPath });
  const wait = (reason: string, message?: string): false => {
    ctx.waiting.set(container.name, { reason, ...(message !== undefined && { message }) });
    return false;
  };

  const key = backoffKey(pod.uid, container.name);
  if (start.definitionChanged) svc.crashBackoff.reset(key);
  if (start.isRestart) {
    if (svc.crashBackoff.isInBackOff(key)) {
      const delay = goDuration(svc.crashBackoff.currentDelayMs(key));
      event(
        "Warning",
        "BackOff",
        `Back-off restarting failed container ${container.name} in pod ${podFullName(pod)}`,
      );
      ctx.wakeAfter(svc.crashBackoff.remainingMs(key));
      return wait(
        "CrashLoopBackOff",
        `back-off ${delay} restarting failed container=${container.name} pod=${podFullName(pod)}`,
      );
    }
    svc.crashBackoff.next(key);
  }

  const image = await svc.images.ensure(pod.uid, container, event);
  if (!image.ok) {
    if (image.retryInMs !== undefined) ctx.wakeAfter(image.retryInMs);
    return wait(image.reason, image.message);
  }
  const violation = nonRootViolation(spec, start, image.image);
  if (violation !== undefined) {
    event("Warning", "Failed", `Error: ${violation}`);
    ctx.wakeAfter(RETRY_MS);
    return wait("CreateContainerConfigError", violation);
  }

  let mounts: Mount[];
  let terminationFile: string | undefined;
  try {
    const volumes = await svc.volumes.setUp(spec);
    mounts = [];
    for (const vm of container.volumeMounts) {
      const volumePath = volumes.get(vm.name);
      if (volumePath === undefined) throw new VolumeSetupError(vm.name, "the pod has no such volume");
      mounts.push(
        criMount(vm.mountPath, await mountSource(volumePath, vm), vm.readOnly, vm.mountPropagation),
      );
    }
    if (!container.volumeMounts.some((vm) => vm.mountPath === container.terminationMessagePath)) {
      terminationFile = await createTerminationLogFile(
        svc.paths.containerDir(pod.uid, container.name),
        randomBytes(4).toString("hex"),
      );
      mounts.push(criMount(container.terminationMessagePath, terminationFile, false));
    }
  } catch (err) {
    if (!(err instanceof VolumeSetupError)) throw err;
    svc.record({ type: "Warning", reason: "FailedMount", message: err.message, pod });
    ctx.wakeAfter(RETRY_MS);
    return wait("ContainerCreating");
  }

  const config = buildContainerConfig({
    pod: spec,
    container,
    role,
    restartCount,
    process: resolveContainerProcess({
      pod: spec,
      container,
      facts: { nodeName: svc.node.name, podIPs: ctx.podIPs, hostIPs: svc.node.hostIPs },
      allocatable: svc.node.allocatable,
    }),
    mounts,
    resources: containerLinuxResources(
      spec,
      container,
      { memoryCapacityBytes: svc.node.memoryCapacityBytes },
      { isStaticPod: ctx.source.kind === "file" },
    ),
  });

  let containerId: string;
  try {
    ({ containerId } = await svc.runtime.createContainer({
      podSandboxId: ctx.sandbox.id,
      config,
      sandboxConfig: ctx.sandboxConfig,
    }));
  } catch (err) {
    if (terminationFile) await rm(terminationFile, { force: true });
    const message = runtimeErrorMessage(err);
    event("Warning", "Failed", `Error: ${message}`);
    ctx.wakeAfter(RETRY_MS);
    return wait("CreateContainerError", message);
  }
  event("Normal", "Created", `Created container: ${container.name}`);
  try {
    await svc.runtime.startContainer({ containerId });
  } catch (err) {
    const message = runtimeErrorMessage(err);
    event("Warning", "Failed", `Error: ${message}`);
    return wait("RunContainerError", message);
  }
  event("Normal", "Started", `Started container ${container.name}`);
  ctx.waiting.delete(container.name);

  const postStart = container.lifecycle?.postStart;
  if (postStart) {
    const podIP = ctx.podIPs[0];
    const result = await runLifecycleHandler(postStart, {
      runtime: svc.runtime,
      containerId,
      container,
      podFullName: podFullName(pod),
      ...(podIP && { podIP }),
      timeoutSeconds: 0,
      signal: ctx.signal,
    });
    if (!result.ok) {
      event("Warning", "FailedPostStartHook", result.message);
      await stopContainer(svc, {
        spec,
        containerId,
        name: container.name,
        gracePeriodSeconds: spec.terminationGracePeriodSeconds,
        ...(podIP && { podIP }),
      });
      return wait("PostStartHookError", result.message);
    }
  }
  return true;
}
