// Status computation: container states and reasons, phase by the kubelet's rules, conditions
// with stable transition times, pod IPs.
import { describe, expect, it } from "vitest";
import type { PodSpec } from "../../../../agent/podspec/types.js";
import type { ObservedContainer, ObservedPod } from "../../../../agent/pods/observed.js";
import type { ContainerStatusView } from "../../../../agent/pods/pod-manager-api.js";
import {
  computePodStatus,
  podPhase,
  rfc3339,
  type StatusInput,
  type WaitingReason,
} from "../../../../agent/pods/status.js";
import { container, podSpec } from "./pod-spec-fixture.js";

const NOW = Date.parse("2025-03-01T12:00:00.500Z");

function input(spec: PodSpec, observed: ObservedPod, extra: Partial<StatusInput> = {}): StatusInput {
  return {
    spec,
    source: { kind: "api" },
    terminating: false,
    observed,
    probes: { ready: () => true, started: () => true },
    waiting: new Map<string, WaitingReason>(),
    hostIPs: ["192.0.2.1"],
    now: NOW,
    startTime: NOW - 60_000,
    ...extra,
  };
}

function c(name: string, extra: Partial<ObservedContainer> = {}): ObservedContainer {
  return {
    id: `${name}-id`,
    sandboxId: "s0",
    name,
    restartCount: 0,
    hash: "",
    state: "running",
    createdAt: NOW - 30_000,
    startedAt: NOW - 29_000,
    exitCode: 0,
    reason: "",
    message: "",
    image: "img",
    imageRef: "sha256:abc",
    logPath: "",
    ...extra,
  };
}

const ready = {
  id: "s0",
  attempt: 0,
  ready: true,
  createdAt: 0,
  hash: "",
  cgroupParent: "",
  ips: ["10.0.0.5", "fd00::5"],
};

function view(
  state: ContainerStatusView["state"],
  lastState: ContainerStatusView["lastState"] = {},
): ContainerStatusView {
  return {
    name: "x",
    state,
    lastState,
    ready: false,
    started: false,
    restartCount: 0,
    image: "i",
    imageID: "",
  };
}

const terminated = (exitCode: number) => ({
  terminated: { exitCode, reason: "", startedAt: "", finishedAt: "", containerID: "" },
});

describe("podPhase", () => {
  it("is Pending while something waits and Running once everything runs", () => {
    const always = { restartPolicy: "Always" as const };
    expect(podPhase(always, [], [view({ waiting: { reason: "ContainerCreating" } })])).toBe("Pending");
    expect(podPhase(always, [], [view({ running: { startedAt: "" } })])).toBe("Running");
    expect(
      podPhase(
        always,
        [view({ running: { startedAt: "" } })],
        [view({ waiting: { reason: "PodInitializing" } })],
      ),
    ).toBe("Pending");
  });

  it("keeps a crash-looping Always pod Running", () => {
    const state = view({ waiting: { reason: "CrashLoopBackOff" } }, terminated(1));
    expect(podPhase({ restartPolicy: "Always" }, [], [state])).toBe("Running");
  });

  it("ends OnFailure and Never pods by their exit codes", () => {
    expect(podPhase({ restartPolicy: "Never" }, [], [view(terminated(0)), view(terminated(0))])).toBe(
      "Succeeded",
    );
    expect(podPhase({ restartPolicy: "Never" }, [], [view(terminated(0)), view(terminated(1))])).toBe(
      "Failed",
    );
    expect(podPhase({ restartPolicy: "OnFailure" }, [], [view(terminated(0))])).toBe("Succeeded");
    expect(podPhase({ restartPolicy: "OnFailure" }, [], [view(terminated(0)), view(terminated(2))])).toBe(
      "Running",
    );
    expect(
      podPhase(
        { restartPolicy: "Never" },
        [view(terminated(1))],
        [view({ waiting: { reason: "PodInitializing" } })],
      ),
    ).toBe("Failed");
  });
});

describe("computePodStatus", () => {
  it("shows a pod not yet started as Pending with ContainerCreating, or PodInitializing with init containers", () => {
    const plain = computePodStatus(input(podSpec("p"), { sandboxes: [], containers: [] }));
    expect(plain.status.phase).toBe("Pending");
    expect(plain.status.containerStatuses[0]).toMatchObject({
      state: { waiting: { reason: "ContainerCreating" } },
      ready: false,
      restartCount: 0,
      image: "berth.test/busybox:1",
    });
    const withInit = computePodStatus(
      input(podSpec("p", { initContainers: [container("init")] }), { sandboxes: [], containers: [] }),
    );
    expect(withInit.status.initContainerStatuses[0]?.state).toEqual({
      waiting: { reason: "PodInitializing" },
    });
    expect(withInit.status.containerStatuses[0]?.state).toEqual({ waiting: { reason: "PodInitializing" } });
    expect(withInit.status.conditions.find((x) => x.type === "Initialized")).toMatchObject({
      status: "False",
      reason: "ContainersNotInitialized",
      message: "containers with incomplete status: [init]",
    });
  });

  it("reports running containers, readiness from probes, and the pod's IPs", () => {
    const spec = podSpec("p", {
      containers: [container("a", { readinessProbe: { exec: { command: ["x"] } } }), container("b")],
    });
    const status = computePodStatus(
      input(
        spec,
        { sandboxes: [ready], containers: [c("a"), c("b")] },
        { probes: { ready: () => false, started: () => true } },
      ),
    );
    expect(status.status.phase).toBe("Running");
    expect(status.status.podIP).toBe("10.0.0.5");
    expect(status.status.podIPs).toEqual([{ ip: "10.0.0.5" }, { ip: "fd00::5" }]);
    expect(status.status.hostIP).toBe("192.0.2.1");
    expect(status.status.startTime).toBe("2025-03-01T11:59:00Z");
    const [a, b] = status.status.containerStatuses;
    expect(a).toMatchObject({
      ready: false,
      started: true,
      containerID: "berth://a-id",
      imageID: "sha256:abc",
    });
    expect(a?.state).toEqual({ running: { startedAt: "2025-03-01T11:59:31Z" } });
    expect(b?.ready).toBe(true);
    expect(status.status.conditions.find((x) => x.type === "Ready")).toMatchObject({
      status: "False",
      reason: "ContainersNotReady",
      message: "containers with unready status: [a]",
    });
  });

  it("holds a container with a startup probe as not started", () => {
    const spec = podSpec("p", {
      containers: [container("a", { startupProbe: { exec: { command: ["x"] } } })],
    });
    const status = computePodStatus(
      input(
        spec,
        { sandboxes: [ready], containers: [c("a")] },
        { probes: { ready: () => true, started: () => false } },
      ),
    );
    expect(status.status.containerStatuses[0]).toMatchObject({ started: false, ready: false });
  });

  it("shows a container waiting to restart with the exit as its last state", () => {
    const spec = podSpec("p");
    const previous = c("app", {
      id: "old",
      state: "exited",
      exitCode: 2,
      reason: "Error",
      restartCount: 0,
      finishedAt: NOW - 20_000,
    });
    const latest = c("app", {
      id: "new",
      state: "exited",
      exitCode: 137,
      reason: "OOMKilled",
      restartCount: 1,
      createdAt: NOW - 10_000,
      finishedAt: NOW - 5_000,
      message: "oom",
    });
    const waiting = new Map([
      [
        "app",
        {
          reason: "CrashLoopBackOff",
          message: "back-off 20s restarting failed container=app pod=p_default(uid-p)",
        },
      ],
    ]);
    const status = computePodStatus(
      input(spec, { sandboxes: [ready], containers: [previous, latest] }, { waiting }),
    );
    const app = status.status.containerStatuses[0]!;
    expect(app.state).toEqual({ waiting: waiting.get("app") });
    expect(app.lastState).toEqual({
      terminated: {
        exitCode: 137,
        reason: "OOMKilled",
        message: "oom",
        startedAt: rfc3339(NOW - 29_000),
        finishedAt: rfc3339(NOW - 5_000),
        containerID: "berth://new",
      },
    });
    expect(app.restartCount).toBe(1);
    expect(status.status.phase).toBe("Running");
    // Without a waiting reason, the latest exit is the state and the one before the last state.
    const plain = computePodStatus(input(spec, { sandboxes: [ready], containers: [previous, latest] })).status
      .containerStatuses[0]!;
    expect(plain.state).toMatchObject({ terminated: { exitCode: 137 } });
    expect(plain.lastState).toMatchObject({ terminated: { exitCode: 2, containerID: "berth://old" } });
  });

  it("keeps transition times while a condition holds, and a finished phase for good", () => {
    const spec = podSpec("p", { restartPolicy: "Never" });
    const first = computePodStatus(input(spec, { sandboxes: [ready], containers: [c("app")] }));
    const later = computePodStatus(
      input(spec, { sandboxes: [ready], containers: [c("app")] }, { now: NOW + 60_000, previous: first }),
    );
    expect(later.status.conditions).toEqual(first.status.conditions);
    const done = computePodStatus(
      input(
        spec,
        {
          sandboxes: [{ ...ready, ready: false }],
          containers: [c("app", { state: "exited", exitCode: 0, finishedAt: NOW })],
        },
        { now: NOW + 120_000, previous: later },
      ),
    );
    expect(done.status.phase).toBe("Succeeded");
    expect(done.status.conditions.find((x) => x.type === "Ready")).toMatchObject({
      status: "False",
      reason: "PodCompleted",
      lastTransitionTime: "2025-03-01T12:02:00Z",
    });
    // The stopped sandbox has no IP any more, but the pod keeps reporting the one it had.
    expect(done.status.podIP).toBe("10.0.0.5");
    // Whatever the runtime shows next, a finished pod stays finished.
    const after = computePodStatus(input(spec, { sandboxes: [], containers: [] }, { previous: done }));
    expect(after.status.phase).toBe("Succeeded");
  });

  it("gives host-network pods the node's addresses", () => {
    const spec = podSpec("p", { hostNetwork: true });
    const status = computePodStatus(
      input(spec, { sandboxes: [{ ...ready, ips: [] }], containers: [c("app")] }),
    );
    expect(status.status.podIPs).toEqual([{ ip: "192.0.2.1" }]);
  });
});
