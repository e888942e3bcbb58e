// What a pod's worker must do next, decided from the spec and what the runtime holds, as the
// kubelet decides it: (re)create the sandbox, run init containers one by one, start or restart
// app containers by restart policy, replace containers whose definition changed, kill those
// that failed liveness or startup probes. Pure: no runtime calls, no clock.
import { podSpecHash } from "../podspec/hash.js";
import type { Container, PodSpec, RestartPolicy } from "../podspec/types.js";
import type { ObservedContainer, ObservedPod, ObservedSandbox } from "./observed.js";
import { sandboxHash } from "./sandbox-config.js";

export type ContainerRole = "init" | "app";

export interface ProbeVerdicts {
  livenessFailed(containerId: string): boolean;
  startupFailed(containerId: string): boolean;
}

export interface ContainerStart {
  readonly container: Container;
  readonly role: ContainerRole;
  readonly restartCount: number;
  /** An earlier instance exists and failed or was killed: CrashLoopBackOff applies. */
  readonly isRestart: boolean;
  /** The spec changed: the backoff starts over. */
  readonly definitionChanged: boolean;
}

export type KillReason = "definition-changed" | "liveness" | "startup" | "not-in-spec" | "stale";

export interface ContainerKill {
  readonly id: string;
  readonly name: string;
  readonly reason: KillReason;
  /** The Killing event's message, as the kubelet words it. */
  readonly message: string;
  readonly gracePeriodSeconds: number;
}

export interface PodActions {
  /** A new sandbox is needed (none yet, it died, or what it is made of changed). */
  readonly createSandbox?: { readonly attempt: number; readonly reason: "first" | "dead" | "changed" };
  /** Stop every container and the sandboxes: before a new sandbox, or because the pod is done. */
  readonly killPod: boolean;
  /** Sandboxes other than the current one that still run. */
  readonly stopSandboxes: readonly string[];
  readonly kill: readonly ContainerKill[];
  /** At most one init container, or the app containers, in spec order. */
  readonly start: readonly ContainerStart[];
  /** An init container failed under restartPolicy Never: the pod has failed. */
  readonly initFailed: boolean;
  /** Nothing runs and nothing will start again (restartPolicy OnFailure or Never). */
  readonly podDone: boolean;
}

export function shouldRestart(policy: RestartPolicy, exitCode: number): boolean {
  if (policy === "Always") return true;
  if (policy === "OnFailure") return exitCode !== 0;
  return false;
}

/** Newest instance first: the higher restart count, then the later creation. */
export function newestFirst(a: ObservedContainer, b: ObservedContainer): number {
  return b.restartCount - a.restartCount || b.createdAt - a.createdAt;
}

/** The latest instance of each container name, across every sandbox of the pod. */
export function latestByName(containers: readonly ObservedContainer[]): Map<string, ObservedContainer> {
  const latest = new Map<string, ObservedContainer>();
  for (const c of [...containers].sort(newestFirst)) if (!latest.has(c.name)) latest.set(c.name, c);
  return latest;
}

function isLive(c: ObservedContainer): boolean {
  return c.state === "running" || c.state === "created" || c.state === "unknown";
}

export function computePodActions(spec: PodSpec, observed: ObservedPod, verdicts: ProbeVerdicts): PodActions {
  const current = observed.sandboxes[0];
  const latest = latestByName(observed.containers);
  const policy = spec.restartPolicy;
  const grace = spec.terminationGracePeriodSeconds;
  const stopSandboxes = observed.sandboxes
    .slice(1)
    .filter((s) => s.ready)
    .map((s) => s.id);

  const sandboxReason =
    current === undefined
      ? "first"
      : !current.ready
        ? "dead"
        : current.hash !== "" && current.hash !== sandboxHash(spec)
          ? "changed"
          : undefined;
  if (sandboxReason !== undefined) {
    return sandboxActions(spec, observed, current, sandboxReason, latest, stopSandboxes);
  }
  const sandbox = current as ObservedSandbox;

  const kill: ContainerKill[] = [];
  const start: ContainerStart[] = [];
  const specNames = new Set([...spec.initContainers, ...spec.containers].map((c) => c.name));
  for (const c of observed.containers) {
    if (!isLive(c)) continue;
    if (!specNames.has(c.name)) {
      kill.push({
        id: c.id,
        name: c.name,
        reason: "not-in-spec",
        message: `Container ${c.name} is no longer in the pod spec, will be removed`,
        gracePeriodSeconds: grace,
      });
    } else if (latest.get(c.name)?.id !== c.id || c.sandboxId !== sandbox.id) {
      // An older instance still running (e.g. left by an interrupted restart).
      kill.push({
        id: c.id,
        name: c.name,
        reason: "stale",
        message: `Stopping container ${c.name}`,
        gracePeriodSeconds: grace,
      });
    }
  }

  const startOf = (container: Container, role: ContainerRole, definitionChanged = false): ContainerStart => {
    const previous = latest.get(container.name);
    return {
      container,
      role,
      restartCount: previous === undefined ? 0 : previous.restartCount + 1,
      isRestart: previous !== undefined && !definitionChanged,
      definitionChanged,
    };
  };

  const appStartedHere = spec.containers.some((c) =>
    observed.containers.some((o) => o.name === c.name && o.sandboxId === sandbox.id),
  );
  if (!appStartedHere) {
    const init = initStep(spec, observed, sandbox);
    if (init.kind === "failed") {
      return { killPod: sandbox.ready, stopSandboxes, kill, start: [], initFailed: true, podDone: true };
    }
    if (init.kind === "wait")
      return { killPod: false, stopSandboxes, kill, start, initFailed: false, podDone: false };
    if (init.kind === "start") {
      const previous = init.replaces;
      if (previous && isLive(previous)) {
        kill.push({
          id: previous.id,
          name: previous.name,
          reason: "stale",
          message: `Stopping container ${previous.name}`,
          gracePeriodSeconds: grace,
        });
      }
      start.push(startOf(init.container, "init"));
      return { killPod: false, stopSandboxes, kill, start, initFailed: false, podDone: false };
    }
  }

  for (const container of spec.containers) {
    const s = latest.get(container.name);
    const changed = s !== undefined && s.hash !== "" && s.hash !== podSpecHash(container);
    if (s === undefined) {
      start.push(startOf(container, "app"));
    } else if (s.state === "running" && s.sandboxId === sandbox.id) {
      const probeGrace = (kind: "livenessProbe" | "startupProbe"): number =>
        container[kind]?.terminationGracePeriodSeconds ?? grace;
      const restart = policy !== "Never";
      const suffix = restart ? ", will be restarted" : "";
      if (changed) {
        kill.push({
          id: s.id,
          name: s.name,
          reason: "definition-changed",
          message: `Container ${s.name} definition changed, will be restarted`,
          gracePeriodSeconds: grace,
        });
        // Kubernetes restarts a changed container whatever the restart policy.
        start.push(startOf(container, "app", true));
      } else if (verdicts.startupFailed(s.id) || verdicts.livenessFailed(s.id)) {
        const kind = verdicts.startupFailed(s.id) ? "startup" : "liveness";
        kill.push({
          id: s.id,
          name: s.name,
          reason: kind,
          message: `Container ${s.name} failed ${kind} probe${suffix}`,
          gracePeriodSeconds: probeGrace(kind === "startup" ? "startupProbe" : "livenessProbe"),
        });
        if (restart) start.push(startOf(container, "app"));
      }
    } else if (isLive(s)) {
      // Created but never started, state unknown, or running in a sandbox that is gone.
      if (!kill.some((k) => k.id === s.id)) {
        kill.push({
          id: s.id,
          name: s.name,
          reason: "stale",
          message: `Stopping container ${s.name}`,
          gracePeriodSeconds: grace,
        });
      }
      start.push(startOf(container, "app", changed));
    } else if (shouldRestart(policy, s.exitCode)) {
      start.push(startOf(container, "app", changed));
    }
  }

  const podDone =
    policy !== "Always" &&
    start.length === 0 &&
    spec.containers.every((c) => {
      const s = latest.get(c.name);
      return s !== undefined && s.state === "exited";
    });
  return { killPod: podDone && sandbox.ready, stopSandboxes, kill, start, initFailed: false, podDone };
}

type InitStep =
  | { kind: "done" }
  | { kind: "wait" }
  | { kind: "failed" }
  | { kind: "start"; container: Container; replaces?: ObservedContainer };

/** The init containers of the current sandbox, in order: the next to run, or why none runs. */
function initStep(spec: PodSpec, observed: ObservedPod, sandbox: ObservedSandbox): InitStep {
  const here = latestByName(observed.containers.filter((c) => c.sandboxId === sandbox.id));
  for (const container of spec.initContainers) {
    const s = here.get(container.name);
    if (s === undefined) return { kind: "start", container };
    if (s.state === "running") return { kind: "wait" };
    if (s.state !== "exited") return { kind: "start", container, replaces: s };
    if (s.exitCode === 0) continue;
    if (spec.restartPolicy === "Never") return { kind: "failed" };
    return { kind: "start", container, replaces: s };
  }
  return { kind: "done" };
}

function sandboxActions(
  spec: PodSpec,
  observed: ObservedPod,
  current: ObservedSandbox | undefined,
  reason: "first" | "dead" | "changed",
  latest: Map<string, ObservedContainer>,
  stopSandboxes: readonly string[],
): PodActions {
  const anyLive = observed.containers.some(isLive);
  const killPod = current !== undefined && (current.ready || anyLive);
  const none = { stopSandboxes, kill: [], start: [], initFailed: false };
  // As the kubelet: a Never pod whose containers ran does not get a second sandbox.
  if (reason === "dead" && spec.restartPolicy === "Never" && observed.containers.length > 0) {
    return { ...none, killPod, podDone: true };
  }
  // A pod that is done (OnFailure or Never, every container finished for good) is not revived.
  const wouldStart =
    reason !== "dead" ||
    spec.containers.some((c) => {
      const s = latest.get(c.name);
      return s === undefined || isLive(s) || shouldRestart(spec.restartPolicy, s.exitCode);
    });
  if (!wouldStart) return { ...none, killPod, podDone: true };
  return {
    ...none,
    createSandbox: { attempt: current === undefined ? 0 : current.attempt + 1, reason },
    killPod,
    podDone: false,
  };
}
