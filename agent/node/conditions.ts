// The node's conditions with the kubelet's types, reasons and messages, so that tools and
// people who know `kubectl describe node` read them as they expect:
//   Ready           KubeletReady / KubeletNotReady (the runtime or the pod network is not ready)
//   MemoryPressure  KubeletHasSufficientMemory / KubeletHasInsufficientMemory
//   DiskPressure    KubeletHasNoDiskPressure / KubeletHasDiskPressure
//   PIDPressure     KubeletHasSufficientPID / KubeletHasInsufficientPID
// Each keeps the time its status last changed.
import type { StatusResponse } from "../../cri/api/generated/api.js";
import type { PressureCondition } from "../eviction/signals.js";

export type NodeConditionType = "Ready" | PressureCondition;
export type ConditionStatus = "True" | "False" | "Unknown";

export interface ConditionState {
  readonly type: NodeConditionType;
  readonly status: ConditionStatus;
  readonly reason: string;
  readonly message: string;
}

export interface NodeConditionView extends ConditionState {
  /** RFC 3339 with milliseconds. */
  readonly lastTransitionTime: string;
}

export const CONDITION_ORDER: readonly NodeConditionType[] = [
  "Ready",
  "MemoryPressure",
  "DiskPressure",
  "PIDPressure",
];

/** Ready from the CRI runtime's status: both RuntimeReady and NetworkReady must be true. */
export function readyCondition(status: StatusResponse | Error): ConditionState {
  if (status instanceof Error) {
    return {
      type: "Ready",
      status: "Unknown",
      reason: "KubeletNotReady",
      message: `container runtime status check failed: ${status.message}`,
    };
  }
  const problems: string[] = [];
  for (const type of ["RuntimeReady", "NetworkReady"]) {
    const c = status.status?.conditions.find((x) => x.type === type);
    const what =
      type === "RuntimeReady" ? "container runtime not ready" : "container runtime network not ready";
    if (!c) problems.push(`${what}: ${type} not reported`);
    else if (!c.status) problems.push(`${what}: ${type}=false reason:${c.reason} message:${c.message}`);
  }
  return problems.length === 0
    ? { type: "Ready", status: "True", reason: "KubeletReady", message: "berth is posting ready status" }
    : { type: "Ready", status: "False", reason: "KubeletNotReady", message: problems.join("; ") };
}

const PRESSURE_TEXT: Readonly<
  Record<PressureCondition, { ok: [string, string]; pressure: [string, string] }>
> = {
  MemoryPressure: {
    ok: ["KubeletHasSufficientMemory", "berth has sufficient memory available"],
    pressure: ["KubeletHasInsufficientMemory", "berth has insufficient memory available"],
  },
  DiskPressure: {
    ok: ["KubeletHasNoDiskPressure", "berth has no disk pressure"],
    pressure: ["KubeletHasDiskPressure", "berth has disk pressure"],
  },
  PIDPressure: {
    ok: ["KubeletHasSufficientPID", "berth has sufficient PID available"],
    pressure: ["KubeletHasInsufficientPID", "berth has insufficient PID available"],
  },
};

export function pressureCondition(type: PressureCondition, underPressure: boolean): ConditionState {
  const [reason, message] = underPressure ? PRESSURE_TEXT[type].pressure : PRESSURE_TEXT[type].ok;
  return { type, status: underPressure ? "True" : "False", reason, message };
}

/** The current conditions, each with the time its status last changed. */
export class ConditionBook {
  private readonly conditions = new Map<NodeConditionType, NodeConditionView>();

  /** Records a condition; returns true when anything about it changed. */
  set(state: ConditionState, nowMs: number): boolean {
    const previous = this.conditions.get(state.type);
    const transitioned = previous === undefined || previous.status !== state.status;
    const lastTransitionTime = transitioned ? new Date(nowMs).toISOString() : previous.lastTransitionTime;
    const next: NodeConditionView = { ...state, lastTransitionTime };
    this.conditions.set(state.type, next);
    return transitioned || previous.reason !== state.reason || previous.message !== state.message;
  }

  list(): NodeConditionView[] {
    return CONDITION_ORDER.flatMap((type) => {
      const c = this.conditions.get(type);
      return c ? [c] : [];
    });
  }
}
