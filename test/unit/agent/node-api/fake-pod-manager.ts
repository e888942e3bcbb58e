// An in-memory PodManagerApi for tests of the front ends: it records what it was asked
// and reports changes the way the contract says the real manager does.
import { NotFoundError } from "../../../../common/errors.js";
import type {
  PodChange,
  PodEvent,
  PodManagerApi,
  PodSource,
  PodStatusView,
} from "../../../../agent/pods/pod-manager-api.js";
import { podQosClass } from "../../../../agent/podspec/qos.js";
import type { PodSpec } from "../../../../agent/podspec/types.js";

export interface ApplyCall {
  spec: PodSpec;
  source: PodSource;
}

export function viewOf(
  spec: PodSpec,
  source: PodSource,
  status: Partial<PodStatusView["status"]> = {},
): PodStatusView {
  return {
    metadata: {
      name: spec.metadata.name,
      namespace: spec.metadata.namespace,
      uid: spec.metadata.uid,
      labels: { ...spec.metadata.labels },
      annotations: { ...spec.metadata.annotations },
    },
    spec,
    source,
    status: {
      phase: "Pending",
      conditions: [],
      podIPs: [],
      qosClass: podQosClass(spec),
      initContainerStatuses: [],
      containerStatuses: [],
      startTime: "2026-01-01T00:00:00.000Z",
      ...status,
    },
    terminating: false,
  };
}

export class FakePodManager implements PodManagerApi {
  readonly pods = new Map<string, PodStatusView>();
  readonly applied: ApplyCall[] = [];
  readonly deleted: { namespace: string; name: string; gracePeriodSeconds?: number }[] = [];
  readonly history: PodEvent[] = [];
  private readonly listeners = new Set<(change: PodChange) => void>();
  /** When set, delete() waits for this before removing the pod (a long grace period). */
  holdDeletes: Promise<void> | undefined;
  /** Makes apply() fail, e.g. to test how a front end reports it. */
  failApply: Error | undefined;

  get listenerCount(): number {
    return this.listeners.size;
  }

  async apply(spec: PodSpec, source: PodSource): Promise<PodStatusView> {
    if (this.failApply) throw this.failApply;
    this.applied.push({ spec, source });
    const key = `${spec.metadata.namespace}/${spec.metadata.name}`;
    const existed = this.pods.has(key);
    const view = viewOf(spec, source);
    this.pods.set(key, view);
    this.emit({ type: existed ? "MODIFIED" : "ADDED", pod: view });
    return view;
  }

  async delete(namespace: string, name: string, gracePeriodSeconds?: number): Promise<void> {
    const key = `${namespace}/${name}`;
    const view = this.pods.get(key);
    if (view === undefined) throw new NotFoundError("pod", key);
    this.deleted.push({ namespace, name, ...(gracePeriodSeconds !== undefined && { gracePeriodSeconds }) });
    const terminating = { ...view, terminating: true };
    this.pods.set(key, terminating);
    this.emit({ type: "MODIFIED", pod: terminating });
    await this.holdDeletes;
    this.pods.delete(key);
    this.emit({ type: "DELETED", pod: terminating });
  }

  get(namespace: string, name: string): PodStatusView | undefined {
    return this.pods.get(`${namespace}/${name}`);
  }

  list(): PodStatusView[] {
    return [...this.pods.values()];
  }

  events(filter: { namespace?: string; name?: string } = {}): PodEvent[] {
    return this.history.filter(
      (e) =>
        (filter.namespace === undefined || e.pod.namespace === filter.namespace) &&
        (filter.name === undefined || e.pod.name === filter.name),
    );
  }

  watch(listener: (change: PodChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Puts a pod in place as if it had been running already (no apply recorded). */
  seed(view: PodStatusView): void {
    this.pods.set(`${view.metadata.namespace}/${view.metadata.name}`, view);
  }

  recordEvent(event: Omit<PodEvent, "count" | "time"> & Partial<Pick<PodEvent, "count" | "time">>): PodEvent {
    const full: PodEvent = { time: "2026-01-01T00:00:05.000Z", count: 1, ...event };
    this.history.push(full);
    this.emit({ type: "EVENT", event: full });
    return full;
  }

  emit(change: PodChange): void {
    for (const listener of this.listeners) listener(change);
  }
}
