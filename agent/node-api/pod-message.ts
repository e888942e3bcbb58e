// PodStatusView and PodEvent (the pod manager's shapes) as berth.v1 messages.
import type {
  ContainerState,
  ContainerStatus,
  Pod,
  PodEvent as PodEventMessage,
} from "../api/generated/berth.js";
import type {
  ContainerStateView,
  ContainerStatusView,
  PodEvent,
  PodStatusView,
} from "../pods/pod-manager-api.js";
import { podToJson } from "./pod-json.js";

export function podMessage(view: PodStatusView): Pod {
  const { metadata, status, spec, source } = view;
  return {
    metadata: {
      name: metadata.name,
      namespace: metadata.namespace,
      uid: metadata.uid,
      labels: { ...metadata.labels },
      annotations: { ...metadata.annotations },
    },
    status: {
      phase: status.phase,
      conditions: status.conditions.map((c) => ({
        type: c.type,
        status: c.status,
        lastTransitionTime: c.lastTransitionTime,
        reason: c.reason ?? "",
        message: c.message ?? "",
      })),
      message: status.message ?? "",
      reason: status.reason ?? "",
      hostIp: status.hostIP ?? "",
      podIp: status.podIP ?? "",
      podIps: status.podIPs.map((p) => p.ip),
      startTime: status.startTime ?? "",
      qosClass: status.qosClass,
      initContainerStatuses: status.initContainerStatuses.map(containerStatusMessage),
      containerStatuses: status.containerStatuses.map(containerStatusMessage),
    },
    source: source.kind === "file" ? { kind: "file", path: source.path } : { kind: "api", path: "" },
    terminating: view.terminating,
    initContainerNames: spec.initContainers.map((c) => c.name),
    containerNames: spec.containers.map((c) => c.name),
    restartPolicy: spec.restartPolicy,
    nodeName: spec.nodeName ?? "",
    podJson: podToJson(view),
  };
}

function containerStatusMessage(s: ContainerStatusView): ContainerStatus {
  const lastState = "waiting" in s.lastState || "running" in s.lastState || "terminated" in s.lastState;
  return {
    name: s.name,
    state: containerStateMessage(s.state),
    ...(lastState && { lastState: containerStateMessage(s.lastState as ContainerStateView) }),
    ready: s.ready,
    started: s.started,
    restartCount: s.restartCount,
    image: s.image,
    imageId: s.imageID,
    containerId: s.containerID ?? "",
  };
}

function containerStateMessage(state: ContainerStateView): ContainerState {
  if ("waiting" in state) {
    const w = state.waiting;
    return { state: { $case: "waiting", value: { reason: w.reason, message: w.message ?? "" } } };
  }
  if ("running" in state)
    return { state: { $case: "running", value: { startedAt: state.running.startedAt } } };
  const t = state.terminated;
  return {
    state: {
      $case: "terminated",
      value: {
        exitCode: t.exitCode,
        signal: t.signal ?? 0,
        reason: t.reason,
        message: t.message ?? "",
        startedAt: t.startedAt,
        finishedAt: t.finishedAt,
        containerId: t.containerID,
      },
    },
  };
}

export function podEventMessage(event: PodEvent): PodEventMessage {
  return {
    time: event.time,
    type: event.type,
    reason: event.reason,
    message: event.message,
    pod: { namespace: event.pod.namespace, name: event.pod.name, uid: event.pod.uid },
    fieldPath: event.fieldPath ?? "",
    count: event.count,
  };
}
