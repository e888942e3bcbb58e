// What the reporter holds until the orchestrator acknowledges it, with different rules per
// kind:
//   pod updates: never dropped one by one. A change that is no transition (same phase,
//     conditions and container states as the pod's last queued update) refreshes that update
//     in place; every transition is kept, in order. Beyond the limit the whole queue is
//     squashed into one full report: the orchestrator then learns the latest state of every
//     pod, and the count of squashed updates, but not the steps in between.
//   events and metric samples: bounded, the oldest dropped (and counted) beyond the limit.
// A batch is taken from the heads of the queues and stays there until ack(); fail() puts it
// back (it is sent again, with whatever arrived since) and asks for a full report, since the
// orchestrator may have restarted meanwhile.
import type { Pod, PodEvent } from "../api/generated/berth.js";
import type { MetricsSample, PodUpdate } from "../api/generated/report.js";

export type PodUpdateType = "ADDED" | "MODIFIED" | "DELETED";

export interface QueueLimits {
  readonly podUpdates: number;
  readonly events: number;
  readonly metricSamples: number;
}

/** Most of each kind in one report, so that a catch-up is split into reports of sane size. */
export const DEFAULT_BATCH_LIMITS: QueueLimits = { podUpdates: 500, events: 500, metricSamples: 30 };

export interface Batch {
  readonly podUpdates: readonly PodUpdate[];
  readonly events: readonly PodEvent[];
  readonly metrics: readonly MetricsSample[];
  /** The report must carry every pod (it drains the pod updates, so the snapshot comes after them). */
  readonly full: boolean;
  /** More is queued than this batch holds. */
  readonly more: boolean;
}

export interface QueueCounters {
  readonly droppedMetricSamples: number;
  readonly droppedEvents: number;
  readonly squashedPodUpdates: number;
  readonly coalescedPodUpdates: number;
}

/** A FIFO whose first `inFlight` items belong to the batch being sent. */
class SendQueue<T> {
  items: T[] = [];
  inFlight = 0;

  push(item: T): void {
    this.items.push(item);
  }

  /** Drops the oldest item; a dropped item of the batch in flight leaves the batch too. */
  dropOldest(): void {
    this.items.shift();
    if (this.inFlight > 0) this.inFlight--;
  }

  clear(): number {
    const n = this.items.length;
    this.items = [];
    this.inFlight = 0;
    return n;
  }

  take(max: number): T[] {
    this.inFlight = Math.min(max, this.items.length);
    return this.items.slice(0, this.inFlight);
  }

  ack(): void {
    this.items.splice(0, this.inFlight);
    this.inFlight = 0;
  }

  release(): void {
    this.inFlight = 0;
  }
}

interface QueuedUpdate {
  readonly uid: string;
  readonly transitionKey: string;
  update: PodUpdate;
}

export class ReportQueue {
  private readonly podUpdates = new SendQueue<QueuedUpdate>();
  private readonly events = new SendQueue<PodEvent>();
  private readonly metrics = new SendQueue<MetricsSample>();
  private revision = 0n;
  private fullWanted = true;
  /** Bumped by every request for a full report, so that an ack only clears the request it answered. */
  private fullGeneration = 0;
  private batchFullGeneration?: number;
  private batchOpen = false;
  private counters_ = {
    droppedMetricSamples: 0,
    droppedEvents: 0,
    squashedPodUpdates: 0,
    coalescedPodUpdates: 0,
  };

  constructor(private readonly limits: QueueLimits) {}

  /**
   * Queues a pod change. `transitionKey` sums up what counts as a transition (phase, conditions,
   * container states); a MODIFIED change with the same key as the pod's last queued, unsent
   * update replaces that update's content instead of adding one.
   */
  addPodChange(type: PodUpdateType, pod: Pod, transitionKey: string, observedAt: string): void {
    const uid = pod.metadata?.uid ?? "";
    if (type === "MODIFIED") {
      const items = this.podUpdates.items;
      for (let i = items.length - 1; i >= this.podUpdates.inFlight; i--) {
        const queued = items[i];
        if (queued?.uid !== uid) continue;
        if (queued.transitionKey === transitionKey && queued.update.type !== "DELETED") {
          queued.update = { ...queued.update, observedAt, pod };
          this.counters_.coalescedPodUpdates++;
          return;
        }
        break;
      }
    }
    this.revision++;
    this.podUpdates.push({ uid, transitionKey, update: { revision: this.revision, type, observedAt, pod } });
    if (this.podUpdates.items.length > this.limits.podUpdates) {
      this.counters_.squashedPodUpdates += this.podUpdates.clear();
      this.requestFull();
    }
  }

  addEvent(event: PodEvent): void {
    this.events.push(event);
    while (this.events.items.length > this.limits.events) {
      this.events.dropOldest();
      this.counters_.droppedEvents++;
    }
  }

  addMetrics(sample: MetricsSample): void {
    this.metrics.push(sample);
    while (this.metrics.items.length > this.limits.metricSamples) {
      this.metrics.dropOldest();
      this.counters_.droppedMetricSamples++;
    }
  }

  /** The next report must list every pod. */
  requestFull(): void {
    this.fullWanted = true;
    this.fullGeneration++;
  }

  /** Whether a report has anything to say beyond the node's status. */
  hasContent(): boolean {
    return (
      this.fullWanted ||
      this.podUpdates.items.length > 0 ||
      this.events.items.length > 0 ||
      this.metrics.items.length > 0
    );
  }

  /** The heads of the queues, held until ack() or fail(). One batch at a time. */
  takeBatch(caps: QueueLimits = DEFAULT_BATCH_LIMITS): Batch {
    if (this.batchOpen) throw new Error("a report batch is already in flight");
    this.batchOpen = true;
    const podUpdates = this.podUpdates.take(caps.podUpdates).map((q) => q.update);
    const events = this.events.take(caps.events);
    const metrics = this.metrics.take(caps.metricSamples);
    const drainsPodUpdates = podUpdates.length === this.podUpdates.items.length;
    const full = this.fullWanted && drainsPodUpdates;
    this.batchFullGeneration = full ? this.fullGeneration : undefined;
    const more =
      !drainsPodUpdates ||
      events.length < this.events.items.length ||
      metrics.length < this.metrics.items.length;
    return { podUpdates, events, metrics, full, more };
  }

  /** The orchestrator took the batch in: it leaves the queues. */
  ack(): void {
    if (!this.batchOpen) return;
    this.podUpdates.ack();
    this.events.ack();
    this.metrics.ack();
    if (this.batchFullGeneration !== undefined && this.batchFullGeneration === this.fullGeneration) {
      this.fullWanted = false;
    }
    this.batchOpen = false;
    this.batchFullGeneration = undefined;
  }

  /** The batch was not taken in: it stays queued, and the next report is a full one. */
  fail(): void {
    if (!this.batchOpen) return;
    this.podUpdates.release();
    this.events.release();
    this.metrics.release();
    this.batchOpen = false;
    this.batchFullGeneration = undefined;
    this.requestFull();
  }

  sizes(): { podUpdates: number; events: number; metricSamples: number } {
    return {
      podUpdates: this.podUpdates.items.length,
      events: this.events.items.length,
      metricSamples: this.metrics.items.length,
    };
  }

  counters(): QueueCounters {
    return { ...this.counters_ };
  }
}
