// A pod's status in Kubernetes' shape, computed from its spec, what the runtime holds, probe
// results and the reasons the worker recorded for containers it could not start. Phase and
// conditions follow the kubelet's rules so that `berth get`/`describe` read as kubectl does.
// Pure: the caller passes the time and the previous status (for transition times).
import { podQosClass } from "../podspec/qos.js";
import type { Container, PodSpec } from "../podspec/types.js";
import type {
  ContainerStateView,
  ContainerStatusView,
  PodCondition,
  PodPhase,
  PodSource,
  PodStatusView,
} from "./pod-manager-api.js";
import { newestFirst, type ContainerRole } from "./decisions.js";
import type { ObservedContainer, ObservedPod } from "./observed.js";

export const CONTAINER_ID_PREFIX = "berth://";

export interface WaitingReason {
  readonly reason: string;
  readonly message?: string;
}

export interface ProbeView {
  /** The readiness probe passed (only asked for containers that have one). */
  ready(containerId: string): boolean;
  /** The startup probe passed (only asked for containers that have one). */
  started(containerId: string): boolean;
}

export interface StatusInput {
  readonly spec: PodSpec;
  readonly source: PodSource;
  readonly terminating: boolean;
  readonly observed: ObservedPod;
  readonly probes: ProbeView;
  /** Why a container is waiting, by container name, as the worker last found out. */
  readonly waiting: ReadonlyMap<string, WaitingReason>;
  readonly hostIPs: readonly string[];
  /** ms since the epoch. */
  readonly now: number;
  readonly startTime: number;
  readonly previous?: PodStatusView;
  /** The worker failed the pod as a whole (activeDeadlineSeconds): phase Failed with this reason. */
  readonly failure?: { readonly reason: string; readonly message: string };
}

/** RFC 3339 to the second, as Kubernetes prints times in status. */
export function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

function defaultWaiting(spec: PodSpec): WaitingReason {
  return { reason: spec.initContainers.length > 0 ? "PodInitializing" : "ContainerCreating" };
}

function terminatedView(c: ObservedContainer, now: number): ContainerStateView {
  return {
    terminated: {
      exitCode: c.exitCode,
      reason: c.reason || (c.exitCode === 0 ? "Completed" : "Error"),
      ...(c.message !== "" && { message: c.message }),
      startedAt: rfc3339(c.startedAt ?? c.createdAt),
      finishedAt: rfc3339(c.finishedAt ?? now),
      containerID: CONTAINER_ID_PREFIX + c.id,
    },
  };
}

function waitingView(w: WaitingReason): ContainerStateView {
  return {
    waiting: { reason: w.reason, ...(w.message !== undefined && w.message !== "" && { message: w.message }) },
  };
}

function containerStatus(
  input: StatusInput,
  container: Container,
  role: ContainerRole,
  instances: readonly ObservedContainer[],
): ContainerStatusView {
  const [latest, previous] = instances;
  const cached = input.waiting.get(container.name);
  if (latest === undefined) {
    return {
      name: container.name,
      state: waitingView(cached ?? defaultWaiting(input.spec)),
      lastState: {},
      ready: false,
      started: false,
      restartCount: 0,
      image: container.image,
      imageID: "",
    };
  }
  let state: ContainerStateView;
  let lastState: ContainerStatusView["lastState"] =
    previous !== undefined && previous.state === "exited" ? terminatedView(previous, input.now) : {};
  if (latest.state === "running") {
    state = { running: { startedAt: rfc3339(latest.startedAt ?? latest.createdAt) } };
  } else if (latest.state === "exited") {
    if (cached !== undefined) {
      // Waiting to run again: the exit that caused it becomes the last state.
      state = waitingView(cached);
      lastState = terminatedView(latest, input.now);
    } else {
      state = terminatedView(latest, input.now);
    }
  } else {
    state = waitingView(cached ?? { reason: "ContainerCreating" });
  }
  const running = latest.state === "running";
  const started = running && (container.startupProbe === undefined || input.probes.started(latest.id));
  const ready =
    role === "init"
      ? latest.state === "exited" && latest.exitCode === 0
      : started && (container.readinessProbe === undefined || input.probes.ready(latest.id));
  return {
    name: container.name,
    state,
    lastState,
    ready,
    started,
    restartCount: latest.restartCount,
    image: container.image,
    imageID: latest.imageRef,
    containerID: CONTAINER_ID_PREFIX + latest.id,
  };
}

function statusesOf(
  input: StatusInput,
  containers: readonly Container[],
  role: ContainerRole,
): ContainerStatusView[] {
  return containers.map((container) => {
    const instances = input.observed.containers.filter((c) => c.name === container.name).sort(newestFirst);
    return containerStatus(input, container, role, instances);
  });
}

/** The kubelet's phase rules. */
export function podPhase(
  spec: Pick<PodSpec, "restartPolicy">,
  init: readonly ContainerStatusView[],
  app: readonly ContainerStatusView[],
): PodPhase {
  let pendingInit = 0;
  let failedInit = 0;
  for (const s of init) {
    if ("terminated" in s.state) {
      if (s.state.terminated.exitCode !== 0) failedInit++;
    } else if ("waiting" in s.state) {
      const last = s.lastState;
      if ("terminated" in last && last.terminated.exitCode !== 0) failedInit++;
      else if (!("terminated" in last)) pendingInit++;
    } else {
      pendingInit++;
    }
  }
  let running = 0;
  let waiting = 0;
  let stopped = 0;
  let succeeded = 0;
  for (const s of app) {
    if ("running" in s.state) running++;
    else if ("terminated" in s.state) {
      stopped++;
      if (s.state.terminated.exitCode === 0) succeeded++;
    } else if ("terminated" in s.lastState) {
      stopped++;
      if (s.lastState.terminated.exitCode === 0) succeeded++;
    } else waiting++;
  }
  if (failedInit > 0 && spec.restartPolicy === "Never") return "Failed";
  if (pendingInit > 0 || failedInit > 0) return "Pending";
  if (waiting > 0) return "Pending";
  if (running > 0) return "Running";
  if (stopped > 0) {
    if (spec.restartPolicy === "Always") return "Running";
    if (stopped === succeeded) return "Succeeded";
    if (spec.restartPolicy === "Never") return "Failed";
    return "Running";
  }
  return "Pending";
}

function names(statuses: readonly ContainerStatusView[]): string {
  return `[${statuses.map((s) => s.name).join(" ")}]`;
}

/** Keeps a condition's transition time while its status stays the same. */
function condition(
  previous: readonly PodCondition[] | undefined,
  now: number,
  type: PodCondition["type"],
  ok: boolean,
  reason?: string,
  message?: string,
): PodCondition {
  const status = ok ? "True" : "False";
  const before = previous?.find((c) => c.type === type);
  return {
    type,
    status,
    lastTransitionTime:
      before !== undefined && before.status === status ? before.lastTransitionTime : rfc3339(now),
    ...(reason !== undefined && { reason }),
    ...(message !== undefined && { message }),
  };
}

export function computePodStatus(input: StatusInput): PodStatusView {
  const { spec, observed, previous, now } = input;
  const initStatuses = statusesOf(input, spec.initContainers, "init");
  const appStatuses = statusesOf(input, spec.containers, "app");
  const previousPhase = previous?.status.phase;
  // A finished pod stays finished, as in Kubernetes.
  const phase =
    previousPhase === "Succeeded" || previousPhase === "Failed"
      ? previousPhase
      : input.failure
        ? "Failed"
        : podPhase(spec, initStatuses, appStatuses);
  const terminal = phase === "Succeeded" || phase === "Failed";

  const sandbox = observed.sandboxes[0];
  const sandboxReady = sandbox !== undefined && sandbox.ready;
  const appStartedHere =
    sandbox !== undefined &&
    spec.containers.some((c) =>
      observed.containers.some((o) => o.name === c.name && o.sandboxId === sandbox.id),
    );
  const incompleteInit = initStatuses.filter((s) => !s.ready);
  const initialized = incompleteInit.length === 0 || appStartedHere || spec.initContainers.length === 0;
  const unready = appStatuses.filter((s) => !s.ready);
  const prior = previous?.status.conditions;
  const readyReason = terminal ? "PodCompleted" : "ContainersNotReady";
  const readyMessage = terminal ? undefined : `containers with unready status: ${names(unready)}`;
  const conditions: PodCondition[] = [
    condition(prior, now, "PodReadyToStartContainers", sandboxReady),
    initialized
      ? condition(prior, now, "Initialized", true, terminal ? "PodCompleted" : undefined)
      : condition(
          prior,
          now,
          "Initialized",
          false,
          "ContainersNotInitialized",
          `containers with incomplete status: ${names(incompleteInit)}`,
        ),
    unready.length === 0 && !terminal
      ? condition(prior, now, "Ready", true)
      : condition(prior, now, "Ready", false, readyReason, readyMessage),
    unready.length === 0 && !terminal
      ? condition(prior, now, "ContainersReady", true)
      : condition(prior, now, "ContainersReady", false, readyReason, readyMessage),
    condition(prior, now, "PodScheduled", true),
  ];

  let podIPs: string[] = [];
  if (spec.hostNetwork) podIPs = [...input.hostIPs];
  else if (sandboxReady) podIPs = [...sandbox.ips];
  // A stopped sandbox keeps showing the address the pod had, as Kubernetes does.
  if (podIPs.length === 0 && previous !== undefined) podIPs = previous.status.podIPs.map((p) => p.ip);
  const hostIP = input.hostIPs[0];
  return {
    metadata: {
      name: spec.metadata.name,
      namespace: spec.metadata.namespace,
      uid: spec.metadata.uid,
      labels: { ...spec.metadata.labels },
      annotations: { ...spec.metadata.annotations },
    },
    spec,
    source: input.source,
    status: {
      phase,
      conditions,
      ...(input.failure && { reason: input.failure.reason, message: input.failure.message }),
      ...(hostIP !== undefined && { hostIP }),
      ...(podIPs[0] !== undefined && { podIP: podIPs[0] }),
      podIPs: podIPs.map((ip) => ({ ip })),
      startTime: rfc3339(input.startTime),
      qosClass: podQosClass(spec),
      initContainerStatuses: initStatuses,
      containerStatuses: appStatuses,
    },
    terminating: input.terminating,
  };
}

/** True when two views differ in anything a watcher would see. */
export function statusChanged(a: PodStatusView | undefined, b: PodStatusView): boolean {
  if (a === undefined) return true;
  if (a.spec !== b.spec || a.terminating !== b.terminating || a.source !== b.source) return true;
  return JSON.stringify(a.status) !== JSON.stringify(b.status);
}
