// What counts as a pod transition for the reporter: a change of phase or reason, of any
// condition's status, of any container's state (waiting/running/terminated and why), of its
// readiness, start or restart count, or the start of termination. Changes outside these
// (a message reworded, a new IP on the same phase) refresh the last queued update instead.
import type { ContainerStateView, ContainerStatusView, PodStatusView } from "../pods/pod-manager-api.js";

function stateKey(state: ContainerStateView | Record<string, never>): string {
  if ("waiting" in state) return `waiting:${state.waiting.reason}`;
  if ("running" in state) return `running:${state.running.startedAt}`;
  if ("terminated" in state) return `terminated:${state.terminated.reason}:${state.terminated.exitCode}`;
  return "none";
}

function containerKey(c: ContainerStatusView): string {
  return `${c.name}=${stateKey(c.state)}/${c.ready ? "ready" : "unready"}/${c.started ? "started" : "-"}/${c.restartCount}`;
}

export function podTransitionKey(pod: PodStatusView): string {
  const { status } = pod;
  return [
    status.phase,
    status.reason ?? "",
    pod.terminating ? "terminating" : "",
    status.conditions.map((c) => `${c.type}=${c.status}`).join(","),
    status.initContainerStatuses.map(containerKey).join(","),
    status.containerStatuses.map(containerKey).join(","),
  ].join("|");
}
