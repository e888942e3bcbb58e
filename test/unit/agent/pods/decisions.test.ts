// The worker's decisions from spec + runtime state: sandbox (re)creation, init order, restart
// policy, definition changes and probe failures.
import { describe, expect, it } from "vitest";
import { podSpecHash } from "../../../../agent/podspec/hash.js";
import type { PodSpec } from "../../../../agent/podspec/types.js";
import { computePodActions, shouldRestart, type ProbeVerdicts } from "../../../../agent/pods/decisions.js";
import type { ObservedContainer, ObservedPod, ObservedSandbox } from "../../../../agent/pods/observed.js";
import { sandboxHash } from "../../../../agent/pods/sandbox-config.js";
import { container, podSpec } from "./pod-spec-fixture.js";

const healthy: ProbeVerdicts = { livenessFailed: () => false, startupFailed: () => false };

function sandbox(spec: PodSpec, extra: Partial<ObservedSandbox> = {}): ObservedSandbox {
  return {
    id: "s0",
    attempt: 0,
    ready: true,
    createdAt: 1,
    hash: sandboxHash(spec),
    cgroupParent: "",
    ips: [],
    ...extra,
  };
}

let seq = 0;
function instance(spec: PodSpec, name: string, extra: Partial<ObservedContainer> = {}): ObservedContainer {
  const c = [...spec.initContainers, ...spec.containers].find((x) => x.name === name)!;
  seq++;
  return {
    id: `${name}-${seq}`,
    sandboxId: "s0",
    name,
    restartCount: 0,
    hash: podSpecHash(c),
    state: "running",
    createdAt: seq,
    exitCode: 0,
    reason: "",
    message: "",
    image: c.image,
    imageRef: "",
    logPath: "",
    ...extra,
  };
}

function observed(sandboxes: ObservedSandbox[], containers: ObservedContainer[] = []): ObservedPod {
  return { sandboxes, containers };
}

describe("shouldRestart", () => {
  it("follows the restart policy", () => {
    expect(shouldRestart("Always", 0)).toBe(true);
    expect(shouldRestart("OnFailure", 0)).toBe(false);
    expect(shouldRestart("OnFailure", 2)).toBe(true);
    expect(shouldRestart("Never", 2)).toBe(false);
  });
});

describe("computePodActions", () => {
  it("creates the first sandbox at attempt 0", () => {
    const spec = podSpec("p");
    const actions = computePodActions(spec, observed([]), healthy);
    expect(actions.createSandbox).toEqual({ attempt: 0, reason: "first" });
    expect(actions.killPod).toBe(false);
  });

  it("re-creates a dead sandbox with the next attempt, killing what is left", () => {
    const spec = podSpec("p");
    const dead = sandbox(spec, { ready: false, attempt: 2 });
    const actions = computePodActions(spec, observed([dead], [instance(spec, "app")]), healthy);
    expect(actions.createSandbox).toEqual({ attempt: 3, reason: "dead" });
    expect(actions.killPod).toBe(true);
  });

  it("re-creates the sandbox when what it is made of changed", () => {
    const spec = podSpec("p", { hostNetwork: true });
    const actions = computePodActions(spec, observed([sandbox(podSpec("p"))]), healthy);
    expect(actions.createSandbox).toEqual({ attempt: 1, reason: "changed" });
    expect(actions.killPod).toBe(true);
  });

  it("gives a restartPolicy Never pod no second sandbox once its containers ran", () => {
    const spec = podSpec("p", { restartPolicy: "Never" });
    const dead = sandbox(spec, { ready: false });
    const actions = computePodActions(
      spec,
      observed([dead], [instance(spec, "app", { state: "exited", exitCode: 137 })]),
      healthy,
    );
    expect(actions.createSandbox).toBeUndefined();
    expect(actions.podDone).toBe(true);
  });

  it("runs init containers one at a time, in order", () => {
    const spec = podSpec("p", { initContainers: [container("one"), container("two")] });
    const s = sandbox(spec);
    expect(computePodActions(spec, observed([s]), healthy).start.map((x) => x.container.name)).toEqual([
      "one",
    ]);
    const oneRunning = instance(spec, "one");
    expect(computePodActions(spec, observed([s], [oneRunning]), healthy).start).toEqual([]);
    const oneDone = instance(spec, "one", { state: "exited", exitCode: 0 });
    expect(
      computePodActions(spec, observed([s], [oneDone]), healthy).start.map((x) => x.container.name),
    ).toEqual(["two"]);
    const twoDone = instance(spec, "two", { state: "exited", exitCode: 0 });
    expect(
      computePodActions(spec, observed([s], [oneDone, twoDone]), healthy).start.map((x) => x.container.name),
    ).toEqual(["app"]);
  });

  it("restarts a failed init container with backoff, or fails the pod under Never", () => {
    const always = podSpec("p", { initContainers: [container("one")] });
    const failed = instance(always, "one", { state: "exited", exitCode: 1, restartCount: 2 });
    const restart = computePodActions(always, observed([sandbox(always)], [failed]), healthy);
    expect(restart.start).toEqual([
      expect.objectContaining({ role: "init", restartCount: 3, isRestart: true }),
    ]);

    const never = podSpec("p", { restartPolicy: "Never", initContainers: [container("one")] });
    const failedNever = instance(never, "one", { state: "exited", exitCode: 1 });
    const actions = computePodActions(never, observed([sandbox(never)], [failedNever]), healthy);
    expect(actions.initFailed).toBe(true);
    expect(actions.killPod).toBe(true);
    expect(actions.start).toEqual([]);
  });

  it("does not run init containers again once app containers started in the sandbox", () => {
    const spec = podSpec("p", { initContainers: [container("one")] });
    const app = instance(spec, "app");
    expect(computePodActions(spec, observed([sandbox(spec)], [app]), healthy).start).toEqual([]);
  });

  it("restarts exited app containers by policy, counting restarts", () => {
    const always = podSpec("p");
    const exited = instance(always, "app", { state: "exited", exitCode: 0, restartCount: 4 });
    expect(computePodActions(always, observed([sandbox(always)], [exited]), healthy).start).toEqual([
      expect.objectContaining({ restartCount: 5, isRestart: true, definitionChanged: false }),
    ]);
    const onFailure = podSpec("p", { restartPolicy: "OnFailure" });
    const succeeded = instance(onFailure, "app", { state: "exited", exitCode: 0 });
    const done = computePodActions(onFailure, observed([sandbox(onFailure)], [succeeded]), healthy);
    expect(done.start).toEqual([]);
    expect(done.podDone).toBe(true);
    expect(done.killPod).toBe(true);
  });

  it("replaces a running container whose definition changed, whatever the policy", () => {
    const old = podSpec("p", { restartPolicy: "Never", containers: [container("a"), container("b")] });
    const next = podSpec("p", {
      restartPolicy: "Never",
      containers: [container("a"), container("b", { args: ["x"] })],
    });
    const a = instance(old, "a");
    const b = instance(old, "b");
    const actions = computePodActions(next, observed([sandbox(next)], [a, b]), healthy);
    expect(actions.kill).toEqual([
      expect.objectContaining({
        id: b.id,
        reason: "definition-changed",
        message: "Container b definition changed, will be restarted",
        gracePeriodSeconds: 30,
      }),
    ]);
    expect(actions.start).toEqual([
      expect.objectContaining({ restartCount: 1, definitionChanged: true, isRestart: false }),
    ]);
    expect(actions.start[0]?.container.name).toBe("b");
  });

  it("kills a container whose liveness probe failed, with the probe's grace period", () => {
    const spec = podSpec("p", {
      containers: [
        container("app", { livenessProbe: { exec: { command: ["x"] }, terminationGracePeriodSeconds: 3 } }),
      ],
    });
    const app = instance(spec, "app");
    const failed: ProbeVerdicts = { livenessFailed: (id) => id === app.id, startupFailed: () => false };
    const actions = computePodActions(spec, observed([sandbox(spec)], [app]), failed);
    expect(actions.kill).toEqual([
      expect.objectContaining({
        reason: "liveness",
        message: "Container app failed liveness probe, will be restarted",
        gracePeriodSeconds: 3,
      }),
    ]);
    expect(actions.start).toHaveLength(1);

    const never = podSpec("p", { restartPolicy: "Never" });
    const nApp = instance(never, "app");
    const nActions = computePodActions(never, observed([sandbox(never)], [nApp]), {
      livenessFailed: () => false,
      startupFailed: () => true,
    });
    expect(nActions.kill[0]?.message).toBe("Container app failed startup probe");
    expect(nActions.start).toEqual([]);
  });

  it("kills containers that are no longer in the spec", () => {
    const old = podSpec("p", { containers: [container("app"), container("gone")] });
    const next = podSpec("p");
    const actions = computePodActions(
      next,
      observed([sandbox(next)], [instance(old, "app"), instance(old, "gone")]),
      healthy,
    );
    expect(actions.kill.map((k) => [k.name, k.reason])).toEqual([["gone", "not-in-spec"]]);
  });

  it("stops older sandboxes that still run", () => {
    const spec = podSpec("p");
    const current = sandbox(spec, { id: "s1", attempt: 1 });
    const old = sandbox(spec, { id: "s0", attempt: 0 });
    const actions = computePodActions(
      spec,
      observed([current, old], [instance(spec, "app", { sandboxId: "s1" })]),
      healthy,
    );
    expect(actions.stopSandboxes).toEqual(["s0"]);
  });
});
