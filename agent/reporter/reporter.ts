// The upstream reporter: pushes NodeReports to the orchestrator every interval (with a usage
// sample and the node's status) and shortly after every pod change (debounced, so that a
// burst of changes makes one report). While the orchestrator cannot be reached it keeps what
// it must (see ReportQueue), retries with exponential backoff and jitter, and when the
// orchestrator answers again it catches up in as many reports as needed, back to back.
import { randomUUID } from "node:crypto";
import { systemClock, type Clock } from "../../common/clock.js";
import type { Logger } from "../../common/logger.js";
import type { StatsCollector } from "../../cri/stats/collector.js";
import type { StatsSnapshot } from "../../cri/stats/types.js";
import type { Pod, PodEvent as PodEventMessage } from "../api/generated/berth.js";
import type { NodeReport, NodeStatus } from "../api/generated/report.js";
import { podEventMessage, podMessage } from "../node-api/pod-message.js";
import type { PodChange, PodEvent, PodManagerApi, PodStatusView } from "../pods/pod-manager-api.js";
import { systemTimers, type Timers } from "../pods/timers.js";
import { isoTime, metricsSample } from "./messages.js";
import type { OrchestratorTransport } from "./orchestrator-client.js";
import { podTransitionKey } from "./pod-transitions.js";
import { DEFAULT_BATCH_LIMITS, ReportQueue, type QueueLimits } from "./report-queue.js";
import { RetryBackoff } from "./retry-backoff.js";

export interface ReporterOptions {
  readonly nodeName: () => string;
  readonly pods: Pick<PodManagerApi, "list" | "watch">;
  readonly stats: Pick<StatsCollector, "all">;
  /** The node's status as sent in every report. */
  readonly nodeStatus: () => NodeStatus;
  readonly transport: OrchestratorTransport;
  readonly logger: Logger;
  readonly intervalMs: number;
  /** What is kept while the orchestrator is away. */
  readonly limits: QueueLimits;
  /** Most of each kind per report (default 500 pod updates, 500 events, 30 samples). */
  readonly batchLimits?: QueueLimits;
  /** Wait after a pod change before reporting, to gather a burst into one report (default 200 ms). */
  readonly debounceMs?: number;
  /** Deadline of one report call (default 10 s). */
  readonly deadlineMs?: number;
  readonly backoff?: RetryBackoff;
  readonly clock?: Clock;
  readonly timers?: Timers;
  readonly sessionId?: string;
  readonly toPodMessage?: (pod: PodStatusView) => Pod;
  readonly toEventMessage?: (event: PodEvent) => PodEventMessage;
}

export interface ReporterCounters {
  readonly reportsSent: number;
  readonly reportsFailed: number;
  readonly queuedPodUpdates: number;
  readonly queuedEvents: number;
  readonly queuedMetricSamples: number;
  readonly droppedMetricSamples: number;
  readonly droppedEvents: number;
  readonly squashedPodUpdates: number;
  readonly consecutiveFailures: number;
  /** ms since the epoch; 0 before the first success. */
  readonly lastSuccessMs: number;
}

export class Reporter {
  readonly sessionId: string;
  private readonly queue: ReportQueue;
  private readonly clock: Clock;
  private readonly timers: Timers;
  private readonly backoff: RetryBackoff;
  private readonly logger: Logger;
  private readonly toPod: (pod: PodStatusView) => Pod;
  private readonly toEvent: (event: PodEvent) => PodEventMessage;
  private sequence = 0n;
  private sent = 0;
  private failed = 0;
  private lastSuccessMs = 0;
  private lastSampled?: StatsSnapshot;
  private inFlight?: Promise<void>;
  private again = false;
  private retryTimer?: unknown;
  private debounceTimer?: unknown;
  private intervalTimer?: unknown;
  private unwatch?: () => void;
  private stopped = true;

  constructor(private readonly options: ReporterOptions) {
    this.sessionId = options.sessionId ?? randomUUID();
    this.queue = new ReportQueue(options.limits);
    this.clock = options.clock ?? systemClock;
    this.timers = options.timers ?? systemTimers;
    this.backoff = options.backoff ?? new RetryBackoff();
    this.logger = options.logger;
    this.toPod = options.toPodMessage ?? podMessage;
    this.toEvent = options.toEventMessage ?? podEventMessage;
  }

  /** Follows pod changes and reports now, then every interval. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.unwatch = this.options.pods.watch((change) => this.onPodChange(change));
    this.logger.info({ session: this.sessionId }, "reporter started");
    this.tick();
  }

  /** Stops the timers and waits for the report in flight. What is still queued is lost with the process. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.unwatch?.();
    for (const timer of [this.retryTimer, this.debounceTimer, this.intervalTimer]) {
      if (timer !== undefined) this.timers.clearTimeout(timer);
    }
    this.retryTimer = this.debounceTimer = this.intervalTimer = undefined;
    await this.inFlight;
    this.options.transport.close();
  }

  /** Something about the node changed (a condition): report soon, as for a pod change. */
  nodeChanged(): void {
    this.debounce();
  }

  counters(): ReporterCounters {
    const sizes = this.queue.sizes();
    const q = this.queue.counters();
    return {
      reportsSent: this.sent,
      reportsFailed: this.failed,
      queuedPodUpdates: sizes.podUpdates,
      queuedEvents: sizes.events,
      queuedMetricSamples: sizes.metricSamples,
      droppedMetricSamples: q.droppedMetricSamples,
      droppedEvents: q.droppedEvents,
      squashedPodUpdates: q.squashedPodUpdates,
      consecutiveFailures: this.backoff.consecutiveFailures,
      lastSuccessMs: this.lastSuccessMs,
    };
  }

  /** Resolves once no report is in flight (tests; shutdown). */
  async idle(): Promise<void> {
    while (this.inFlight) await this.inFlight;
  }

  private onPodChange(change: PodChange): void {
    try {
      if (change.type === "EVENT") this.queue.addEvent(this.toEvent(change.event));
      else {
        const observedAt = isoTime(this.clock.now());
        this.queue.addPodChange(
          change.type,
          this.toPod(change.pod),
          podTransitionKey(change.pod),
          observedAt,
        );
      }
    } catch (err) {
      this.logger.warn({ err, change: change.type }, "reporter cannot queue a pod change");
      return;
    }
    this.debounce();
  }

  private debounce(): void {
    if (this.stopped || this.debounceTimer !== undefined) return;
    this.debounceTimer = this.timers.setTimeout(() => {
      this.debounceTimer = undefined;
      this.requestSend();
    }, this.options.debounceMs ?? 200);
  }

  private tick(): void {
    if (this.stopped) return;
    const snapshot = this.options.stats.all();
    if (snapshot !== this.lastSampled) {
      this.lastSampled = snapshot;
      const sample = metricsSample(snapshot);
      if (sample) this.queue.addMetrics(sample);
    }
    this.requestSend();
    this.intervalTimer = this.timers.setTimeout(() => this.tick(), this.options.intervalMs);
  }

  private requestSend(): void {
    if (this.stopped) return;
    // While backing off, the retry sends everything that has gathered meanwhile.
    if (this.retryTimer !== undefined) return;
    if (this.inFlight) {
      this.again = true;
      return;
    }
    this.inFlight = this.sendOnce().finally(() => {
      this.inFlight = undefined;
      if (this.again && this.retryTimer === undefined) {
        this.again = false;
        this.requestSend();
      }
    });
  }

  private async sendOnce(): Promise<void> {
    const batch = this.queue.takeBatch(this.options.batchLimits ?? DEFAULT_BATCH_LIMITS);
    const counters = this.queue.counters();
    this.sequence++;
    let report: NodeReport;
    try {
      report = {
        nodeName: this.options.nodeName(),
        sessionId: this.sessionId,
        sequence: this.sequence,
        sentAt: isoTime(this.clock.now()),
        full: batch.full,
        // Listed in the same turn as the batch was taken: every change before is in the batch, every change after in a later one.
        pods: batch.full ? this.options.pods.list().map(this.toPod) : [],
        podUpdates: [...batch.podUpdates],
        events: [...batch.events],
        metrics: [...batch.metrics],
        node: this.options.nodeStatus(),
        droppedMetricSamples: BigInt(counters.droppedMetricSamples),
        droppedEvents: BigInt(counters.droppedEvents),
        squashedPodUpdates: BigInt(counters.squashedPodUpdates),
        more: batch.more,
      };
    } catch (err) {
      this.queue.fail();
      this.logger.error({ err }, "reporter cannot build a report");
      this.scheduleRetry();
      return;
    }
    try {
      const ack = await this.options.transport.report(report, this.options.deadlineMs ?? 10_000);
      this.queue.ack();
      this.sent++;
      this.lastSuccessMs = this.clock.now();
      if (this.backoff.consecutiveFailures > 0) {
        this.logger.info(
          { failures: this.backoff.consecutiveFailures, sequence: String(report.sequence) },
          "orchestrator reachable again",
        );
      }
      this.backoff.reset();
      if (ack.resync) this.queue.requestFull();
      if (batch.more || ack.resync) this.again = true;
    } catch (err) {
      this.queue.fail();
      this.failed++;
      // The retry sends everything gathered meanwhile: no extra report is owed.
      this.again = false;
      const first = this.backoff.consecutiveFailures === 0;
      const delayMs = this.scheduleRetry();
      const fields = {
        err: err instanceof Error ? err.message : String(err),
        retryInMs: delayMs,
        queued: this.queue.sizes(),
      };
      if (first) this.logger.warn(fields, "report to the orchestrator failed; retrying with backoff");
      else this.logger.debug(fields, "report to the orchestrator failed again");
    }
  }

  private scheduleRetry(): number {
    const delayMs = this.backoff.next();
    if (!this.stopped) {
      this.retryTimer = this.timers.setTimeout(() => {
        this.retryTimer = undefined;
        this.requestSend();
      }, delayMs);
    }
    return delayMs;
  }
}
