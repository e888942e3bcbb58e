// Stopping containers the kubelet's way: the preStop hook within the grace period, then
// StopContainer with what is left of it (at least 2 s, unless the grace period is 0), and
// removal of everything a pod leaves on the host once it is deleted.
import { rm } from "node:fs/promises";
import type { PodSpec } from "../podspec/types.js";
import { isNotFound, runtimeErrorMessage } from "../runtime-client.js";
import { runLifecycleHandler } from "./hooks.js";
import { podFullName, type PodIdentity } from "./labels.js";
import type { ObservedPod } from "./observed.js";
import { containerFieldPath, type PodServices } from "./services.js";

/** The kubelet never gives a container less than this to stop, unless asked for 0. */
export const MIN_GRACE_SECONDS = 2;

export interface StopRequest {
  readonly spec: PodSpec;
  readonly containerId: string;
  readonly name: string;
  readonly gracePeriodSeconds: number;
  readonly podIP?: string;
}

/** preStop (when the container has one and there is time), then StopContainer. Never throws for a gone container. */
export async function stopContainer(svc: PodServices, req: StopRequest): Promise<void> {
  const { spec } = req;
  const started = svc.clock.now();
  const all = [
    ...spec.initContainers.map((c) => ["init", c] as const),
    ...spec.containers.map((c) => ["app", c] as const),
  ];
  const found = all.find(([, c]) => c.name === req.name);
  const preStop = found?.[1].lifecycle?.preStop;
  if (found && preStop && req.gracePeriodSeconds > 0) {
    const [role, container] = found;
    const result = await runLifecycleHandler(preStop, {
      runtime: svc.runtime,
      containerId: req.containerId,
      container,
      podFullName: podFullName(spec.metadata),
      ...(req.podIP && { podIP: req.podIP }),
      timeoutSeconds: req.gracePeriodSeconds,
      signal: AbortSignal.timeout(req.gracePeriodSeconds * 1000),
    });
    if (!result.ok) {
      svc.record({
        type: "Warning",
        reason: "FailedPreStopHook",
        message: result.message,
        pod: spec.metadata,
        fieldPath: containerFieldPath(role, container.name),
      });
    }
  }
  const elapsed = (svc.clock.now() - started) / 1000;
  const timeout =
    req.gracePeriodSeconds === 0
      ? 0
      : Math.max(MIN_GRACE_SECONDS, Math.ceil(req.gracePeriodSeconds - elapsed));
  try {
    await svc.runtime.stopContainer({ containerId: req.containerId, timeout: BigInt(timeout) });
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

export async function stopSandbox(svc: PodServices, sandboxId: string): Promise<void> {
  try {
    await svc.runtime.stopPodSandbox({ podSandboxId: sandboxId });
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

/**
 * Removes what is left of a pod whose containers are stopped: sandboxes (and with them their
 * containers), stray containers, volumes and the pod's dir, its log directory and its cgroup.
 */
export async function removePodLeftovers(
  svc: PodServices,
  pod: PodIdentity,
  observed: ObservedPod,
  cgroupParents: readonly string[] = [],
): Promise<void> {
  for (const sandbox of observed.sandboxes) {
    try {
      await svc.runtime.removePodSandbox({ podSandboxId: sandbox.id });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
  const sandboxIds = new Set(observed.sandboxes.map((s) => s.id));
  for (const c of observed.containers.filter((c) => !sandboxIds.has(c.sandboxId))) {
    try {
      await svc.runtime.removeContainer({ containerId: c.id });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
  await svc.volumes.tearDown(pod.uid);
  await rm(svc.paths.logDir(pod), { recursive: true, force: true });
  const parents = new Set([...cgroupParents, ...observed.sandboxes.map((s) => s.cgroupParent)]);
  for (const parent of parents) await svc.cgroups.remove(parent);
}

export function describeError(err: unknown): string {
  return runtimeErrorMessage(err);
}
