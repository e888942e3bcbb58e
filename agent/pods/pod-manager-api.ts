// The contract between the kubelet layer (pod workers) and its front ends (berth.v1 Node
// API, static manifests, the CLI). Status and events have Kubernetes' shapes so that
// `berth describe` and `-o yaml` read like what kubectl users know.
import type { PodSpec } from "../podspec/types.js";

/** Where a pod came from: berth.v1 ApplyPod (or `berth apply`) or a static manifest file. */
export type PodSource = { kind: "api" } | { kind: "file"; path: string };

export type PodPhase = "Pending" | "Running" | "Succeeded" | "Failed" | "Unknown";

export interface PodCondition {
  type: "PodScheduled" | "Initialized" | "ContainersReady" | "Ready" | "PodReadyToStartContainers";
  status: "True" | "False" | "Unknown";
  lastTransitionTime: string;
  reason?: string;
  message?: string;
}

export type ContainerStateView =
  | { waiting: { reason: string; message?: string } }
  | { running: { startedAt: string } }
  | {
      terminated: {
        exitCode: number;
        signal?: number;
        reason: string;
        message?: string;
        startedAt: string;
        finishedAt: string;
        containerID: string;
      };
    };

export interface ContainerStatusView {
  name: string;
  state: ContainerStateView;
  lastState: ContainerStateView | Record<string, never>;
  ready: boolean;
  started: boolean;
  restartCount: number;
  image: string;
  imageID: string;
  /** "berth://<id>" of the current container, when there is one. */
  containerID?: string;
}

export interface PodStatusView {
  metadata: {
    name: string;
    namespace: string;
    uid: string;
    labels: Record<string, string>;
    annotations: Record<string, string>;
  };
  spec: PodSpec;
  source: PodSource;
  status: {
    phase: PodPhase;
    conditions: PodCondition[];
    message?: string;
    reason?: string;
    hostIP?: string;
    podIP?: string;
    podIPs: { ip: string }[];
    startTime?: string;
    qosClass: "Guaranteed" | "Burstable" | "BestEffort";
    initContainerStatuses: ContainerStatusView[];
    containerStatuses: ContainerStatusView[];
  };
  /** True once deletion was asked for (graceful termination under way). */
  terminating: boolean;
}

export interface PodEvent {
  /** RFC 3339 with milliseconds. */
  time: string;
  type: "Normal" | "Warning";
  /** Kubernetes' reasons: Scheduled, Pulling, Pulled, Created, Started, Killing, BackOff, Unhealthy, ProbeWarning, OOMKilling, Evicted, FailedCreatePodSandBox, ... */
  reason: string;
  message: string;
  pod: { namespace: string; name: string; uid: string };
  /** "spec.containers{name}" as kubectl prints it, when the event is about a container. */
  fieldPath?: string;
  /** Seen again: count grows instead of a new event, as Kubernetes aggregates. */
  count: number;
}

export type PodChange =
  { type: "ADDED" | "MODIFIED" | "DELETED"; pod: PodStatusView } | { type: "EVENT"; event: PodEvent };

export interface PodManagerApi {
  /** Adds or updates a pod (matched by namespace/name); returns its status right after. */
  apply(spec: PodSpec, source: PodSource): Promise<PodStatusView>;
  /** Graceful deletion: preStop, TERM, grace period, KILL, then removal. Unknown pod: NotFoundError. */
  delete(namespace: string, name: string, gracePeriodSeconds?: number): Promise<void>;
  get(namespace: string, name: string): PodStatusView | undefined;
  list(): PodStatusView[];
  /** Recent events, oldest first (bounded history). */
  events(filter?: { namespace?: string; name?: string }): PodEvent[];
  /** Every status change and event from now on; returns the unsubscribe function. */
  watch(listener: (change: PodChange) => void): () => void;
}
