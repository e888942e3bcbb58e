// Pods, events and stats in the shapes `berth explain` receives, for tests of its analysis.
// Times are on 2026-03-01 UTC; NOW is 12:05:00.
import type { PodEvent } from "../../../../../agent/api/generated/berth.js";
import type { ExplainInput, ContainerUsage, LogTail } from "../../../../../agent/cli/explain/types.js";
import { podFromJson, podToJson, type PodJson } from "../../../../../agent/node-api/pod-json.js";
import type {
  ContainerStateView,
  ContainerStatusView,
  PodStatusView,
} from "../../../../../agent/pods/pod-manager-api.js";
import { validatePod } from "../../../../../agent/podspec/parse.js";
import { viewOf } from "../../node-api/fake-pod-manager.js";

export const NOW = Date.parse("2026-03-01T12:05:00Z");
/** "12:01:03" -> "2026-03-01T12:01:03Z". */
export const at = (clock: string): string => `2026-03-01T${clock}Z`;
export const MiB = 1024 * 1024;

export const running = (startedAt: string): ContainerStateView => ({ running: { startedAt: at(startedAt) } });
export const waiting = (reason: string, message?: string): ContainerStateView => ({
  waiting: { reason, ...(message !== undefined && { message }) },
});
export const terminated = (
  exitCode: number,
  reason: string,
  startedAt: string,
  finishedAt: string,
  id = "c0ffee",
): ContainerStateView => ({
  terminated: {
    exitCode,
    reason,
    startedAt: at(startedAt),
    finishedAt: at(finishedAt),
    containerID: `berth://${id}`,
  },
});

export function status(
  name: string,
  state: ContainerStateView,
  extra: Partial<ContainerStatusView> = {},
): ContainerStatusView {
  const isRunning = "running" in state;
  return {
    name,
    state,
    lastState: {},
    ready: isRunning,
    started: isRunning,
    restartCount: 0,
    image: "busybox:1.36",
    imageID: "sha256:0123",
    containerID: "berth://current",
    ...extra,
  };
}

export interface PodFixture {
  /** Containers of the manifest (name, image and anything else a manifest container has). */
  containers: Record<string, unknown>[];
  initContainers?: Record<string, unknown>[];
  restartPolicy?: "Always" | "OnFailure" | "Never";
  status: Partial<PodStatusView["status"]>;
}

/** A pod as pod_json carries it (quantities as text), from a manifest and a status. */
export function pod(fixture: PodFixture): PodJson {
  const spec = validatePod({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "web", namespace: "default", uid: "uid-1" },
    spec: {
      terminationGracePeriodSeconds: 30,
      restartPolicy: fixture.restartPolicy ?? "Always",
      initContainers: fixture.initContainers ?? [],
      containers: fixture.containers,
    },
  });
  const view = viewOf(
    spec,
    { kind: "api" },
    { phase: "Running", startTime: at("11:00:00"), ...fixture.status },
  );
  return podFromJson(podToJson(view));
}

export function event(
  reason: string,
  message: string,
  opts: { container?: string; init?: boolean; time: string; count?: number; type?: string },
): PodEvent {
  return {
    time: at(opts.time),
    type:
      opts.type ??
      (["Started", "Created", "Pulled", "Killing", "Scheduled"].includes(reason) ? "Normal" : "Warning"),
    reason,
    message,
    pod: { namespace: "default", name: "web", uid: "uid-1" },
    fieldPath: opts.container ? `spec.${opts.init ? "initContainers" : "containers"}{${opts.container}}` : "",
    count: opts.count ?? 1,
  };
}

export function input(
  p: PodJson,
  events: PodEvent[] = [],
  extra: { usage?: ContainerUsage[]; logTails?: Record<string, LogTail> } = {},
): ExplainInput {
  return {
    pod: p,
    events,
    usage: extra.usage ?? [],
    logTails: new Map(Object.entries(extra.logTails ?? {})),
    now: NOW,
    utc: true,
  };
}

export const readyConditions = (ready: boolean, since = "11:00:05"): PodStatusView["status"]["conditions"] =>
  (["Initialized", "ContainersReady", "Ready"] as const).map((type) => ({
    type,
    status: type === "Initialized" || ready ? "True" : "False",
    lastTransitionTime: at(since),
  }));
