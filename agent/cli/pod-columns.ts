// The columns of `berth pods`, computed the way `kubectl get pods` computes them, so that
// STATUS reads Running, CrashLoopBackOff, Completed, Init:0/2, Terminating exactly where
// kubectl would show them.
import type { ContainerState, ContainerStatus, Pod } from "../api/generated/berth.js";

export interface PodColumns {
  name: string;
  namespace: string;
  /** "ready/total" app containers. */
  ready: string;
  status: string;
  /** "3" or "3 (2m ago)". */
  restarts: string;
  age: string;
  ip: string;
}

type StateCase = NonNullable<ContainerState["state"]>;
type Waiting = Extract<StateCase, { $case: "waiting" }>["value"];
type Terminated = Extract<StateCase, { $case: "terminated" }>["value"];

const waitingOf = (s?: ContainerState): Waiting | undefined =>
  s?.state?.$case === "waiting" ? s.state.value : undefined;
const terminatedOf = (s?: ContainerState): Terminated | undefined =>
  s?.state?.$case === "terminated" ? s.state.value : undefined;
const isRunning = (s?: ContainerState): boolean => s?.state?.$case === "running";

export function podColumns(pod: Pod, now: number): PodColumns {
  const status = pod.status;
  const initStatuses = status?.initContainerStatuses ?? [];
  const appStatuses = status?.containerStatuses ?? [];
  const initTotal = pod.initContainerNames.length;
  let reason = status?.reason || status?.phase || "Unknown";
  let restarts = 0;
  let readyContainers = 0;
  let lastRestart: number | undefined;
  const noteRestart = (c: ContainerStatus): void => {
    restarts += c.restartCount;
    const finished = terminatedOf(c.lastState)?.finishedAt;
    const at = finished ? Date.parse(finished) : NaN;
    if (!Number.isNaN(at) && (lastRestart === undefined || at > lastRestart)) lastRestart = at;
  };

  // The first init container that has not completed decides the status.
  let initializing = false;
  for (const [i, c] of initStatuses.entries()) {
    noteRestart(c);
    const terminated = terminatedOf(c.state);
    const waiting = waitingOf(c.state);
    if (terminated !== undefined && terminated.exitCode === 0) continue;
    initializing = true;
    if (terminated !== undefined) {
      if (terminated.reason !== "") reason = `Init:${terminated.reason}`;
      else if (terminated.signal !== 0) reason = `Init:Signal:${terminated.signal}`;
      else reason = `Init:ExitCode:${terminated.exitCode}`;
    } else if (waiting !== undefined && waiting.reason !== "" && waiting.reason !== "PodInitializing") {
      reason = `Init:${waiting.reason}`;
    } else {
      reason = `Init:${i}/${initTotal}`;
    }
    break;
  }

  if (!initializing || conditionIsTrue(pod, "Initialized")) {
    restarts = 0;
    let hasRunning = false;
    // The last container's state wins, as kubectl walks the list backwards.
    for (const c of [...appStatuses].reverse()) {
      noteRestart(c);
      const waiting = waitingOf(c.state);
      const terminated = terminatedOf(c.state);
      if (waiting !== undefined && waiting.reason !== "") {
        reason = waiting.reason;
      } else if (terminated !== undefined && terminated.reason !== "") {
        reason = terminated.reason;
      } else if (terminated !== undefined) {
        reason = terminated.signal !== 0 ? `Signal:${terminated.signal}` : `ExitCode:${terminated.exitCode}`;
      } else if (c.ready && isRunning(c.state)) {
        hasRunning = true;
        readyContainers++;
      }
    }
    // A finished container next to running ones: the pod is still up.
    if (reason === "Completed" && hasRunning) {
      reason = pod.status?.conditions.some((c) => c.type === "Ready" && c.status === "True")
        ? "Running"
        : "NotReady";
    }
  }

  const phase = status?.phase ?? "";
  if (pod.terminating && phase !== "Succeeded" && phase !== "Failed") reason = "Terminating";

  const startTime = status?.startTime ? Date.parse(status.startTime) : NaN;
  return {
    name: pod.metadata?.name ?? "",
    namespace: pod.metadata?.namespace ?? "",
    ready: `${readyContainers}/${pod.containerNames.length}`,
    status: reason,
    restarts:
      lastRestart === undefined || restarts === 0
        ? String(restarts)
        : `${restarts} (${humanDuration(now - lastRestart)} ago)`,
    age: Number.isNaN(startTime) ? "<unknown>" : humanDuration(now - startTime),
    ip: status?.podIp || "<none>",
  };
}

function conditionIsTrue(pod: Pod, type: string): boolean {
  return pod.status?.conditions.some((c) => c.type === type && c.status === "True") ?? false;
}

/** A duration as kubectl prints ages: "45s", "3m12s", "15m", "5h20m", "2d3h", "400d", "2y30d". */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  // Up to a second in the future is a clock skew, not an invalid time.
  if (seconds < -1) return "<invalid>";
  if (seconds < 0) return "0s";
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.trunc(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.trunc(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  const days = Math.trunc(hours / 24);
  if (hours < 24 * 8) return hours % 24 === 0 ? `${days}d` : `${days}d${hours % 24}h`;
  if (hours < 24 * 365 * 2) return `${days}d`;
  const years = Math.trunc(days / 365);
  if (hours < 24 * 365 * 8) return days % 365 === 0 ? `${years}y` : `${years}y${days % 365}d`;
  return `${years}y`;
}
