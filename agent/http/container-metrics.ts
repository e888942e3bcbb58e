// Container and pod usage as Prometheus series (the definitions are shared with the CRI
// metrics RPCs, in cri/stats/metric-definitions.ts). Every value comes from the stats
// collector's cache when Prometheus scrapes: a scrape reads no file.
import { Counter, Gauge, type Registry } from "prom-client";
import {
  CONTAINER_LABELS,
  NETWORK_SERIES,
  SERIES,
  labelledSamples,
  podSeries,
  type ContainerLabel,
} from "../../cri/stats/metric-definitions.js";
import type { StatsSnapshot } from "../../cri/stats/types.js";

/** Registers the container_* and machine_* series, each reading `snapshot()` when scraped. */
export function registerContainerMetrics(registry: Registry, snapshot: () => StatsSnapshot): void {
  for (const spec of SERIES) {
    const labelNames = [...CONTAINER_LABELS];
    if (spec.type === "counter") {
      const counter: Counter<ContainerLabel> = new Counter({
        name: spec.name,
        help: spec.help,
        labelNames,
        registers: [registry],
        collect() {
          counter.reset();
          for (const sample of labelledSamples(snapshot())) {
            const value = spec.value(sample);
            if (value !== undefined) counter.inc(sample.labels, value);
          }
        },
      });
    } else {
      const gauge: Gauge<ContainerLabel> = new Gauge({
        name: spec.name,
        help: spec.help,
        labelNames,
        registers: [registry],
        collect() {
          gauge.reset();
          for (const sample of labelledSamples(snapshot())) {
            const value = spec.value(sample);
            if (value !== undefined) gauge.set(sample.labels, value);
          }
        },
      });
    }
  }

  for (const [name, help, field] of NETWORK_SERIES) {
    const counter: Counter<ContainerLabel | "interface"> = new Counter({
      name,
      help,
      labelNames: [...CONTAINER_LABELS, "interface"],
      registers: [registry],
      collect() {
        counter.reset();
        for (const sandbox of snapshot().sandboxes.values()) {
          const { labels } = podSeries(sandbox);
          for (const iface of sandbox.network?.interfaces ?? []) {
            counter.inc({ ...labels, interface: iface.name }, iface[field]);
          }
        }
      },
    });
  }

  const cores: Gauge = new Gauge({
    name: "machine_cpu_cores",
    help: "Number of logical CPU cores.",
    registers: [registry],
    collect() {
      const node = snapshot().node;
      if (node) cores.set(node.cpuCores);
    },
  });
  const memory: Gauge = new Gauge({
    name: "machine_memory_bytes",
    help: "Amount of memory installed on the machine.",
    registers: [registry],
    collect() {
      const node = snapshot().node;
      if (node) memory.set(node.memory.totalBytes);
    },
  });
}
