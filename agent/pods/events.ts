// The pods' event history: bounded, oldest first, with repeats folded into one event whose
// count grows (as Kubernetes aggregates them), so a probe failing every second for an hour is
// one line with a count, not the whole history.
import type { PodEvent } from "./pod-manager-api.js";

export const DEFAULT_EVENT_HISTORY = 1000;

export type NewEvent = Omit<PodEvent, "time" | "count">;

function aggregationKey(e: NewEvent): string {
  return JSON.stringify([e.pod.uid, e.type, e.reason, e.fieldPath ?? "", e.message]);
}

export class EventHistory {
  /** Insertion order is age order: a repeat is moved to the end. */
  private readonly events = new Map<string, PodEvent>();

  constructor(private readonly capacity: number = DEFAULT_EVENT_HISTORY) {
    if (!(capacity > 0)) throw new RangeError("event history capacity must be positive");
  }

  /** Records an event (or one more occurrence of it) and returns the stored event. */
  record(event: NewEvent, now: number): PodEvent {
    const key = aggregationKey(event);
    const existing = this.events.get(key);
    const stored: PodEvent = {
      ...event,
      time: new Date(now).toISOString(),
      count: (existing?.count ?? 0) + 1,
    };
    this.events.delete(key);
    this.events.set(key, stored);
    while (this.events.size > this.capacity) {
      const oldest = this.events.keys().next().value;
      if (oldest === undefined) break;
      this.events.delete(oldest);
    }
    return stored;
  }

  list(filter: { namespace?: string; name?: string } = {}): PodEvent[] {
    return [...this.events.values()].filter(
      (e) =>
        (filter.namespace === undefined || e.pod.namespace === filter.namespace) &&
        (filter.name === undefined || e.pod.name === filter.name),
    );
  }

  get size(): number {
    return this.events.size;
  }
}
