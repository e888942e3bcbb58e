// A pod source for the reporter's tests: list() and watch() as the pod manager's contract
// has them, and helpers that move a pod through its phases and emit each change.
import type {
  PodChange,
  PodEvent,
  PodManagerApi,
  PodPhase,
  PodStatusView,
} from "../../../../agent/pods/pod-manager-api.js";
import { pod } from "../eviction/fixtures.js";

export class FakePods implements Pick<PodManagerApi, "list" | "watch"> {
  readonly pods = new Map<string, PodStatusView>();
  private readonly listeners = new Set<(change: PodChange) => void>();

  list(): PodStatusView[] {
    return [...this.pods.values()];
  }

  watch(listener: (change: PodChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get watchers(): number {
    return this.listeners.size;
  }

  add(name: string): PodStatusView {
    const view = { ...pod(name), status: { ...pod(name).status, phase: "Pending" as PodPhase } };
    this.pods.set(name, view);
    this.emit({ type: "ADDED", pod: view });
    return view;
  }

  /** A new status for the pod; each call is a new object, as the pod manager's views are. */
  set(name: string, phase: PodPhase, extra: Partial<PodStatusView["status"]> = {}): PodStatusView {
    const current = this.pods.get(name);
    if (!current) throw new Error(`no pod ${name}`);
    const view: PodStatusView = { ...current, status: { ...current.status, phase, ...extra } };
    this.pods.set(name, view);
    this.emit({ type: "MODIFIED", pod: view });
    return view;
  }

  remove(name: string): void {
    const current = this.pods.get(name);
    if (!current) throw new Error(`no pod ${name}`);
    this.pods.delete(name);
    this.emit({ type: "DELETED", pod: current });
  }

  event(name: string, reason: string, message: string): void {
    const event: PodEvent = {
      time: new Date(0).toISOString(),
      type: "Normal",
      reason,
      message,
      pod: { namespace: "default", name, uid: `uid-${name}` },
      count: 1,
    };
    this.emit({ type: "EVENT", event });
  }

  private emit(change: PodChange): void {
    for (const l of this.listeners) l(change);
  }
}
