// The runtime's container events in one place. The container manager reports each lifecycle
// change here; this turns them into CRI ContainerEventResponses for GetContainerEvents
// streams, keeps an OOM watcher on every live container, and follows CPU throttling through
// the stats collector's samples.
import type { CgroupLayout } from "../../cgroups/detect.js";
import type { CgroupStatsReader } from "../../cgroups/stats.js";
import { systemClock, type Clock } from "../../common/clock.js";
import type { Logger } from "../../common/logger.js";
import {
  ContainerEventType,
  type ContainerEventResponse,
  type ContainerStatus,
  type PodSandboxStatus,
} from "../api/generated/api.js";
import type { ExitInfo } from "../runtime/exit-file.js";
import type { ContainerRecord } from "../runtime/records.js";
import type { StatsSnapshot } from "../stats/types.js";
import { CpuThrottlingDetector, type CpuThrottlingOptions } from "./cpu-throttling.js";
import { EventBus, type EventSubscription } from "./event-bus.js";
import type { ContainerLifecycleChange, ContainerLifecycleObserver } from "./lifecycle.js";
import { OomMonitor, type OomMonitorOptions } from "./oom-monitor.js";
import type { CpuThrottlingListener, OomCounts, OomListener } from "./types.js";

/** The statuses a CRI container event carries: its pod's and those of every container in the pod. */
export interface PodStatuses {
  readonly podSandboxStatus?: PodSandboxStatus;
  readonly containersStatuses: ContainerStatus[];
}

export interface PodStatusSource {
  podStatuses(sandboxId: string): Promise<PodStatuses>;
}

/** Where throttling is measured from: the stats collector. */
export interface StatsSampleSource {
  onSample(listener: (snapshot: StatsSnapshot) => void): () => void;
}

export type SandboxLifecycleChange = "created" | "started" | "stopped" | "deleted";

export interface ContainerEventHubOptions {
  readonly logger: Logger;
  readonly clock?: Clock;
  readonly layout: CgroupLayout;
  readonly cgroupRoot?: string;
  readonly reader: Pick<CgroupStatsReader, "read">;
  /** Events each GetContainerEvents stream may have waiting before its oldest are dropped. */
  readonly bufferPerSubscriber?: number;
  readonly cpuThrottling?: CpuThrottlingOptions;
  /** Overrides for the OOM monitor (tests). */
  readonly oom?: Partial<Omit<OomMonitorOptions, "layout" | "reader" | "logger">>;
}

const EVENT_TYPES: Record<SandboxLifecycleChange, ContainerEventType> = {
  created: ContainerEventType.CONTAINER_CREATED_EVENT,
  started: ContainerEventType.CONTAINER_STARTED_EVENT,
  stopped: ContainerEventType.CONTAINER_STOPPED_EVENT,
  deleted: ContainerEventType.CONTAINER_DELETED_EVENT,
};

export class ContainerEventHub implements ContainerLifecycleObserver {
  readonly oom: OomMonitor;
  readonly throttling: CpuThrottlingDetector;
  private readonly bus: EventBus<ContainerEventResponse>;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly throttlingListeners = new Set<CpuThrottlingListener>();
  private statuses: PodStatusSource | undefined;
  private unsubscribeStats: (() => void) | undefined;
  /** Publishing in order: each event's statuses are read before the next event's. */
  private publishing: Promise<void> = Promise.resolve();

  constructor(options: ContainerEventHubOptions) {
    this.logger = options.logger;
    this.clock = options.clock ?? systemClock;
    this.bus = new EventBus<ContainerEventResponse>({
      ...(options.bufferPerSubscriber !== undefined && { capacity: options.bufferPerSubscriber }),
      onOverrun: ({ subscriber, capacity }) =>
        this.logger.warn(
          { subscriber, capacity },
          "a container event subscriber is too slow: its oldest events are being dropped",
        ),
    });
    this.oom = new OomMonitor({
      layout: options.layout,
      ...(options.cgroupRoot !== undefined && { cgroupRoot: options.cgroupRoot }),
      reader: options.reader,
      logger: this.logger,
      clock: this.clock,
      ...options.oom,
    });
    this.throttling = new CpuThrottlingDetector(options.cpuThrottling);
  }

  /** Connects what builds the statuses of CRI events (the runtime service). */
  useStatusSource(source: PodStatusSource): void {
    this.statuses = source;
  }

  /** Follows CPU throttling through every stats pass. */
  watchThrottling(source: StatsSampleSource): void {
    this.unsubscribeStats?.();
    this.unsubscribeStats = source.onSample((snapshot) => {
      for (const event of this.throttling.observe(snapshot)) {
        this.logger.warn(
          { container: event.containerId, sandbox: event.sandboxId, share: event.share },
          event.message,
        );
        for (const listener of this.throttlingListeners) {
          try {
            listener(event);
          } catch (err) {
            this.logger.warn({ err }, "CPU throttling listener failed");
          }
        }
      }
    });
  }

  /** A GetContainerEvents stream: subscribed at this call, ended by `signal`. */
  subscribe(signal?: AbortSignal): EventSubscription<ContainerEventResponse> {
    return this.bus.subscribe(signal);
  }

  get subscriberCount(): number {
    return this.bus.subscriberCount;
  }

  onOom(listener: OomListener): () => void {
    return this.oom.onOom(listener);
  }

  onCpuThrottled(listener: CpuThrottlingListener): () => void {
    this.throttlingListeners.add(listener);
    return () => this.throttlingListeners.delete(listener);
  }

  oomCounts(): Map<string, OomCounts> {
    return this.oom.counts();
  }

  containerChanged(change: ContainerLifecycleChange, record: Readonly<ContainerRecord>): void {
    const subject = {
      id: record.id,
      sandboxId: record.sandboxId,
      cgroupsPath: record.cgroupsPath,
      ...(record.pid !== undefined && { pid: record.pid }),
    };
    switch (change) {
      case "created":
      case "started":
      case "recovered":
        void this.oom.track(subject);
        break;
      case "stopped":
        void this.oom.exited({ ...subject, exitCode: record.exitCode, reason: record.reason });
        break;
      case "deleted":
        this.oom.forget(record.id);
        break;
    }
    if (change !== "recovered") this.publish(change, record.id, record.sandboxId);
  }

  /** Pod sandboxes have CRI events too, with the sandbox id as container id. */
  sandboxChanged(change: SandboxLifecycleChange, sandboxId: string): void {
    this.publish(change, sandboxId, sandboxId);
  }

  initOomKilled(record: Readonly<ContainerRecord>, exit: ExitInfo): Promise<boolean | undefined> {
    return this.oom.mainProcessKilled(record, exit);
  }

  /** Waits until every event reported so far is published and its OOM bookkeeping done. */
  async idle(): Promise<void> {
    await this.publishing;
    await this.oom.idle();
  }

  close(): void {
    this.unsubscribeStats?.();
    this.unsubscribeStats = undefined;
    this.oom.close();
    this.bus.close();
  }

  private publish(change: SandboxLifecycleChange, containerId: string, sandboxId: string): void {
    const createdAt = this.clock.nowNanos();
    const containerEventType = EVENT_TYPES[change];
    // Nobody listening: skip reading the statuses.
    if (this.bus.subscriberCount === 0) return;
    this.publishing = this.publishing.then(async () => {
      let statuses: PodStatuses = { containersStatuses: [] };
      try {
        if (this.statuses) statuses = await this.statuses.podStatuses(sandboxId);
      } catch (err) {
        this.logger.debug({ err, container: containerId }, "container event goes out without statuses");
      }
      this.bus.publish({
        containerId,
        containerEventType,
        createdAt,
        ...(statuses.podSandboxStatus && { podSandboxStatus: statuses.podSandboxStatus }),
        containersStatuses: statuses.containersStatuses,
      });
    });
  }
}
