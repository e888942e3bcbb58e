// prom-client series whose values live in another object's counters, read at each scrape.
import { Counter, Gauge, type Registry } from "prom-client";

/** A counter whose value lives elsewhere: set from `read` at each scrape. */
export function mirroredCounter(registry: Registry, name: string, help: string, read: () => number): void {
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      this.reset();
      this.inc(read());
    },
  });
}

export function mirroredGauge(registry: Registry, name: string, help: string, read: () => number): void {
  new Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      this.set(read());
    },
  });
}
