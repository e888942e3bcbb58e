// The node's status as one object: facts (gathered at start and on demand), capacity and
// allocatable, and conditions: Ready from the runtime's status (checked on an interval),
// pressure from the eviction manager (pushed as it changes). Readers get the cached value.
import { systemClock, type Clock } from "../../common/clock.js";
import type { Logger } from "../../common/logger.js";
import type { StatusResponse } from "../../cri/api/generated/api.js";
import type { PressureCondition } from "../eviction/signals.js";
import type { Threshold } from "../eviction/thresholds.js";
import { systemTimers, type Timers } from "../pods/timers.js";
import {
  nodeAllocatable,
  nodeCapacity,
  resourceList,
  type NodeResources,
  type Reservation,
} from "./capacity.js";
import { ConditionBook, pressureCondition, readyCondition, type NodeConditionView } from "./conditions.js";
import type { NodeFacts } from "./host-facts.js";

export interface NodeStatusView {
  /** The node's name: configured, else the host name in lower case (as Kubernetes names nodes). */
  readonly name: string;
  readonly info: NodeFacts;
  readonly capacity: Readonly<Record<string, string>>;
  readonly allocatable: Readonly<Record<string, string>>;
  readonly conditions: readonly NodeConditionView[];
}

/** What the node status needs of the eviction manager. */
export interface PressureSource {
  pressureConditions(): ReadonlySet<PressureCondition>;
  onConditionsChange(listener: (conditions: ReadonlySet<PressureCondition>) => void): () => void;
}

export interface NodeStatusOptions {
  /** "" or absent: the host name. */
  readonly nodeName?: string;
  readonly gatherFacts: () => Promise<NodeFacts>;
  readonly runtimeStatus: () => Promise<StatusResponse>;
  readonly pressure: PressureSource;
  readonly reservation: Reservation;
  /** The eviction policy's thresholds: the hard ones hold back part of allocatable. */
  readonly thresholds: readonly Threshold[];
  readonly maxPods: number;
  readonly logger: Logger;
  readonly clock?: Clock;
  readonly timers?: Timers;
  /** How often Ready is checked against the runtime's status (default 10 s). */
  readonly readinessIntervalMs?: number;
}

const PRESSURE_TYPES: readonly PressureCondition[] = ["MemoryPressure", "DiskPressure", "PIDPressure"];

export class NodeStatusProvider {
  private facts?: NodeFacts;
  private readonly book = new ConditionBook();
  private readonly clock: Clock;
  private readonly timers: Timers;
  private readonly listeners = new Set<(status: NodeStatusView) => void>();
  private unsubscribe?: () => void;
  private timer?: unknown;
  private stopped = true;

  constructor(private readonly options: NodeStatusOptions) {
    this.clock = options.clock ?? systemClock;
    this.timers = options.timers ?? systemTimers;
  }

  /** Gathers the facts, checks readiness, then follows pressure and readiness until stop(). */
  async start(): Promise<NodeStatusView> {
    this.stopped = false;
    this.facts = await this.options.gatherFacts();
    this.unsubscribe = this.options.pressure.onConditionsChange((conditions) => {
      if (this.applyPressure(conditions)) this.publish();
    });
    this.applyPressure(this.options.pressure.pressureConditions());
    await this.checkReadiness(false);
    this.scheduleReadiness();
    return this.current();
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe?.();
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Capacity and allocatable as numbers (cpu in millicores, bytes). */
  resources(): { capacity: NodeResources; allocatable: NodeResources } {
    const facts = this.facts;
    if (!facts) throw new Error("node status read before start()");
    const capacity = nodeCapacity(facts, this.options.maxPods);
    return {
      capacity,
      allocatable: nodeAllocatable(capacity, this.options.reservation, this.options.thresholds),
    };
  }

  current(): NodeStatusView {
    const facts = this.facts;
    if (!facts) throw new Error("node status read before start()");
    const { capacity, allocatable } = this.resources();
    return {
      name: (this.options.nodeName || facts.hostname).toLowerCase(),
      info: facts,
      capacity: resourceList(capacity),
      allocatable: resourceList(allocatable),
      conditions: this.book.list(),
    };
  }

  /** Gathers the host facts again (systeminformation: spawns processes, so only on demand). */
  async refreshFacts(): Promise<NodeStatusView> {
    this.facts = await this.options.gatherFacts();
    this.publish();
    return this.current();
  }

  /** Checks Ready against the runtime's status now. */
  refreshReadiness(): Promise<void> {
    return this.checkReadiness(true);
  }

  private async checkReadiness(publish: boolean): Promise<void> {
    let status: StatusResponse | Error;
    try {
      status = await this.options.runtimeStatus();
    } catch (err) {
      status = err instanceof Error ? err : new Error(String(err));
    }
    const changed = this.book.set(readyCondition(status), this.clock.now());
    if (changed) {
      const ready = this.book.list().find((c) => c.type === "Ready");
      this.options.logger.info(
        { status: ready?.status, reason: ready?.reason, message: ready?.message },
        "node readiness",
      );
      if (publish) this.publish();
    }
  }

  /** Told of every change of conditions or facts; returns the unsubscribe function. */
  onChange(listener: (status: NodeStatusView) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private applyPressure(conditions: ReadonlySet<PressureCondition>): boolean {
    const now = this.clock.now();
    let changed = false;
    for (const type of PRESSURE_TYPES)
      changed = this.book.set(pressureCondition(type, conditions.has(type)), now) || changed;
    return changed;
  }

  private scheduleReadiness(): void {
    if (this.stopped) return;
    this.timer = this.timers.setTimeout(() => {
      void this.refreshReadiness().finally(() => this.scheduleReadiness());
    }, this.options.readinessIntervalMs ?? 10_000);
  }

  private publish(): void {
    const status = this.current();
    for (const listener of this.listeners) {
      try {
        listener(status);
      } catch (err) {
        this.options.logger.warn({ err }, "node status listener failed");
      }
    }
  }
}
