// The reporter's series for /metrics, read from its counters when scraped.
import { Gauge, type Registry } from "prom-client";
import { mirroredCounter, mirroredGauge } from "../node/mirrored-metrics.js";
import type { ReporterCounters } from "./reporter.js";

export function registerReporterMetrics(registry: Registry, counters: () => ReporterCounters): void {
  mirroredCounter(
    registry,
    "berth_reporter_reports_sent_total",
    "Reports the orchestrator acknowledged.",
    () => counters().reportsSent,
  );
  mirroredCounter(
    registry,
    "berth_reporter_reports_failed_total",
    "Reports that failed (sent again later).",
    () => counters().reportsFailed,
  );
  mirroredCounter(
    registry,
    "berth_reporter_metric_samples_dropped_total",
    "Usage samples dropped, oldest first, while the orchestrator could not be reached.",
    () => counters().droppedMetricSamples,
  );
  mirroredCounter(
    registry,
    "berth_reporter_events_dropped_total",
    "Pod events dropped, oldest first, while the orchestrator could not be reached.",
    () => counters().droppedEvents,
  );
  mirroredCounter(
    registry,
    "berth_reporter_pod_updates_squashed_total",
    "Pod updates replaced by a full report because the queue overflowed.",
    () => counters().squashedPodUpdates,
  );
  const queued = new Gauge({
    name: "berth_reporter_queued",
    help: "What waits for the orchestrator's acknowledgement, by kind.",
    labelNames: ["kind"],
    registers: [registry],
    collect() {
      const c = counters();
      this.set({ kind: "pod_update" }, c.queuedPodUpdates);
      this.set({ kind: "event" }, c.queuedEvents);
      this.set({ kind: "metric_sample" }, c.queuedMetricSamples);
    },
  });
  void queued;
  mirroredGauge(
    registry,
    "berth_reporter_last_success_timestamp_seconds",
    "When the orchestrator last acknowledged a report (0: never).",
    () => counters().lastSuccessMs / 1000,
  );
}
