// The eviction manager's series for /metrics, read from it when scraped.
import { Counter, Gauge, type Registry } from "prom-client";
import { mirroredCounter } from "../node/mirrored-metrics.js";
import type { EvictionManager } from "./eviction-manager.js";

export function registerEvictionMetrics(registry: Registry, manager: EvictionManager): void {
  new Counter({
    name: "berth_evictions_total",
    help: "Pods evicted, by the signal that caused it.",
    labelNames: ["signal"],
    registers: [registry],
    collect() {
      this.reset();
      for (const [signal, n] of Object.entries(manager.counters().evictions)) this.inc({ signal }, n ?? 0);
    },
  });
  new Gauge({
    name: "berth_eviction_signal_available",
    help: "The eviction manager's last observation of each signal (bytes, inodes, pids; percent for memory.psiFullAvg10).",
    labelNames: ["signal"],
    registers: [registry],
    collect() {
      this.reset();
      for (const [signal, o] of manager.observations()) this.set({ signal }, o.available);
    },
  });
  new Gauge({
    name: "berth_node_pressure",
    help: "1 while the node reports the pressure condition.",
    labelNames: ["condition"],
    registers: [registry],
    collect() {
      const on = manager.pressureConditions();
      for (const condition of ["MemoryPressure", "DiskPressure", "PIDPressure"] as const) {
        this.set({ condition }, on.has(condition) ? 1 : 0);
      }
    },
  });
  mirroredCounter(
    registry,
    "berth_eviction_reclaimed_containers_total",
    "Dead containers removed to relieve disk pressure.",
    () => manager.counters().deadContainersRemoved,
  );
  mirroredCounter(
    registry,
    "berth_eviction_reclaimed_images_total",
    "Unused images removed to relieve disk pressure.",
    () => manager.counters().imagesRemoved,
  );
}
