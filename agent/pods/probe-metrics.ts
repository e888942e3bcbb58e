// Counts of probe runs, labelled as the kubelet's prober_probe_total{probe_type, result,
// container, pod, namespace}, kept here so that whoever serves /metrics reads them (or listens
// for each run) without the pod layer knowing about Prometheus.
import type { ProbeResult } from "../../probes/outcome.js";
import type { ProbeKind } from "../../probes/spec.js";

export type ProbeTypeLabel = "Liveness" | "Readiness" | "Startup";
export type ProbeResultLabel = "successful" | "failed" | "unknown";

export interface ProbeLabels {
  readonly probe_type: ProbeTypeLabel;
  readonly result: ProbeResultLabel;
  readonly container: string;
  readonly pod: string;
  readonly namespace: string;
}

export interface ProbeCount extends ProbeLabels {
  readonly count: number;
}

export type ProbeListener = (labels: ProbeLabels) => void;

const TYPE_LABELS: Record<ProbeKind, ProbeTypeLabel> = {
  liveness: "Liveness",
  readiness: "Readiness",
  startup: "Startup",
};

const RESULT_LABELS: Record<ProbeResult, ProbeResultLabel> = {
  success: "successful",
  failure: "failed",
  unknown: "unknown",
};

export function probeLabels(
  kind: ProbeKind,
  result: ProbeResult,
  target: { container: string; pod: string; namespace: string },
): ProbeLabels {
  return { probe_type: TYPE_LABELS[kind], result: RESULT_LABELS[result], ...target };
}

interface Series {
  readonly key: string;
  readonly labels: ProbeLabels;
  count: number;
}

export class ProbeMetrics {
  private readonly counts = new Map<string, Series>();
  private readonly listeners = new Set<ProbeListener>();
  /**
   * Callers pass the same labels object for every run of a probe with the same result, so its
   * series is found without building the key again; a series dropped by forgetPod is not reused.
   */
  private readonly seriesOf = new WeakMap<ProbeLabels, Series>();

  observe(labels: ProbeLabels): void {
    let series = this.seriesOf.get(labels);
    if (series === undefined || this.counts.get(series.key) !== series) {
      const key = JSON.stringify([
        labels.namespace,
        labels.pod,
        labels.container,
        labels.probe_type,
        labels.result,
      ]);
      series = this.counts.get(key);
      if (series === undefined) this.counts.set(key, (series = { key, labels, count: 0 }));
      this.seriesOf.set(labels, series);
    }
    series.count++;
    for (const listener of this.listeners) {
      try {
        listener(labels);
      } catch {
        // A metrics reader's bug must not stop probing.
      }
    }
  }

  /** Every series with its running total. */
  probeCounts(): ProbeCount[] {
    return [...this.counts.values()].map(({ labels, count }) => ({ ...labels, count }));
  }

  /** Called for every probe run from now on; returns the unsubscribe function. */
  onProbe(listener: ProbeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Drops a deleted pod's series, as the kubelet does when its probe workers stop. */
  forgetPod(namespace: string, pod: string): void {
    for (const [key, { labels }] of this.counts) {
      if (labels.namespace === namespace && labels.pod === pod) this.counts.delete(key);
    }
  }
}
