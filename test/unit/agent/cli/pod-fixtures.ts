// Pods in given states, as the Node API sends them, for tests of the CLI's rendering.
import type { Pod } from "../../../../agent/api/generated/berth.js";
import { podMessage } from "../../../../agent/node-api/pod-message.js";
import type {
  ContainerStateView,
  ContainerStatusView,
  PodStatusView,
} from "../../../../agent/pods/pod-manager-api.js";
import { validatePod } from "../../../../agent/podspec/parse.js";
import { viewOf } from "../node-api/fake-pod-manager.js";

export const NOW = Date.parse("2026-03-01T12:00:00Z");
export const ago = (seconds: number): string => new Date(NOW - seconds * 1000).toISOString();

export function status(
  name: string,
  state: ContainerStateView,
  extra: Partial<ContainerStatusView> = {},
): ContainerStatusView {
  return {
    name,
    state,
    lastState: {},
    ready: false,
    started: false,
    restartCount: 0,
    image: "busybox:1.36",
    imageID: "sha256:0123",
    ...extra,
  };
}

export const running = (secondsAgo = 60): ContainerStateView => ({ running: { startedAt: ago(secondsAgo) } });
export const waiting = (reason: string, message?: string): ContainerStateView => ({
  waiting: { reason, ...(message !== undefined && { message }) },
});
export const terminated = (
  exitCode: number,
  reason: string,
  finishedSecondsAgo = 30,
  signal?: number,
): ContainerStateView => ({
  terminated: {
    exitCode,
    reason,
    startedAt: ago(finishedSecondsAgo + 10),
    finishedAt: ago(finishedSecondsAgo),
    containerID: "berth://f00",
    ...(signal !== undefined && { signal }),
  },
});

export interface PodShape {
  init?: number;
  apps?: number;
  phase?: PodStatusView["status"]["phase"];
  initStatuses?: ContainerStatusView[];
  appStatuses?: ContainerStatusView[];
  conditions?: [string, "True" | "False"][];
  terminating?: boolean;
  reason?: string;
}

/** A pod with `init` init containers (init0..) and `apps` app containers (app0..). */
export function podIn(shape: PodShape): Pod {
  const spec = validatePod({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "web", uid: "uid-1" },
    spec: {
      initContainers: Array.from({ length: shape.init ?? 0 }, (_, i) => ({
        name: `init${i}`,
        image: "busybox",
      })),
      containers: Array.from({ length: shape.apps ?? 1 }, (_, i) => ({ name: `app${i}`, image: "busybox" })),
    },
  });
  const view = viewOf(
    spec,
    { kind: "api" },
    {
      phase: shape.phase ?? "Running",
      startTime: ago(3600),
      podIP: "10.88.0.9",
      initContainerStatuses: shape.initStatuses ?? [],
      containerStatuses: shape.appStatuses ?? [],
      conditions: (shape.conditions ?? []).map(([type, s]) => ({
        type: type as PodStatusView["status"]["conditions"][number]["type"],
        status: s,
        lastTransitionTime: ago(100),
      })),
      ...(shape.reason !== undefined && { reason: shape.reason }),
    },
  );
  return podMessage({ ...view, terminating: shape.terminating ?? false });
}
